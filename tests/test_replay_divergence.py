"""A replay that no longer matches its recording stops, in a real kernel (nbclient), and
replay files of both forms work; saved runs carry their steps' statuses."""
from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient
from kernels import cell_text


def shown(cell) -> str:
    return cell_text(cell, tracebacks=False)

ANSWER = "The package did its job: **everything is fine**."
NEEDS_A_MISSING_PACKAGE = {"version": 2, "replies": [
    {"text": "<execute>\nimport not_installed_pkg\nprint('imported')\n</execute>", "status": "ok"},
    ANSWER,
]}


def run_notebook(tmp_path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb




def write(tmp_path, data, name="replies.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_step_that_fails_where_the_recording_succeeded_stops_the_task(tmp_path):
    path = write(tmp_path, NEEDS_A_MISSING_PACKAGE)
    nb = run_notebook(tmp_path, "%load_ext codeact_jupyter",
                      f"%%codeact --backend replay --model {path} check the package",
                      "import codeact_jupyter; r = codeact_jupyter.last_run(); print(r.done_reason, r.answer)")
    task = shown(nb.cells[1])
    assert ("codeact: The replayed run diverged at step 1: the recording's step succeeded, here it "
            "failed with ModuleNotFoundError: No module named 'not_installed_pkg'. Install "
            "not_installed_pkg in this kernel's environment (`%pip install not_installed_pkg` in a "
            "cell) and run the task again. The replies after this step were written for the "
            "recording's output, so the replay stops here.") in task
    assert "everything is fine" not in task  # no canned answer
    assert shown(nb.cells[2]).strip() == "error None"


def test_a_list_form_replay_file_still_plays_and_checks_nothing(tmp_path):
    path = write(tmp_path, [r["text"] if isinstance(r, dict) else r for r in NEEDS_A_MISSING_PACKAGE["replies"]])
    nb = run_notebook(tmp_path, "%load_ext codeact_jupyter",
                      f"%%codeact --backend replay --model {path} check the package")
    task = shown(nb.cells[1])
    assert "ModuleNotFoundError" in task  # the step's own traceback, as before
    assert ANSWER in task and "diverged" not in task  # an old file records no statuses


def test_a_step_that_succeeds_where_the_recording_failed_goes_on_with_a_notice(tmp_path):
    path = write(tmp_path, {"version": 2, "replies": [
        {"text": "<execute>\nprint(value)\n</execute>", "status": "error"},
        {"text": "<execute>\nvalue = 1\nprint(value)\n</execute>", "status": "ok"},
        "It prints **1**."]})
    nb = run_notebook(tmp_path, "%load_ext codeact_jupyter", "value = 7",
                      f"%%codeact --backend replay --model {path} print the value")
    task = shown(nb.cells[2])
    assert ("Step 1 succeeded where the recording's step failed; the replay goes on, though its "
            "next replies were written to recover from that failure.") in task
    assert "It prints **1**." in task


def test_save_replay_writes_each_steps_status_and_the_saved_file_replays(tmp_path):
    first = write(tmp_path, ["<execute>\nundefined_name\n</execute>", "<execute>\nok_now = 2\n</execute>",
                             "", "Fixed: `ok_now` is **2**."], name="first.json")
    saved = tmp_path / "saved.json"
    report = ("import codeact_jupyter, json; r = codeact_jupyter.last_run()\n"
              "print(json.dumps([r.done_reason, r.answer, [s.status for s in r.steps]]))")
    nb = run_notebook(tmp_path, "%load_ext codeact_jupyter",
                      f"%%codeact --backend replay --model {first} fix it",
                      f"import codeact_jupyter; codeact_jupyter.last_run().save_replay({str(saved)!r})",
                      f"%%codeact --backend replay --model {saved} fix it", report)
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert data["version"] == 2 and data["task"] == "fix it"
    assert [r.get("status") for r in data["replies"]] == ["error", "ok", None, None]
    assert data["replies"][0]["text"] == "<execute>\nundefined_name\n</execute>"
    assert json.loads(shown(nb.cells[4])) == ["answered", "Fixed: `ok_now` is **2**.", ["error", "ok"]]
    assert "diverged" not in shown(nb.cells[3])


def test_a_skipped_step_is_the_users_choice_not_a_divergence(ip, tmp_path):
    from codeact_jupyter.backends.base import BackendConfig
    from codeact_jupyter.agent.task import run_task
    from codeact_jupyter.agent.settings import TaskSettings

    path = write(tmp_path, {"version": 2, "replies": [
        {"text": "<execute>\nskipped_here = 1\n</execute>", "status": "ok"}, "Done."]})
    settings = TaskSettings(backend="replay", backend_config=BackendConfig(model=str(path)))
    record = run_task(ip, "t", settings, [], confirm=lambda code: "skip")
    assert record.done_reason == "answered" and record.answer == "Done."
