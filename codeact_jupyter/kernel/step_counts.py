"""Execution counts for the steps of a task run inside a cell.

The numbering reads like cells run one after another::

    In [3]: %%codeact ...        the task cell keeps its own number
    In [4], In [5], In [6]       its steps, each with Out[n] under In[n]
    In [7]                       the user's next cell

A step takes the first number not yet in the history (``In``), so it never reuses one and
the history database never sees a clash. IPython 8 counts a cell when it ends, IPython 9
when it starts; both are handled by looking at the count, not at the version.

The kernel reports ``execution_count - 1`` in the task cell's ``execute_reply``, read right
after the cell ends, and front ends show that number on the cell. So when the task ends
the count is set back so that the reply names the task cell's own number, and moved on
past the last step as soon as the kernel's event loop gets control: after the reply has
gone, before the next request is read.
"""
from __future__ import annotations

import asyncio


class StepCounts:
    def __init__(self, shell):
        self.shell = shell
        self.task: int | None = None  # the task cell's number, when it is kept in the history
        self._pending = 0  # 1 where IPython will still count the task cell when it ends
        self._started = False

    def take(self) -> int:
        """Before a step: give it a number of its own, and return it."""
        shell = self.shell
        if not self._started:
            self._started = True
            outer = getattr(shell.displayhook, "exec_result", None)  # the running cell's
            info = getattr(outer, "info", None)
            if info is not None and info.store_history and not info.silent:
                self.task = outer.execution_count
                self._pending = int(shell.execution_count == self.task)
        shell.execution_count = max(shell.execution_count, _used(shell))
        return shell.execution_count

    def finish(self) -> None:
        """After the task: the reply names the task cell, the next cell follows the steps."""
        if not self._started:
            return
        shell = self.shell
        after = max(shell.execution_count, _used(shell))  # the user's next cell
        loop = _kernel_loop(shell)
        if self.task is None or loop is None:
            shell.execution_count = after - self._pending
            return
        shell.execution_count = self.task + 1 - self._pending

        def move_on() -> None:
            shell.execution_count = max(shell.execution_count, after)

        loop.call_soon(move_on)


def _used(shell) -> int:
    """How many numbers the history holds (In[0] is the empty entry)."""
    history = getattr(shell, "history_manager", None)
    inputs = getattr(history, "input_hist_parsed", None)
    return len(inputs if inputs is not None else shell.user_ns.get("In", ()))


def _kernel_loop(shell):
    """The event loop of the kernel running this cell, if this shell is a kernel's."""
    if getattr(shell, "kernel", None) is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
