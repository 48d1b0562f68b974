"""The whole loop in a real IPython shell, driven by the replay backend."""
import codeact_jupyter
from codeact_jupyter.backends.base import BackendConfig
from codeact_jupyter.events import Answer, CodeAction, Done, Error, Observation, TaskStarted
from codeact_jupyter.agent.task import run_task
from codeact_jupyter.agent.settings import TaskSettings


def run(ip, path, task="do it", **settings):
    events = []
    settings = TaskSettings(backend="replay", backend_config=BackendConfig(model=str(path)), **settings)
    record = run_task(ip, task, settings, [events.append])
    return record, events


def test_a_task_runs_steps_in_the_kernel_and_ends_with_the_answer(ip, replay):
    path = replay([
        "First the data.\n<execute>\nprices = [3, 9, 4]\nprint(max(prices))\n</execute>",
        "<execute>\ntop = sorted(prices)[-2:]\ntop",
        "The two most expensive cost **9** and **4**.",
    ])
    record, events = run(ip, path, "find the two most expensive")
    assert [type(e).__name__ for e in events if not type(e).__name__.startswith(("Text", "Turn"))] == [
        "TaskStarted", "CodeAction", "Observation", "CodeAction", "Observation", "Answer", "Done"]
    assert ip.user_ns["top"] == [4, 9]  # what the steps defined stays for the user
    assert record.steps[0].observation == "Observation:\n9\n[defined: prices (list, 3 items)]"
    assert record.steps[1].observation == "Observation:\n[4, 9]\n[defined: top (list, 2 items)]"
    assert record.answer == "The two most expensive cost **9** and **4**."
    assert events[-1] == Done(reason="answered", turns=3)
    assert codeact_jupyter.last_run() is record


def test_the_messages_sent_are_exactly_the_transcript_and_append_only(ip, replay):
    path = replay(["<execute>\nprint('hi')\n</execute>", "<execute>\nprint('again')", "Done."])
    record, _ = run(ip, path)
    backend_history = [m["content"] for m in record.messages]
    assert [m["role"] for m in record.messages] == ["system", "user", "assistant", "user", "assistant", "user", "assistant"]
    assert record.messages[4]["content"] == "<execute>\nprint('again')\n</execute>"  # closing tag restored
    assert backend_history[3] == "Observation:\nhi"
    assert "Task: do it" in backend_history[1]


def test_solution_tags_are_the_answer(ip, replay):
    record, events = run(ip, replay(["<solution>42</solution>"]))
    assert record.answer == "42"
    assert Answer("42") in events


def test_an_error_goes_back_to_the_model_which_can_fix_it(ip, replay):
    record, _ = run(ip, replay(["<execute>\nundefined_thing\n</execute>", "<execute>\nfixed = 1\n</execute>", "ok"]))
    assert record.steps[0].status == "error"
    assert "NameError" in record.steps[0].observation
    assert record.steps[1].status == "ok"
    assert ip.user_ns["fixed"] == 1


def test_the_turn_limit_stops_the_task(ip, replay):
    record, events = run(ip, replay(["<execute>\nprint(1)\n</execute>"] * 5), max_turns=2)
    assert events[-1] == Done(reason="turn_limit", turns=2)
    assert len(record.steps) == 2


def test_running_out_of_replies_ends_with_a_clear_message(ip, replay):
    record, events = run(ip, replay(["<execute>\nprint(1)\n</execute>"]))
    error = next(e for e in events if isinstance(e, Error))
    assert "no reply left for turn 2" in error.message
    assert events[-1].reason == "out_of_replies"


def test_an_empty_reply_gets_one_nudge_then_the_task_goes_on(ip, replay):
    record, events = run(ip, replay(["", "All done."]))
    assert "reply was empty" in record.messages[3]["content"]
    assert record.answer == "All done."


