"""Runaway code, floods and interrupts end cleanly: what was done is kept."""
import signal
import threading

from codeact_jupyter.backends.base import BackendConfig
from codeact_jupyter.events import Done, Notice, Observation
from codeact_jupyter.agent.loop import STOPPED
from codeact_jupyter.agent.task import run_task
from codeact_jupyter.agent.settings import TaskSettings


def settings_for(path, **kw):
    extras = kw.pop("extras", {})
    return TaskSettings(backend="replay", backend_config=BackendConfig(model=str(path), extras=extras), **kw)


def interrupt_main_after(seconds):
    """What the Stop button does: a real SIGINT to the kernel's main thread."""
    timer = threading.Timer(seconds, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    timer.start()
    return timer


def test_a_step_that_hangs_is_interrupted_and_the_model_is_told(ip, replay):
    path = replay(["<execute>\nimport time\nprint('starting')\ntime.sleep(60)\n</execute>",
                   "It was too slow, so I stopped."])
    events = []
    record = run_task(ip, "t", settings_for(path, step_timeout=1), [events.append])
    step = record.steps[0]
    assert step.status == "timeout"
    assert step.observation.startswith("Observation:\nstarting")
    assert "stopped after 1 s" in step.observation
    assert record.answer == "It was too slow, so I stopped."  # the task went on


def test_a_step_printing_100_mb_is_cut_for_the_model_and_the_screen(ip, replay, capsys):
    path = replay(["<execute>\nfor i in range(1_000_000):\n    print('x' * 98, i)\n</execute>", "Done."])
    record = run_task(ip, "t", settings_for(path, observation_limit=2000), [lambda e: None])
    observation = record.steps[0].observation
    assert len(observation) < 2200
    assert "characters cut" in observation
    assert observation.endswith("999999\n[defined: i (int)]")  # the tail is kept, then the changes
    shown = capsys.readouterr().out
    assert len(shown) < 300_000 and "output cut after 200,000 characters" in shown
    assert record.answer == "Done."


def test_interrupt_during_a_step_stops_the_task_and_keeps_the_work(ip, replay):
    path = replay(["<execute>\nbefore = 1\n</execute>",
                   "<execute>\nimport time\ntime.sleep(60)\n</execute>", "never read"])
    events = []
    timer = interrupt_main_after(1.5)
    record = run_task(ip, "t", settings_for(path), [events.append])
    timer.join()
    assert ip.user_ns["before"] == 1
    assert [e.status for e in events if isinstance(e, Observation)] == ["ok", "interrupted"]
    assert Notice(STOPPED) in events
    assert events[-1] == Done(reason="stopped", turns=2)
    assert record.done_reason == "stopped"


def test_interrupt_during_generation_stops_cleanly(ip, replay):
    path = replay(["<execute>\ndone_first = True\n</execute>", "x" * 4000])
    events = []
    timer = interrupt_main_after(1.0)
    # 8 characters every 5 ms: the second reply takes ~2.5 s to stream.
    record = run_task(ip, "t", settings_for(path, extras={"replay_delay": 0.005}), [events.append])
    timer.join()
    assert ip.user_ns["done_first"] is True
    assert Notice(STOPPED) in events
    assert events[-1].reason == "stopped"
    assert record.answer is None


def test_the_magic_cell_itself_succeeds_after_an_interrupt(ip, replay):
    path = replay(["<execute>\nimport time\ntime.sleep(60)\n</execute>"])
    timer = interrupt_main_after(1.0)
    result = ip.run_cell(f"%%codeact --model {path} wait\n")
    timer.join()
    assert result.error_in_exec is None  # no traceback from our internals


def test_nothing_of_ours_stays_on_the_streams_after_a_step(ip, replay, capsys):
    import logging
    import sys

    before = sys.stdout, sys.stderr
    path = replay(["<execute>\nimport logging, sys\nkept = sys.stdout\n"
                   "logging.basicConfig(level=logging.INFO, force=True)\nlogging.info('in the step')\n"
                   "</execute>", "Done."])
    record = run_task(ip, "t", settings_for(path), [lambda e: None])
    assert "INFO:root:in the step" in record.steps[0].observation
    assert (sys.stdout, sys.stderr) == before
    assert logging.getLogger().handlers[0].stream is sys.stderr  # given back to logging
    # An object that kept the step's stdout writes straight through: unrecorded, unlimited.
    capsys.readouterr()
    ip.user_ns["kept"].write("k" * 300_000)
    assert capsys.readouterr().out == "k" * 300_000
    logging.getLogger().handlers.clear()


def test_a_step_that_replaces_sys_stdout_keeps_its_choice_as_a_cell_would(ip, replay):
    import sys

    real = sys.stdout
    path = replay(["<execute>\nimport io, sys\nmine = io.StringIO()\nsys.stdout = mine\nprint('to mine')\n"
                   "</execute>", "Done."])
    try:
        run_task(ip, "t", settings_for(path), [lambda e: None])
        assert sys.stdout is ip.user_ns["mine"]
        assert ip.user_ns["mine"].getvalue() == "to mine\n"
    finally:
        sys.stdout = real


def test_hooks_set_on_the_shell_by_others_or_by_a_step_are_kept(ip, replay):
    def theirs(*args, **kwargs):
        return None

    path = replay(["<execute>\nget_ipython().display_pub.publish = print\n</execute>", "Done."])
    ip.showtraceback = theirs  # another extension's patch, made before the task
    try:
        run_task(ip, "t", settings_for(path), [lambda e: None])
        assert ip.__dict__["showtraceback"] is theirs
        assert ip.display_pub.__dict__["publish"] is print  # the step's own choice
    finally:
        del ip.__dict__["showtraceback"]
        del ip.display_pub.__dict__["publish"]
