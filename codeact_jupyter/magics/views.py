"""The views of one ``%%codeact`` run: what the cell shows and what goes to JupyterLab.

Where the window that ran the cell has the JupyterLab extension (it announced itself,
mirror.py), each step becomes a cell of its own: the task's cell goes compact (thoughts,
step headers, the answer), the steps' live output is not shown in it (the executor still
records it, for the model and the step cells), and the events go over the comm.
Everywhere else (Notebook 7 or JupyterLab without the extension, VS Code, nbclient, a
terminal) the task's cell is complete and no comm is opened.
"""
from __future__ import annotations

from contextvars import Token
from dataclasses import dataclass, field
from typing import Callable

from ..events import Event
from .display import PlainDisplay, RichDisplay

Sink = Callable[[Event], None]


@dataclass
class TaskViews:
    sinks: list[Sink]
    mirrored: bool
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()


def task_views(shell) -> TaskViews:
    """The sinks for a task the magic runs in ``shell``; call ``close()`` when it ends."""
    if type(shell).__name__ != "ZMQInteractiveShell":
        return TaskViews(sinks=[PlainDisplay()], mirrored=False)
    from ..lab.mirror import mirror_listening

    if not mirror_listening():
        return TaskViews(sinks=[RichDisplay()], mirrored=False)
    from ..lab.bridge import LabBridge

    bridge = LabBridge(origin="magic")
    views = TaskViews(sinks=[RichDisplay(compact=True), bridge], mirrored=True)
    views._closers += [bridge.close, hide_live_output()]
    return views


def hide_live_output() -> Callable[[], None]:
    """Steps run from now on show no live output (their cells show it); returns the undo."""
    from ..kernel.executor import SHOW_LIVE_OUTPUT

    token: Token = SHOW_LIVE_OUTPUT.set(False)
    return lambda: SHOW_LIVE_OUTPUT.reset(token)
