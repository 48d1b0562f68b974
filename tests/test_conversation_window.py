"""The notebook context's cell window: consecutive tasks send the same first cells, and it
moves (leaving headroom) only when the cells no longer fit."""
from codeact_jupyter.backends.base import approx_tokens
from codeact_jupyter.context.parts import build_context
from codeact_jupyter.context.source import NotebookSource
from codeact_jupyter.context.window import CellWindow


def document(n: int) -> dict:
    return {"cells": [{"cell_type": "code", "execution_count": i + 1, "source": f"value_{i} = {i}  # padding padding padding",
                       "outputs": []} for i in range(n)], "active_cell": None}


def test_tasks_share_the_contexts_beginning_until_it_overflows_then_it_moves_with_headroom(ip):
    window = CellWindow()
    texts = [build_context(NotebookSource(ip, document(n)), 200, approx_tokens, window=window)
             for n in range(10, 30)]
    cells_part = [t.rsplit("\n\n", 1)[0] for t in texts]  # the variables come last
    moves = [i for i in range(1, len(texts)) if not cells_part[i].startswith(cells_part[i - 1])]
    assert 1 <= len(moves) <= 3, moves  # not at every task
    for i in moves:  # after a move, a quarter of the budget is free for the next cells
        assert approx_tokens(cells_part[i]) <= 200 * 3 // 4 + 20
    assert "value_28" in texts[-1]  # the newest cell is always there


def test_without_a_window_the_most_recent_cells_that_fit_are_kept(ip):
    text = build_context(NotebookSource(ip, document(30)), 120, approx_tokens)
    assert "value_29" in text and "value_0 " not in text and "earlier cells left out" in text


def test_fewer_cells_than_before_start_the_window_again(ip):
    window = CellWindow()
    build_context(NotebookSource(ip, document(40)), 120, approx_tokens, window=window)
    assert window.first > 0
    text = build_context(NotebookSource(ip, document(3)), 120, approx_tokens, window=window)
    assert "value_0" in text and window.first == 0
