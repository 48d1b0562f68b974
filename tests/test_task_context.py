"""The notebook context holds the cells before the task, never the task itself, on IPython 8
(the execution count moves on after a cell) and 9 (before); and no user variable that
shadows IPython's records (Out, In, _oh, _ih, _, ...) changes or breaks it."""
import nbformat
import pytest
from nbclient import NotebookClient

import codeact_jupyter
from codeact_jupyter.backends.base import approx_tokens
from codeact_jupyter.context.cells import cells_from_history
from codeact_jupyter.context.parts import build_context
from codeact_jupyter.context.source import NotebookSource


def context_of(run) -> str:
    """The notebook part of the first user message (the task follows it)."""
    content = run.messages[1]["content"]
    return content[: content.rindex("\n\nTask: ")]


def test_the_context_holds_the_cells_before_the_task_not_the_task(ip, replay):
    path = replay(["<execute>\nprint(prices)\n</execute>", "Listed."])
    ip.run_cell("prices = [3, 4]", store_history=True)
    ip.run_cell("sum(prices)", store_history=True)
    ip.run_cell(f"%%codeact --model {path} what are the prices?", store_history=True)
    first = context_of(codeact_jupyter.last_run())
    assert "prices = [3, 4]" in first and ": 7]" in first
    assert "what are the prices" not in first

    path = replay(["Again."], name="again.json")
    ip.run_cell(f"%codeact --model {path} and now?", store_history=True)
    second = context_of(codeact_jupyter.last_run())
    # The first task's cell and its step are earlier cells now; the running task is not.
    assert "%%codeact --model" in second and "what are the prices?" in second
    assert "print(prices)" in second
    assert "and now?" not in second


def test_a_task_in_the_cell_that_loads_the_extension(ip, replay):
    path = replay(["Fine."])
    ip.run_cell("early = 1", store_history=True)
    ip.run_cell(f"%reload_ext codeact_jupyter\n%codeact --model {path} same cell?", store_history=True)
    context = context_of(codeact_jupyter.last_run())
    assert "early = 1" in context
    assert "same cell?" not in context


def test_a_task_from_an_unstored_cell_sees_every_stored_cell(ip, replay):
    path = replay(["Fine."])
    ip.run_cell("stored_before = 1", store_history=True)
    ip.run_cell(f"%codeact --model {path} unstored task", store_history=False)
    context = context_of(codeact_jupyter.last_run())
    assert "stored_before = 1" in context and "unstored task" not in context


def test_an_unstored_cells_error_is_not_pinned_on_the_next_cell(ip):
    """IPython 9 numbers an unstored cell with the number the next stored cell takes."""
    ip.run_cell("raise ValueError('from an unstored cell')", store_history=False)
    ip.run_cell("fine = 2", store_history=True)
    errors = ip.magics_manager.registry["CodeActMagics"].error_log.errors
    text = build_context(NotebookSource(ip, errors=errors), 3000, approx_tokens)
    assert "from an unstored cell" not in text
    assert "fine = 2" in text


SHADOWS = ["Out = None", "In = 'text'", "In = None", "Out = 5", "_oh = None", "_ih = 'abc'",
           "_ = None", "__ = 3", "_i = 'fake'", "_ii = None", "_dh = None", "_i1 = 'x'"]


@pytest.mark.parametrize("shadow", SHADOWS)
def test_user_names_that_shadow_ipythons_records_change_nothing(ip, replay, shadow):
    path = replay(["The total is 6."])
    ip.run_cell("numbers = [1, 2, 3]", store_history=True)
    ip.run_cell("sum(numbers)", store_history=True)
    ip.run_cell(shadow, store_history=True)
    result = ip.run_cell(f"%%codeact --model {path} what is the total?", store_history=True)
    assert result.error_in_exec is None
    run = codeact_jupyter.last_run()
    assert run.answer == "The total is 6."
    context = context_of(run)
    assert "numbers = [1, 2, 3]" in context and ": 6]" in context
    assert f"\n{shadow}" in context  # the shadowing cell is an ordinary earlier cell
    assert "[In [t]]" not in context and "[In [e]]" not in context  # no string characters


@pytest.mark.parametrize("name", ["Out", "In"])
def test_a_users_own_in_or_out_is_listed_as_a_variable(ip, replay, name):
    ip.run_cell(f"{name} = None", store_history=True)
    ip.run_cell(f"%codeact --model {replay(['ok'])} go", store_history=True)
    assert f"{name}: NoneType = None" in context_of(codeact_jupyter.last_run())


def test_the_shells_own_records_are_not_variables(ip, replay):
    ip.run_cell(f"%codeact --model {replay(['ok'])} go", store_history=True)
    context = context_of(codeact_jupyter.last_run())
    for name in ("In:", "Out:", "exit:", "quit:", "get_ipython:", "open:"):
        assert f"\n{name}" not in context


def test_cells_come_from_the_history_records_as_written(ip):
    ip.run_cell("!echo hi", store_history=True)
    ip.run_cell("In = None", store_history=True)
    sources = [cell.source for cell in cells_from_history(ip)]
    assert "!echo hi" in sources  # as the user wrote it, not get_ipython().system(...)


def test_in_a_kernel_the_task_cell_and_shadowed_names_stay_out(tmp_path, replay):
    path = replay(["Answered."])
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext codeact_jupyter"),
        nbformat.v4.new_code_cell("rows = [10, 20]"),
        nbformat.v4.new_code_cell("Out = None\nIn = 'text'\n_oh = 1"),
        nbformat.v4.new_code_cell(f"%%codeact --backend replay --model {path} how many rows are there?"),
        nbformat.v4.new_code_cell("import codeact_jupyter\n"
                                  "print(codeact_jupyter.last_run().messages[1]['content'])"),
    ])
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert not any(o.output_type == "error" for c in nb.cells for o in c.outputs)
    message = "".join(o.text for o in nb.cells[4].outputs if o.output_type == "stream")
    context, task = message.rsplit("\n\nTask: ", 1)
    assert task.strip() == "how many rows are there?"
    assert "[In [2]]\nrows = [10, 20]" in context
    assert "[In [3]]\nOut = None" in context
    assert "codeact" not in context.replace("%load_ext codeact_jupyter", "")
    assert "In [4]" not in context


def test_a_kernel_that_loads_the_extension_at_start_up(replay):
    """The first cell is the task itself: no cell has ended since the extension loaded."""
    from jupyter_client.manager import start_new_kernel

    path = replay(["Answered."])
    km, kc = start_new_kernel(kernel_name="python3", extra_arguments=["--ext=codeact_jupyter"])
    try:
        reply = kc.execute_interactive(f"%%codeact --backend replay --model {path} first task?", timeout=60)
        assert reply["content"]["status"] == "ok"
        shown = []
        kc.execute_interactive("import codeact_jupyter\n"
                               "print(codeact_jupyter.last_run().messages[1]['content'])", timeout=60,
                               output_hook=lambda msg: shown.append(msg["content"].get("text", "")))
        context, task = "".join(shown).rsplit("\n\nTask: ", 1)
        assert task.strip() == "first task?"
        assert "The notebook has no earlier cells." in context
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
