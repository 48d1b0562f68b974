"""The run's trace: written into the saved notebook by the magic, read back, replayed with
no model; never a secret. Real kernels through nbclient, as a CI job or `codeact run` would."""
import json

import nbformat
import pytest
from nbclient import NotebookClient

from codeact_jupyter.trace.build import MIME, VERSION, run_trace
from codeact_jupyter.trace.lean import unpack_all
from codeact_jupyter.trace.stored import find_trace, traces_in
from kernels import cell_text
from test_lab_bridge import TWO_STEPS, announce, events_of, kernel, panel_request  # noqa: F401
from test_lab_bridge import run as run_in_kernel

SECRET = "sk-proj-Zx81kQ7mWq3Lr5Tn9Vb2Yc4Hd6"
REPLIES = [
    "Let me add them up.\n<execute>\ntotal = sum(prices)\nprint('total is', total, 'key', api_key)\n</execute>",
    "<execute>\ndouble = total * 2\ndouble\n</execute>",
    "The prices add up to **60**; doubled, **120**.",
]


def execute(nb, folder, timeout=120):
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def saved_and_reloaded(nb, path):
    nbformat.write(nb, path)
    return nbformat.read(path, as_version=4)


@pytest.fixture
def recorded(tmp_path, replay):
    """A notebook whose task ran with a replay file, saved; the file is deleted after."""
    replies = replay(REPLIES)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext codeact_jupyter"),
        nbformat.v4.new_code_cell(f"prices = [10, 20, 30]\napi_key = {SECRET!r}"),
        nbformat.v4.new_code_cell(f"%%codeact --backend replay --model {replies}\nadd up the prices"),
    ])
    execute(nb, tmp_path)
    nb = saved_and_reloaded(nb, tmp_path / "analysis.ipynb")
    replies.unlink()  # from now on, no model and no replay file: only the notebook
    return tmp_path / "analysis.ipynb", nb


def test_the_magic_keeps_the_trace_in_the_saved_notebook(recorded):
    path, nb = recorded
    task_cell = nb.cells[2]
    outputs = [o for o in task_cell.outputs if MIME in o.get("data", {})]
    assert len(outputs) == 1  # one trace, in the task cell, that nbformat validates
    nbformat.validate(nb)
    trace = outputs[0]["data"][MIME]
    assert trace["version"] == VERSION and trace["format"] == "codeact-jupyter trace"
    assert trace["task"] == "add up the prices"
    assert trace["backend"].startswith("replay")
    assert trace["settings"]["backend"] == "replay" and "api_key" not in trace["settings"]
    assert [m["role"] for m in trace["messages"]] == ["system", "user", "assistant", "user",
                                                      "assistant", "user", "assistant"]
    assert [(s["step"], s["code"], s["status"]) for s in trace["steps"]] == [
        (1, "total = sum(prices)\nprint('total is', total, 'key', api_key)", "ok"),
        (2, "double = total * 2\ndouble", "ok")]
    assert trace["steps"][1]["observation"] == "Observation:\n120\n[defined: double (int)]"
    assert trace["steps"][1]["changes"]["defined"][0]["name"] == "double"
    assert trace["answer"] == "The prices add up to **60**; doubled, **120**."
    assert trace["done_reason"] == "answered"
    assert set(trace["timings"]) == {"started", "finished", "seconds"}
    # What the user sees beside it says what it is and how to replay it.
    plain = outputs[0]["data"]["text/plain"]
    assert trace["run_id"] in plain and "--backend replay" in plain
    assert find_trace(nb, trace["run_id"]).cell_id == task_cell.id
    assert find_trace(nb, task_cell.id).run_id == trace["run_id"]


def test_the_trace_holds_no_secret_and_counts_what_was_withheld(recorded):
    path, nb = recorded
    [stored] = traces_in(nb)
    text = json.dumps(stored.trace)
    assert SECRET not in text and SECRET[8:20] not in text
    assert "[redacted: value of api_key]" in stored.trace["steps"][0]["observation"]
    assert stored.trace["redactions"] == {"value of api_key": 1}
    assert SECRET in cell_text(nb.cells[2])  # the user's own output still shows it


def test_a_saved_run_replays_from_the_notebook_with_no_model(recorded, tmp_path):
    path, nb = recorded
    run_id = traces_in(nb)[0].run_id
    fresh = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext codeact_jupyter"),
        nbformat.v4.new_code_cell("prices = [10, 20, 30]\napi_key = 'another key entirely'"),
        nbformat.v4.new_code_cell(f"%%codeact --backend replay --model {path.name}#{run_id}\nadd up the prices"),
        nbformat.v4.new_code_cell("print(total, double)"),
    ])
    execute(fresh, tmp_path)
    shown = cell_text(fresh.cells[2])
    assert f"replay · analysis.ipynb#{run_id} · 3 replies" in shown
    assert "The prices add up to **60**; doubled, **120**." in shown
    assert cell_text(fresh.cells[3]).strip() == "60 120"  # the steps ran in the new kernel
    replayed = traces_in(fresh)[0].trace
    original = traces_in(nb)[0].trace
    assert [s["code"] for s in replayed["steps"]] == [s["code"] for s in original["steps"]]


