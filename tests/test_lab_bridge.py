"""The kernel side of the JupyterLab extension: what a front end receives over the
``codeact`` comm, from a real ipykernel driven through jupyter_client (no browser)."""
from __future__ import annotations

import json
import queue
import time

import pytest
from jupyter_client.manager import start_new_kernel

from codeact_jupyter.events import Answer, Done, TaskStarted, TextDelta
from codeact_jupyter.lab_bridge import LabBridge, executing_cell_id

TWO_STEPS = ["Let me compute.\n<execute>\nx = 6*7\nprint(x)\n</execute>",
             "<execute>\ny = x + 1\ny\n</execute>",
             "The answer is **42**."]


# Outside a kernel (a terminal IPython, a script, nbclient's own process): harmless.

def test_the_bridge_is_harmless_outside_a_kernel():
    bridge = LabBridge(origin="magic")
    assert bridge.cell_id is None and executing_cell_id() is None
    bridge(TaskStarted(run_id="r1", task="t", backend="replay"))
    bridge(TextDelta("hello"))
    bridge(Done(reason="answered", turns=1))
    bridge.close()
    bridge.close()
    bridge(Answer("after close"))  # ignored, no error
    assert bridge.run_id == "r1"


def test_the_origin_is_checked():
    with pytest.raises(ValueError):
        LabBridge(origin="browser")


# In a real kernel.

@pytest.fixture(scope="module")
def kernel():
    km, kc = start_new_kernel(kernel_name="python3")
    kc.execute_interactive("%load_ext codeact_jupyter", timeout=60)
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def run(kc, code, metadata=None, stdin_answers=(), timeout=60):
    """Execute like JupyterLab does; answer input requests in order. Returns the execute
    reply, the comm messages of this request, and the input prompts seen."""
    msg = kc.session.msg("execute_request", {
        "code": code, "silent": False, "store_history": False, "user_expressions": {},
        "allow_stdin": True, "stop_on_error": False})
    msg["metadata"] = metadata or {}
    kc.shell_channel.send(msg)
    msg_id = msg["header"]["msg_id"]
    answers, prompts, comms = list(stdin_answers), [], []
    deadline = time.monotonic() + timeout
    idle = False
    while not idle:
        assert time.monotonic() < deadline, "the kernel did not finish in time"
        try:
            request = kc.get_stdin_msg(timeout=0.05)
            prompts.append(request["content"]["prompt"])
            kc.input(answers.pop(0))
        except queue.Empty:
            pass
        try:
            message = kc.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            continue
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        kind = message["msg_type"]
        if kind.startswith("comm_"):
            comms.append(message)
        idle = kind == "status" and message["content"]["execution_state"] == "idle"
    reply = kc.get_shell_msg(timeout=timeout)
    assert reply["parent_header"]["msg_id"] == msg_id
    return reply, comms, prompts


def events_of(comms):
    return [m["content"]["data"]["event"] for m in comms if m["msg_type"] == "comm_msg"]


def test_each_event_goes_to_the_front_end_over_one_comm(kernel):
    code = ("from codeact_jupyter.lab_bridge import LabBridge\n"
            "from codeact_jupyter.events import TaskStarted, TextDelta, Answer, Done\n"
            "b = LabBridge(origin='magic')\n"
            "for e in [TaskStarted(run_id='run-1', task='t', backend='replay'), TextDelta('4'),\n"
            "          TextDelta('2'), Answer('42'), Done(reason='answered', turns=1)]:\n"
            "    b(e)\n"
            "b.close()")
    reply, comms, _ = run(kernel, code, metadata={"cellId": "cell-abc"})
    assert reply["content"]["status"] == "ok"
    kinds = [m["msg_type"] for m in comms]
    assert kinds == ["comm_open"] + ["comm_msg"] * 5 + ["comm_close"]
    opened = comms[0]["content"]
    assert opened["target_name"] == "codeact"
    assert opened["data"] == {"run_id": "run-1", "origin": "magic", "cell_id": "cell-abc"}
    assert {m["content"]["comm_id"] for m in comms} == {opened["comm_id"]}
    first = comms[1]["content"]["data"]
    assert first == {"run_id": "run-1", "origin": "magic", "cell_id": "cell-abc",
                     "event": {"type": "task_started", "run_id": "run-1", "task": "t",
                               "backend": "replay"}}
    assert [e["type"] for e in events_of(comms)] == [
        "task_started", "text_delta", "text_delta", "answer", "done"]


def test_a_cell_without_a_cell_id_sends_none(kernel):
    code = ("from codeact_jupyter.lab_bridge import LabBridge\n"
            "from codeact_jupyter.events import Done\n"
            "b = LabBridge(origin='panel'); b(Done(reason='answered', turns=0)); b.close()")
    _, comms, _ = run(kernel, code)
    assert comms[0]["content"]["data"]["cell_id"] is None
    assert comms[0]["content"]["data"]["origin"] == "panel"


