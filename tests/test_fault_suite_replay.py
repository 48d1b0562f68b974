"""Fault suite for replay files: each row is a broken file (or a replayed step that goes
another way than its recording) and the exact message the user sees.

Run through the real runner in a real IPython shell; ``{file}`` stands for the file's path,
``{cwd}`` for the kernel's working folder.
"""
from __future__ import annotations

import json
import os

import pytest

from codeact_jupyter.backends.base import BackendConfig
from codeact_jupyter.events import Answer, Done, Error, Notice
from codeact_jupyter.agent.task import run_task
from codeact_jupyter.agent.settings import TaskSettings

EXAMPLE = '["<execute>\\nprint(1)\\n</execute>", "Done."]'
SHAPE = ("Replay file {file} must hold a JSON list of strings, one assistant reply per turn, "
         f"e.g. {EXAMPLE}, or an object " '{"version": 2, "replies": [...]}; it holds ')
NO_REPLIES = ("Replay file {file} holds no replies. Add at least one assistant reply, or record "
              "a run with codeact_jupyter.last_run().save_replay(path).")
MISSING = ("Replay file not found: {file}. Pass the path of a JSON file holding a list of reply "
           "strings with --model, or a bundled demo name (quickstart).")

# (case, what the file holds: text, bytes, None for no file, "<folder>" for a folder; message)
FILES = [
    ("missing file", None, MISSING),
    ("a folder", "<folder>", "Replay file {file} is a folder. Pass the path of a JSON file of replies with --model."),
    ("bad JSON", "{not json",
     "Replay file {file} is not valid JSON (Expecting property name enclosed in double quotes: "
     f"line 1 column 2 (char 1)). It must hold a list of strings, one assistant reply per turn, e.g. {EXAMPLE}."),
    ("not UTF-8", b"\xff\xfe[",
     "Replay file {file} is not UTF-8 text ('utf-8' codec can't decode byte 0xff in position 0: "
     "invalid start byte); save it as UTF-8 JSON."),
    ("a number", "42", SHAPE + "a number."),
    ("null", "null", SHAPE + "null."),
    ("an object without a version", '{"replies": ["Done."]}', SHAPE + "an object."),
    ("a list holding a number", '["Done.", 3]',
     "Replay file {file}: reply 2 is a number, not a string. A version 1 replay file is a JSON "
     f"list of strings, e.g. {EXAMPLE}."),
    ("empty list", "[]", NO_REPLIES),
    ("version 2 with no replies", '{"version": 2, "replies": []}', NO_REPLIES),
    ("version from the future", '{"version": 3, "replies": ["Done."]}',
     "Replay file {file} is version 3; this codeact-jupyter reads versions 1 and 2. Upgrade "
     "codeact-jupyter (pip install -U codeact-jupyter), or record the run again with this version."),
    ("version as a string", '{"version": "2", "replies": ["Done."]}',
     'Replay file {file}: "version" must be a whole number (2 for this form), not "2".'),
    ("replies not a list", '{"version": 2, "replies": "Done."}',
     'Replay file {file}: "replies" must be a list of replies, not a string.'),
    ("replies missing", '{"version": 2}',
     'Replay file {file}: "replies" must be a list of replies, not null.'),
    ("misspelt top-level key", '{"version": 2, "replies": ["Done."], "reples": []}',
     "Replay file {file} has unknown keys 'reples' (did you mean 'replies'?); a version 2 file "
     "has backend, replies, task, version."),
    ("a reply that is a number", '{"version": 2, "replies": [5]}',
     'Replay file {file}: reply 1 is a number; a reply is a string or an object {"text": "...", "status": "ok"}.'),
    ("a reply without text", '{"version": 2, "replies": [{"status": "ok"}]}',
     'Replay file {file}: reply 1 needs "text", the reply as a string.'),
    ("misspelt reply key", '{"version": 2, "replies": [{"text": "Done.", "stauts": "ok"}]}',
     "Replay file {file}: reply 1 has unknown keys 'stauts' (did you mean 'status'?); a reply has "
     '"text" and, optionally, "status".'),
    ("status of unknown value", '{"version": 2, "replies": [{"text": "Done.", "status": "fine"}]}',
     'Replay file {file}: reply 1 has status "fine"; expected one of ok, error, timeout, skipped, '
     "interrupted, or no status."),
]


def settings(path, **kw) -> TaskSettings:
    return TaskSettings(backend="replay", backend_config=BackendConfig(model=str(path)), **kw)