def test_a_replay_that_diverges_from_the_stored_run_stops(recorded, tmp_path):
    path, nb = recorded
    fresh = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext codeact_jupyter"),
        # No prices this time: step 1 fails where it succeeded when recorded.
        nbformat.v4.new_code_cell(f"%%codeact --backend replay --model {path.name}\nadd up the prices"),
    ])
    execute(fresh, tmp_path)
    shown = cell_text(fresh.cells[1], tracebacks=False)
    assert "The replayed run diverged at step 1" in shown
    assert "`prices` defined before this step" in shown
    assert "The prices add up" not in shown
    assert traces_in(fresh)[0].trace["done_reason"] == "error"


def test_a_reference_to_a_missing_run_says_which_runs_there_are(recorded, tmp_path):
    path, nb = recorded
    run_id = traces_in(nb)[0].run_id
    fresh = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext codeact_jupyter"),
        nbformat.v4.new_code_cell(f"%%codeact --backend replay --model {path.name}#nosuchrun\nagain"),
        nbformat.v4.new_code_cell("%%codeact --backend replay --model cell:abc\nagain"),
    ])
    execute(fresh, tmp_path)
    assert f"holds no trace of run or cell 'nosuchrun'; its runs are {run_id}" in cell_text(fresh.cells[1])
    # nbclient does not tell the kernel its notebook: the message says how to name it.
    assert "--model NOTEBOOK.ipynb#abc" in cell_text(fresh.cells[2])


def test_the_trace_is_stable_json_with_a_fixed_key_order(ip, replay):
    from tests.test_loop import run

    record, _ = run(ip, replay(["<execute>\nx = 1\n</execute>", "Done."]))
    first, second = run_trace(record), run_trace(record)
    assert json.dumps(first) == json.dumps(second)
    assert list(first) == ["format", "version", "run_id", "task", "backend", "settings", "messages", "thinking",
                           "steps", "answer", "answer_cut", "done_reason", "error", "timings",
                           "turns", "redactions"]
    assert list(first["steps"][0]) == ["step", "code", "status", "observation", "execution_count",
                                       "changes", "seconds"]


def test_a_mirrored_run_sends_its_trace_to_the_extension_after_its_events(kernel, replay):
    """Where the extension mirrors, the kernel sends the trace on the run's comm (the
    extension writes it into the metadata) and the task cell gets no trace output."""
    path = replay(TWO_STEPS)
    announce(kernel)
    reply, comms, _ = run_in_kernel(kernel, f"%%codeact --backend replay --model {path}\nwhat is 6*7?",
                                    metadata={"cellId": "task-cell"})
    assert reply["content"]["status"] == "ok"
    sent = [m["content"]["data"] for m in comms if m["msg_type"] == "comm_msg"]
    last = sent[-1]
    assert last["events"] == [] and last["cell_id"] == "task-cell" and last["origin"] == "magic"
    assert last["trace"]["run_id"] == last["run_id"]
    assert [s["code"] for s in last["trace"]["steps"]] == ["x = 6*7\nprint(x)", "y = x + 1\ny"]
    assert events_of(comms)[-1]["type"] == "done"  # the events still end with done
    assert not any(MIME in m["content"].get("data", {}) for m in run_in_kernel.outputs)


def test_a_panel_run_sends_its_trace_too(kernel, replay):
    path = replay(TWO_STEPS)
    settings = {"backend": "replay", "model": str(path)}
    reply, comms, _ = run_in_kernel(kernel, panel_request("what is 6*7?", settings))
    traces = [m["content"]["data"] for m in comms if "trace" in m["content"].get("data", {})]
    assert len(traces) == 1 and traces[0]["origin"] == "panel"
    assert traces[0]["trace"]["task"] == "what is 6*7?"
    # Lean (trace/lean.py): the settings come by reference, their text beside the trace.
    whole = unpack_all([traces[0]["trace"]], traces[0]["texts"])[0]
    assert whole["settings"]["model"] == str(path)


@pytest.mark.parametrize("field,value,said", [
    ("messages", 5, '"messages" must be a list of chat messages, not a number'),
    ("messages", [{"role": "user", "content": 7}], "message 1's \"content\" must be text or a list of parts"),
    ("steps", [{"code": ["print(1)"]}], "step 1's \"code\" must be text, not a list"),
])
def test_a_hand_edited_trace_is_refused_in_one_sentence_naming_the_field(ip, tmp_path, field, value, said):
    trace = run_trace_of_a_tiny_run(ip, tmp_path)
    trace[field] = value
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%%codeact go")])
    nb.cells[0].metadata["codeact_trace"] = trace
    path = tmp_path / "edited.ipynb"
    nbformat.write(nb, path)
    result = ip.run_cell(f"%codeact --backend replay --model {path}#{trace['run_id']} go")
    assert result.error_in_exec is None
    run = __import__("codeact_jupyter").last_run()
    assert run.done_reason == "error"
    assert run.error.startswith(f"The trace of run {trace['run_id']} in edited.ipynb cannot be read: {said}")
    # verify skips the damaged trace with the same reason instead of crashing
    from codeact_jupyter.verify.plan import plan
    notes = plan(json.loads(path.read_text()))
    assert any("whose trace cannot be read" in note for note in notes.notes)


def run_trace_of_a_tiny_run(ip, tmp_path) -> dict:
    replies = tmp_path / "tiny.json"
    replies.write_text(json.dumps(["<execute>\ntiny = 1\n</execute>", "Done."]))
    ip.run_cell(f"%codeact --backend replay --model {replies} make tiny")
    return json.loads(json.dumps(run_trace(__import__("codeact_jupyter").last_run())))
