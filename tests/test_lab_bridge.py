"""The kernel side of the JupyterLab extension: what a front end receives over the
``codeact`` comm, and what the task's cell shows with and without a mirror, from a real
ipykernel driven through jupyter_client (no browser). ``announce`` does what the extension
does before it sends a ``%%codeact`` cell."""
from __future__ import annotations

import json
import queue
import time
import uuid

import pytest
from jupyter_client.manager import start_new_kernel

from codeact_jupyter.events import Answer, Done, TaskStarted, TextDelta
from codeact_jupyter.magics.display import ANSWER_POINTER
from codeact_jupyter.lab.bridge import LabBridge, executing_cell_id

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
    kc.manager = km
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def run(kc, code, metadata=None, stdin_answers=(), timeout=60):
    """Execute like JupyterLab does; answer input requests in order. Returns the execute
    reply, the comm messages of this request, and the input prompts seen (the cell's own
    outputs are in ``run.outputs``)."""
    msg = kc.session.msg("execute_request", {
        "code": code, "silent": False, "store_history": False, "user_expressions": {},
        "allow_stdin": True, "stop_on_error": False})
    msg["metadata"] = metadata or {}
    kc.shell_channel.send(msg)
    msg_id = msg["header"]["msg_id"]
    answers, prompts, comms = list(stdin_answers), [], []
    run.outputs = []
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
        elif kind in ("stream", "display_data", "update_display_data", "execute_result", "error"):
            run.outputs.append(message)
        idle = kind == "status" and message["content"]["execution_state"] == "idle"
    reply = kc.get_shell_msg(timeout=timeout)
    assert reply["parent_header"]["msg_id"] == msg_id
    return reply, comms, prompts


def events_of(comms):
    return [e for m in comms if m["msg_type"] == "comm_msg" for e in m["content"]["data"]["events"]]


def announce(kc):
    """What the extension sends before a cell that runs %%codeact: this client mirrors."""
    kc.shell_channel.send(kc.session.msg("comm_open", {
        "comm_id": uuid.uuid4().hex, "target_name": "codeact_mirror", "data": {"version": 1}}))


def shown_text(outputs):
    """All the text the task's cell shows (streams, displays, results, tracebacks)."""
    parts = []
    for m in outputs:
        c = m["content"]
        error = f"{c['ename']}: {c['evalue']}" if "ename" in c else None
        parts.append(c.get("text") or error or json.dumps(c.get("data", {}), ensure_ascii=False))
    return "\n".join(parts)


def test_each_event_goes_to_the_front_end_over_one_comm(kernel):
    code = ("from codeact_jupyter.lab.bridge import LabBridge\n"
            "from codeact_jupyter.events import TaskStarted, TextDelta, Answer, Done\n"
            "b = LabBridge(origin='magic')\n"
            "for e in [TaskStarted(run_id='run-1', task='t', backend='replay'), TextDelta('4'),\n"
            "          TextDelta('2'), Answer('42'), Done(reason='answered', turns=1)]:\n"
            "    b(e)\n"
            "b.close()")
    reply, comms, _ = run(kernel, code, metadata={"cellId": "cell-abc"})
    assert reply["content"]["status"] == "ok"
    kinds = [m["msg_type"] for m in comms]
    assert kinds[0] == "comm_open" and kinds[-1] == "comm_close"
    opened = comms[0]["content"]
    assert opened["target_name"] == "codeact"
    assert opened["data"] == {"run_id": "run-1", "origin": "magic", "cell_id": "cell-abc"}
    assert {m["content"]["comm_id"] for m in comms} == {opened["comm_id"]}
    first = comms[1]["content"]["data"]
    assert first == {"run_id": "run-1", "origin": "magic", "cell_id": "cell-abc",
                     "events": [{"type": "task_started", "run_id": "run-1", "task": "t",
                                 "backend": "replay", "conversation_id": ""}]}
    # The text's increments travel together; the answer and the end go at once.
    assert events_of(comms) == [
        {"type": "task_started", "run_id": "run-1", "task": "t", "backend": "replay",
         "conversation_id": ""},
        {"type": "text_delta", "text": "42"}, {"type": "answer", "text": "42", "cut": False},
        {"type": "done", "reason": "answered", "turns": 1}]


