"""A step that calls %%codeact is refused: the model reads why, the outer task and its
record (last_run()) stay whole."""
import pytest

import codeact_jupyter
from codeact_jupyter.agent.task import task_running


@pytest.mark.parametrize("step", [
    "%codeact --backend replay --model {inner} do more",
    "%%codeact --backend replay --model {inner}\ndo more",
    "get_ipython().run_line_magic('codeact', '--backend replay --model {inner} do more')",
])
def test_a_step_that_starts_a_task_is_refused_and_the_model_is_told(ip, replay, step):
    inner = replay(["<execute>\ninner_ran = True\n</execute>", "Inner done."], name="inner.json")
    outer = replay([f"<execute>\n{step.format(inner=inner)}\n</execute>",
                    "<execute>\n1 / 0\n</execute>",
                    "I could not start a second task, and 1 / 0 fails."], name="outer.json")
    result = ip.run_cell(f"%%codeact --model {outer} outer task", store_history=True)
    assert result.error_in_exec is None
    run = codeact_jupyter.last_run()
    assert run.task == "outer task"  # not replaced by the inner task
    assert [s.status for s in run.steps] == ["error", "error"]
    assert "cannot run inside a codeact step" in run.steps[0].observation
    assert "ZeroDivisionError" in run.steps[1].observation  # the outer step's error is kept
    assert run.messages[3]["content"] == run.steps[0].observation  # what the model read
    assert run.answer == "I could not start a second task, and 1 / 0 fails."
    assert "inner_ran" not in ip.user_ns
    assert not task_running()


def test_a_task_can_run_again_after_one_was_refused_or_stopped(ip, replay):
    stopping = replay(["<execute>\nraise KeyboardInterrupt\n</execute>"])
    ip.run_cell(f"%codeact --model {stopping} stop", store_history=True)
    assert not task_running()
    ip.run_cell(f"%codeact --model {replay(['Second.'], name='b.json')} again", store_history=True)
    assert codeact_jupyter.last_run().answer == "Second."
