"""``Run.save_replay`` pairs each reply with its step's status, whatever came between."""
from __future__ import annotations

import json

from codeact_jupyter.backends.base import BackendConfig
from codeact_jupyter.agent.task import run_task
from codeact_jupyter.agent.settings import TaskSettings


def run(ip, path, **kw):
    return run_task(ip, "t", TaskSettings(backend="replay", backend_config=BackendConfig(model=str(path))),
                    [], **kw)


def test_the_same_code_twice_keeps_each_steps_own_status(ip, replay, tmp_path):
    again = "<execute>\ntotal += 1\n</execute>"
    record = run(ip, replay([again, "<execute>\ntotal = 0\n</execute>", again, "", "Total is 1."]))
    saved = json.loads(record.save_replay(tmp_path / "saved.json").read_text(encoding="utf-8"))
    assert [r.get("status") for r in saved["replies"]] == ["error", "ok", "ok", None, None]
    assert ip.user_ns["total"] == 1


def test_a_step_stopped_before_it_ran_has_no_status(ip, replay, tmp_path):
    record = run(ip, replay(["<execute>\nnever = 1\n</execute>", "unused"]), confirm=lambda code: "stop")
    saved = json.loads(record.save_replay(tmp_path / "saved.json").read_text(encoding="utf-8"))
    assert saved["replies"] == [{"text": "<execute>\nnever = 1\n</execute>"}]


def test_a_skipped_step_is_saved_as_skipped_and_replays(ip, replay, tmp_path):
    answers = iter(["skip", "run"])
    record = run(ip, replay(["<execute>\nskipped = 1\n</execute>", "<execute>\nran = 1\n</execute>", "ok"]),
                 confirm=lambda code: next(answers))
    path = record.save_replay(tmp_path / "saved.json")
    assert [r.get("status") for r in json.loads(path.read_text())["replies"]] == ["skipped", "ok", None]
    again = run(ip, path)  # run without confirm this time: the skipped step runs, nothing diverges
    assert again.done_reason == "answered" and [s.status for s in again.steps] == ["ok", "ok"]


def test_replies_pair_with_their_steps_after_the_transcript_was_trimmed():
    from codeact_jupyter.agent.run import Run, Step

    # The first exchange was removed to fit the context: the steps list still holds it.
    run = Run(run_id="r", task="t", steps=[Step("a = 1", "", "ok"), Step("b", "", "error"), Step("c = 3", "", "ok")])
    run.messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "task"},
                    {"role": "assistant", "content": "<execute>\nb\n</execute>"}, {"role": "user", "content": "o"},
                    {"role": "assistant", "content": "<execute>\nc = 3\n</execute>"}, {"role": "user", "content": "o"},
                    {"role": "assistant", "content": "Done."}]
    assert run.step_statuses() == ["error", "ok", None]