def test_a_cell_without_a_cell_id_sends_none(kernel):
    code = ("from codeact_jupyter.lab.bridge import LabBridge\n"
            "from codeact_jupyter.events import Done\n"
            "b = LabBridge(origin='panel'); b(Done(reason='answered', turns=0)); b.close()")
    _, comms, _ = run(kernel, code)
    assert comms[0]["content"]["data"]["cell_id"] is None
    assert comms[0]["content"]["data"]["origin"] == "panel"


def test_the_magic_mirrors_its_steps_without_waiting_for_a_front_end(kernel, replay):
    path = replay(TWO_STEPS)
    announce(kernel)
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
    assert events[-2:] == [{"type": "answer", "text": "The answer is **42**.", "cut": False},
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


def test_a_panel_tasks_errors_name_the_panels_settings_not_magic_options(kernel, tmp_path):
    """The missing-model error the magic words as `%%codeact --model PATH` reads, in the
    panel, as the Model setting; a bad turn limit names the Turn limit."""
    missing = tmp_path / "no-such-model.gguf"
    _, comms, _ = run(kernel, panel_request("anything", {"backend": "llama", "model": str(missing)}))
    message = [e for e in events_of(comms) if e["type"] == "error"][0]["message"]
    assert "Model file not found" in message and str(missing) in message
    assert "Model `/path/to/model.gguf` in the panel's Settings" in message
    assert "--model" not in message and "%%codeact" not in message
    _, comms, _ = run(kernel, panel_request("anything", {"backend": "replay", "max_turns": 0}))
    message = [e for e in events_of(comms) if e["type"] == "error"][0]["message"]
    assert message.startswith("Invalid settings: Turn limit (in the panel's Settings) must be a whole number")


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


# Compact mode: the task's cell when the window mirrors steps into cells, and when not.

STEP_WITH_TABLE = [
    "Let me look.\n<execute>\nfrom IPython.display import HTML, display\nprint('printed-once')\n"
    "display(HTML('<table><tr><td>table-once</td></tr></table>'))\n</execute>",
    "<execute>\n1/0\n</execute>",
    "The table holds **one** cell."]


@pytest.fixture
def other_client(kernel):
    """A second front end on the same kernel (another session), with no extension."""
    from jupyter_client.session import Session

    kc = kernel.manager.client(session=Session(key=kernel.manager.session.key))
    kc.start_channels()
    kc.wait_for_ready(timeout=30)
    yield kc
    kc.stop_channels()


def test_without_a_mirror_the_task_cell_is_complete_and_no_comm_opens(other_client, replay):
    path = replay(STEP_WITH_TABLE)
    reply, comms, _ = run(other_client, f"%%codeact --backend replay --model {path}\nlook")
    assert reply["content"]["status"] == "ok"
    assert comms == []
    shown = shown_text(run.outputs)
    for expected in ("printed-once", "table-once", "ZeroDivisionError", "The table holds"):
        assert expected in shown


def test_with_a_mirror_the_task_cell_is_compact_and_outputs_go_to_the_step_cells(kernel, replay):
    path = replay(STEP_WITH_TABLE)
    announce(kernel)
    reply, comms, _ = run(kernel, f"%%codeact --backend replay --model {path}\nlook")
    assert reply["content"]["status"] == "ok"
    shown = shown_text(run.outputs)
    for absent in ("printed-once", "table-once", "ZeroDivisionError", "1/0"):
        assert absent not in shown
    for present in ("Let me look.", "Step 1: its code", "Step 2 raised an error", ANSWER_POINTER):
        assert present in shown
    steps = [e for e in events_of(comms) if e["type"] == "observation"]
    assert steps[0]["outputs"][0] == {"output_type": "stream", "name": "stdout", "text": "printed-once\n"}
    assert "table-once" in steps[0]["outputs"][1]["data"]["text/html"]
    assert steps[1]["status"] == "error" and steps[1]["outputs"][-1]["ename"] == "ZeroDivisionError"
    # The steps still ran in the kernel, and cells run afterwards show their output again.
    _, _, _ = run(kernel, "print('after', HTML)")
    assert "after" in shown_text(run.outputs)


def test_another_window_on_the_same_kernel_is_not_a_mirror(kernel, other_client, replay):
    announce(kernel)
    path = replay(STEP_WITH_TABLE)
    _, comms, _ = run(other_client, f"%%codeact --backend replay --model {path}\nlook")
    assert comms == [] and "printed-once" in shown_text(run.outputs)


# Whatever the task, the model or the steps hold, the events reach the browser.

def test_events_are_encodable_with_lone_surrogates_nan_and_odd_objects(kernel, replay):
    path = replay(["Half an emoji: \ud83d.\n<execute>\nfrom IPython.display import display\n"
                   "display({'application/json': {'v': float('nan')}, 'text/plain': 'nan'}, raw=True)\n"
                   "</execute>", "Done \udc00 here."])
    announce(kernel)
    code = ("get_ipython().run_cell_magic('codeact', '--backend replay --model " + str(path) + "', "
            "'task with \\ud800 a lone surrogate')")
    reply, comms, _ = run(kernel, code)
    assert reply["content"]["status"] == "ok"
    events = events_of(comms)
    assert events[0]["type"] == "task_started" and events[0]["task"] == "task with \ufffd a lone surrogate"
    streamed = "".join(e["text"] for e in events if e["type"] == "text_delta")
    assert "Half an emoji: \ufffd." in streamed
    step = next(e for e in events if e["type"] == "observation")
    assert step["outputs"][0]["data"]["application/json"] == {"v": None}
    assert events[-2:] == [{"type": "answer", "text": "Done \ufffd here.", "cut": False},
                           {"type": "done", "reason": "answered", "turns": 2}]
    assert "Half an emoji: \ufffd." in shown_text(run.outputs)  # the answer itself is in its cell


def test_a_panel_task_with_a_lone_surrogate_reaches_the_panel(kernel, replay):
    path = replay(["No code needed."])
    code = panel_request("emoji half \ud83d", {"backend": "replay", "model": str(path)})
    _, comms, _ = run(kernel, code)
    events = events_of(comms)
    assert events[0]["task"] == "emoji half \ufffd"
    assert events[-1] == {"type": "done", "reason": "answered", "turns": 1}


# Traffic: increments, batches, a long answer sent once.

def test_a_long_answer_is_sent_once_as_a_slice_of_the_streamed_text(kernel, replay):
    answer = "Caf\u00e9 \U0001F600 " + "word " * 2000
    path = replay([answer])
    announce(kernel)
    _, comms, _ = run(kernel, f"%%codeact --backend replay --model {path}\nwrite a lot")
    events = events_of(comms)
    assert len(comms) < 10  # a few batches, not one message per chunk
    streamed = "".join(e["text"] for e in events if e["type"] == "text_delta")
    final = next(e for e in events if e["type"] == "answer")
    assert final["text"] == ""
    start, end = final["from_stream"]
    # Offsets count UTF-16 code units, as JavaScript strings do.
    units = streamed.encode("utf-16-le")
    assert units[2 * start:2 * end].decode("utf-16-le") == answer.strip()


def test_in_nbclient_the_task_cell_is_complete(replay):
    """No extension listens (nbclient, VS Code, Notebook without it): outputs stay in the
    task's cell."""
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    path = replay(STEP_WITH_TABLE)
    nb = new_notebook(cells=[new_code_cell("%load_ext codeact_jupyter"),
                             new_code_cell(f"%%codeact --backend replay --model {path}\nlook")])
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    shown = json.dumps(nbformat.from_dict(nb).cells[1].outputs)
    # Complete, and in the order it happened: each step's code, then what it printed.
    order = ["print('printed-once')", "printed-once\\n", '"text/html": "<table>', "1/0",
             "ZeroDivisionError", "The table holds"]
    places = [shown.find(text) for text in order]
    assert -1 not in places and places == sorted(places), places