def test_a_missing_or_malformed_replay_file_is_explained(ip, tmp_path):
    _, events = run(ip, tmp_path / "nope.json")
    assert isinstance(events[0], TaskStarted)
    assert "Replay file not found" in events[1].message and events[-1].reason == "error"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    _, events = run(ip, bad)
    assert "is not valid JSON" in events[1].message
    bad.write_text('{"replies": 1}')
    _, events = run(ip, bad)
    assert "must hold a JSON list of strings" in events[1].message


def test_an_unknown_backend_lists_the_available_ones(ip):
    events = []
    run_task(ip, "x", TaskSettings(backend="nope"), [events.append])
    assert "Unknown backend 'nope'. Available backends:" in events[1].message
    assert "replay" in events[1].message and "openai" in events[1].message


def test_confirm_can_skip_a_step_and_the_model_is_told(ip, replay):
    answers = iter(["skip", "run"])
    events = []
    settings = TaskSettings(backend="replay", backend_config=BackendConfig(
        model=str(replay(["<execute>\nskipped = 1\n</execute>", "<execute>\nran = 1\n</execute>", "ok"]))))
    record = run_task(ip, "t", settings, [events.append], confirm=lambda code: next(answers))
    assert "skipped" not in ip.user_ns and ip.user_ns["ran"] == 1
    assert "declined to run this step" in record.messages[3]["content"]
    assert [e.status for e in events if isinstance(e, Observation)] == ["skipped", "ok"]


def test_confirm_stop_ends_the_task_before_the_step_runs(ip, replay):
    settings = TaskSettings(backend="replay", backend_config=BackendConfig(
        model=str(replay(["<execute>\nnever = 1\n</execute>", "unused"]))))
    events = []
    record = run_task(ip, "t", settings, [events.append], confirm=lambda code: "stop")
    assert "never" not in ip.user_ns
    assert events[-1].reason == "stopped"
    assert any(isinstance(e, CodeAction) for e in events)


def test_a_full_context_is_trimmed_with_room_to_spare_and_each_message_is_counted_once(ip):
    from codeact_jupyter.backends.replay.backend import ReplayBackend
    from codeact_jupyter.kernel.executor import KernelExecutor
    from codeact_jupyter.agent.loop import CodeActLoop
    from codeact_jupyter.agent.profiles import GENERIC
    from codeact_jupyter.agent.run import Run

    class CountingReplay(ReplayBackend):  # the real replay backend, given a context window
        # One token a character: the system prompt, the task and room for about three steps.
        context_size = len(GENERIC.system_prompt()) + 2200
        counted: list[str] = []

        def count_tokens(self, text):
            self.counted.append(text)
            return len(text)

    step = "<execute>\nprint('y' * 600)\n</execute>"
    backend = CountingReplay.from_replies([step] * 8 + ["Done."])
    run = Run(run_id="r", task="t")
    settings = TaskSettings(backend="replay", backend_config=BackendConfig(max_tokens=200), max_turns=9)
    loop = CodeActLoop(backend, KernelExecutor(ip), settings, run)
    loop.start_messages("ctx")
    events = list(loop.events())
    trims = [e for e in events if type(e).__name__ == "Notice" and "context window" in e.text]
    assert run.answer == "Done."
    assert 1 <= len(trims) < 4  # with headroom, not on every turn after the first overflow
    assert len(backend.counted) == len(set(backend.counted))  # never the same text twice
    assert sum(len(m["content"]) + 6 for m in backend.history[-1]) <= CountingReplay.context_size - 200


def test_tokens_per_second_is_the_decoding_speed_not_the_prompt_reading():
    from codeact_jupyter.backends.base import Usage

    # 2 s reading a long prompt (with the first token), then 10 more tokens in 1 s.
    assert Usage(generated_tokens=11, seconds=3.0, prompt_seconds=2.0).tokens_per_second == 10.0
    assert Usage(generated_tokens=10, seconds=2.0).tokens_per_second == 5.0  # no split known
    assert Usage(generated_tokens=1, seconds=1.0, prompt_seconds=1.0).tokens_per_second is None