@pytest.mark.parametrize("case, content, message", FILES, ids=[row[0] for row in FILES])
def test_a_broken_replay_file_ends_the_task_with_one_message(ip, tmp_path, case, content, message):
    file = tmp_path / "replies.json"
    if content == "<folder>":
        file.mkdir()
    elif isinstance(content, bytes):
        file.write_bytes(content)
    elif content is not None:
        file.write_text(content, encoding="utf-8")
    events = []
    record = run_task(ip, "t", settings(file), [events.append])
    assert [e.message for e in events if isinstance(e, Error)] == [message.replace("{file}", str(file))]
    assert events[-1] == Done(reason="error", turns=0) and record.steps == []


def test_no_replay_file_at_all_is_explained(ip):
    events = []
    run_task(ip, "t", TaskSettings(backend="replay"), [events.append])
    assert [e.message for e in events if isinstance(e, Error)] == [
        "The replay backend needs a file of replies: --backend replay --model replies.json "
        f"(a JSON list of strings, e.g. {EXAMPLE})."]


AFTER = "The replies after this step were written for the recording's output, so the replay stops here."
DIVERGED = "The replayed run diverged at step 1: the recording's step succeeded, here it "

# (case, the step's code, its recorded status, the error the user sees (None: the task goes
#  on to the answer), the notice the user sees (None: no notice))
STEPS = [
    ("missing package", "import not_installed_pkg", "ok",
     DIVERGED + "failed with ModuleNotFoundError: No module named 'not_installed_pkg'. Install "
     "not_installed_pkg in this kernel's environment (`%pip install not_installed_pkg` in a cell) "
     "and run the task again. " + AFTER, None),
    ("package with another PyPI name", "import sklearn.linear_model", "ok",
     DIVERGED + "failed with ModuleNotFoundError: No module named 'sklearn'. Install scikit-learn "
     "in this kernel's environment (`%pip install scikit-learn` in a cell) and run the task again. " + AFTER,
     None),
    ("missing data file", "open('sales-2024.csv')", "ok",
     DIVERGED + "failed with FileNotFoundError: [Errno 2] No such file or directory: "
     "'sales-2024.csv'. The recording had sales-2024.csv where it ran; this kernel runs in {cwd} "
     "and finds no such file. Create it (earlier cells of the notebook may do that) or run the "
     "notebook from the folder that holds it. " + AFTER, None),
    ("variable from an earlier cell", "print(prices)", "ok",
     DIVERGED + "failed with NameError: name 'prices' is not defined. The recording had `prices` "
     "defined before this step: run the notebook's earlier cells first. " + AFTER, None),
    ("any other error", "1 / 0", "ok",
     DIVERGED + "failed with ZeroDivisionError: division by zero. The step's traceback is in its "
     "output. " + AFTER, None),
    ("too slow", "import time\ntime.sleep(30)", "ok",
     DIVERGED + "ran past the time limit and was stopped. " + AFTER, None),
    ("failed then, succeeds now", "x = 1", "error", None,
     "Step 1 succeeded where the recording's step failed; the replay goes on, though its next "
     "replies were written to recover from that failure."),
    ("failed then, fails now", "1 / 0", "error", None, None),
    ("timed out then, fails now", "1 / 0", "timeout", None, None),
    ("no recorded status", "1 / 0", None, None, None),
    ("succeeded then and now", "x = 1", "ok", None, None),
]


@pytest.mark.parametrize("case, code, recorded, error, notice", STEPS, ids=[row[0] for row in STEPS])
def test_a_replayed_step_is_checked_against_its_recording(ip, tmp_path, case, code, recorded, error, notice):
    first = {"text": f"<execute>\n{code}\n</execute>", **({"status": recorded} if recorded else {})}
    file = tmp_path / "replies.json"
    file.write_text(json.dumps({"version": 2, "replies": [first, "The canned answer."]}), encoding="utf-8")
    events = []
    record = run_task(ip, "t", settings(file, step_timeout=1), [events.append])
    errors = [e.message for e in events if isinstance(e, Error)]
    notices = [e.text for e in events if isinstance(e, Notice)]
    answers = [e.text for e in events if isinstance(e, Answer)]
    if error:
        assert errors == [error.replace("{cwd}", os.getcwd())]
        assert answers == [] and record.done_reason == "error"  # no canned words after it
    else:
        assert errors == [] and answers == ["The canned answer."]
    assert notices == ([notice] if notice else [])