def test_the_magic_mirrors_its_steps_without_waiting_for_a_front_end(kernel, replay):
    path = replay(TWO_STEPS)
    started = time.monotonic()
    reply, comms, _ = run(kernel, f"%%codeact --backend replay --model {path}\nwhat is 6*7?",
                          metadata={"cellId": "task-cell"})
    assert time.monotonic() - started < 30  # nobody answers the comm: no waiting on it
    assert reply["content"]["status"] == "ok"
    data = [m["content"]["data"] for m in comms if m["msg_type"] == "comm_msg"]
    assert {(d["origin"], d["cell_id"]) for d in data} == {("magic", "task-cell")}
    events = events_of(comms)
    run_id = events[0]["run_id"]
    assert {d["run_id"] for d in data} == {run_id}
    steps = [e for e in events if e["type"] == "observation"]
    assert [s["step"] for s in steps] == [1, 2]
    assert steps[0]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "42\n"}]
    assert steps[1]["outputs"][0]["output_type"] == "execute_result"
    assert steps[1]["outputs"][0]["data"]["text/plain"] == "43"
    assert isinstance(steps[0]["execution_count"], int)
    assert steps[1]["execution_count"] == steps[0]["execution_count"] + 1
    assert "".join(e["text"] for e in events if e["type"] == "text_delta").startswith("Let me compute.")
    assert events[-2:] == [{"type": "answer", "text": "The answer is **42**."},
                           {"type": "done", "reason": "answered", "turns": 3}]
    assert comms[-1]["msg_type"] == "comm_close"


def panel_request(task, settings, notebook=None):
    request = {"task": task, "settings": settings, "notebook": notebook}
    # What the panel sends: a JSON string literal, which is a Python string literal.
    return ("__import__('codeact_jupyter.panel', fromlist=['_']).run_panel_task("
            + json.dumps(json.dumps(request)) + ")")


def test_a_panel_task_runs_in_the_kernel_and_the_model_reads_the_browsers_notebook(kernel, replay):
    path = replay(TWO_STEPS)
    notebook = {"cells": [
        {"cell_type": "markdown", "source": "# Quarterly \"sales\" report\n\u00e9t\u00e9 \u2028 ok",
         "outputs": []},
        {"cell_type": "code", "source": "prices = [1, 2]", "execution_count": 3,
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "shown output\n"}]},
    ], "active_cell": 1}
    settings = {"backend": "replay", "model": str(path), "base_url": "", "max_turns": None,
                "confirm": False}
    reply, comms, _ = run(kernel, panel_request("what is 6*7?", settings, notebook),
                          metadata={"cellId": "active-cell"})
    assert reply["content"]["status"] == "ok"
    data = [m["content"]["data"] for m in comms if m["msg_type"] == "comm_msg"]
    assert {(d["origin"], d["cell_id"]) for d in data} == {("panel", "active-cell")}
    assert events_of(comms)[-1] == {"type": "done", "reason": "answered", "turns": 3}
    _, _, _ = run(kernel, "import codeact_jupyter; _m = codeact_jupyter.last_run().messages[1]['content']")
    check = kernel.execute_interactive(
        "assert 'Quarterly \"sales\" report' in _m and 'shown output' in _m and 'prices = [1, 2]' in _m, _m\n"
        "assert x == 42 and y == 43", timeout=30)
    assert check["content"]["status"] == "ok", check["content"]


def test_a_panel_task_with_a_bad_backend_reports_the_error(kernel):
    _, comms, _ = run(kernel, panel_request("anything", {"backend": "no-such-backend"}))
    events = events_of(comms)
    errors = [e for e in events if e["type"] == "error"]
    assert errors and "no-such-backend" in errors[0]["message"]
    assert events[-1]["type"] == "done" and events[-1]["reason"] == "error"


def test_an_empty_panel_task_is_refused_with_a_message(kernel):
    _, comms, _ = run(kernel, panel_request("   ", {}))
    assert [e["type"] for e in events_of(comms)] == ["error", "done"]


def test_confirm_mode_asks_with_a_codeact_confirm_input_request(kernel, replay):
    path = replay(["<execute>\nskipped_var = 1\n</execute>",
                   "<execute>\nran_var = 2\nprint(ran_var)\n</execute>",
                   "Done."])
    settings = {"backend": "replay", "model": str(path), "confirm": True}
    reply, comms, prompts = run(kernel, panel_request("two steps", settings),
                                stdin_answers=["skip", "run"])
    assert reply["content"]["status"] == "ok"
    assert len(prompts) == 2 and all(p.startswith("codeact confirm") for p in prompts)
    steps = [e for e in events_of(comms) if e["type"] == "observation"]
    assert [s["status"] for s in steps] == ["skipped", "ok"]
    assert steps[1]["outputs"][0]["text"] == "2\n"
    check = kernel.execute_interactive(
        "assert 'skipped_var' not in globals() and ran_var == 2", timeout=30)
    assert check["content"]["status"] == "ok"
