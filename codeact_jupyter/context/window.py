"""Which earlier cells the notebook context shows: a window that moves only on overflow.

Consecutive tasks on one notebook then send the same beginning (system prompt, the same
first cells, in order) and differ only after it: a local model's KV cache keeps that shared
prefix, so a task's first turn reads only the cells added since, the variables and the task.
Keeping "the most recent cells that fit" instead would move the window, and so change the
prompt from its first cell on, at every task once the notebook is longer than the budget.

When the cells from the window's first one no longer fit the budget, the window moves past
the oldest ones until they fill three quarters of it, leaving room for the next tasks' cells
(the same headroom rule as transcript_fit.py). One window per kernel and kind of source
(the kernel's history, or the browser's document).
"""
from __future__ import annotations

from dataclasses import dataclass

HEADROOM = 3 / 4  # after a move, the window fills this much of the budget


@dataclass
class CellWindow:
    first: int = 0  # index of the first cell shown
    cells: int = 0  # how many cells there were then

    def place(self, costs: list[int], budget: int) -> int:
        """The first cell to show, given each cell's token cost; moves only on overflow.
        Fewer cells than last time (``%reset``, cells deleted): it starts again from the top."""
        first = self.first if len(costs) >= self.cells else 0
        total = sum(costs[first:])
        if total > budget:
            goal = int(budget * HEADROOM)
            while first < len(costs) and total > goal:
                total -= costs[first]
                first += 1
        self.first, self.cells = first, len(costs)
        return first


_windows: dict[str, CellWindow] = {}


def kernel_window(source: str) -> CellWindow:
    """This kernel's window over its cells from ``source`` ("history" or "document")."""
    return _windows.setdefault(source, CellWindow())


def reset_windows() -> None:
    _windows.clear()
