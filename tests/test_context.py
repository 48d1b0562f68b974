"""The notebook as the model first sees it."""
from codeact_jupyter.backends.base import approx_tokens
from codeact_jupyter.context.cells import cells_from_document
from codeact_jupyter.context.parts import build_context
from codeact_jupyter.context.source import NotebookSource
from codeact_jupyter.context.variables import describe_value, summarize_variables


def test_earlier_cells_results_and_errors_are_in_the_context(ip):
    ip.run_cell("a = 21", store_history=True)
    ip.run_cell("a * 2", store_history=True)
    ip.run_cell("undefined_name", store_history=True)
    errors = ip.magics_manager.registry["CodeActMagics"].error_log.errors
    text = build_context(NotebookSource(ip, errors=errors), 3000, approx_tokens)
    assert "a = 21" in text and "Out[" in text and ": 42]" in text
    assert "NameError: name 'undefined_name' is not defined" in text
    assert "a: int = 21" in text


def test_the_budget_keeps_the_most_recent_cells(ip):
    for i in range(200):
        ip.run_cell(f"v{i} = {i}  # " + "padding " * 20, store_history=True)
    text = build_context(NotebookSource(ip), 600, approx_tokens)
    assert "v199 = 199" in text
    assert "v0 = 0  #" not in text
    assert "earlier cells left out" in text
    assert approx_tokens(text) < 700


def test_variables_are_summarised_never_dumped(ip):
    import numpy as np
    import pandas as pd

    ip.user_ns.update({
        "df": pd.DataFrame({"price": [1.5, 2.0], "name": ["a", "b"]}),
        "arr": np.zeros((1000, 3)),
        "big": list(range(1_000_000)),
        "_private": 1,
        "np": np,
        "text": "x" * 500,
    })
    lines = "\n".join(summarize_variables(ip))
    assert "df: DataFrame, 2 rows × 2 columns: price (float64), name (" in lines
    assert "arr: ndarray, shape (1000, 3), dtype float64" in lines
    assert "big: list, 1,000,000 items" in lines
    assert "_private" not in lines and "np:" not in lines
    assert len(lines) < 1000


def test_describe_value_for_functions_and_classes():
    def f(x, y=2):
        return x

    assert describe_value(f) == "function(x, y=2)"
    assert describe_value(int) == "class builtins.int"


def test_a_document_from_the_browser_includes_markdown_and_outputs():
    doc = {"cells": [
        {"cell_type": "markdown", "source": "# Sales analysis"},
        {"cell_type": "code", "source": "x = 1\nx", "execution_count": 1,
         "outputs": [{"output_type": "execute_result", "data": {"text/plain": "1"}}]},
        {"cell_type": "code", "source": "x + 1", "execution_count": None, "outputs": []},
    ], "active_cell": 2}
    cells = cells_from_document(doc)
    assert [c.label for c in cells] == ["Markdown", "In [1]", "In [ ] (active cell)"]
    assert cells[1].result == "1"


def test_a_small_local_model_still_fits_a_long_notebook(ip, tmp_path):
    """The notebook context's budget shrinks to what a 4,096-token model can read beside the
    system prompt and a reply, instead of overflowing it on the first turn."""
    from tiny_gguf import write_tiny_gguf

    from codeact_jupyter.agent.settings import TaskSettings
    from codeact_jupyter.agent.task import run_task
    from codeact_jupyter.backends import BackendConfig
    from codeact_jupyter.backends.llama.backend import unload

    for i in range(40):
        ip.run_cell(f"value_{i} = '{'x' * 200}'", store_history=True)
    model = write_tiny_gguf(tmp_path / "tiny.gguf")  # a 4,096-token window
    config = BackendConfig(model=str(model), max_tokens=16)
    try:
        run = run_task(ip, "look", TaskSettings(backend="llama", backend_config=config,
                                                max_turns=1), [])
    finally:
        unload()
    assert run.error is None, run.error
    assert run.stats[0].prompt_tokens < 4096 - 16
    assert "earlier cells left out for length" in run.messages[1]["content"]


def test_an_error_whose_message_cannot_be_printed_is_still_recorded(ip):
    ip.run_cell("class Odd(Exception):\n    def __str__(self):\n        raise ValueError('no')\n",
                store_history=True)
    ip.run_cell("raise Odd()", store_history=True)
    # Its number is In[n]: IPython 9 hands post_run_cell a result without one for this cell.
    number = len(ip.history_manager.input_hist_raw) - 1
    assert ip.history_manager.input_hist_raw[number] == "raise Odd()"
    magics = ip.magics_manager.registry["CodeActMagics"]
    assert magics.error_log.errors[number] == "Odd: <unprintable Odd object>"
