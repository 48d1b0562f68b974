"""``%codeact undo [RUN_ID]``: put the user namespace back as it was before a run.

Names the run created are removed, names it rebound get their previous objects back,
names it deleted return. What rebinding cannot restore is said plainly: objects changed
in place (``df.drop(..., inplace=True)``), names changed again after the run (left as they
are), files the run wrote (listed, never deleted). Only the last
``CodeActMagics.undo_depth`` runs keep what undo needs (undo_records.py).

Without RUN_ID the latest run not yet undone is undone, so repeating the command walks
back. An earlier run is undone alone only when no later run (still in place) changed any
of its names; otherwise it is refused and the later runs are named: undo them first.

In JupyterLab the kernel also tells the browser (comm target ``codeact_undo``, never
waiting for it), which removes the cells it inserted for the run, keeping any the user
edited since (labextension/src/notebook/undo.ts).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .records import MISSING, RunRecord, history_of, undo_depth

COMM_TARGET = "codeact_undo"
_TASK_SHOWN = 60


@dataclass
class UndoReport:
    done: bool
    message: str = ""  # why nothing was undone
    run_id: str | None = None
    task: str = ""
    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # rebound or deleted after the run: left alone
    kept_in_place: list[str] = field(default_factory=list)  # changed in place after the run
    in_place: list[tuple[str, int]] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    def text(self) -> str:
        if not self.done:
            return self.message
        task = self.task if len(self.task) <= _TASK_SHOWN else self.task[:_TASK_SHOWN - 1] + "…"
        lines = [f"Undid run {self.run_id} ({task!r})." if task else f"Undid run {self.run_id}."]
        if self.removed:
            lines.append(f"  removed (the run created them): {', '.join(self.removed)}")
        if self.restored:
            lines.append(f"  restored to what they were before the run: {', '.join(self.restored)}")
        if not (self.removed or self.restored or self.kept or self.kept_in_place or self.in_place):
            lines.append("  The run changed no variables.")
        for name, step in self.in_place:
            lines.append(f"  could not restore: {name} was changed in place by step {step}")
        if self.kept:
            lines.append("  left as they are (changed again after the run): " + ", ".join(self.kept))
        if self.kept_in_place:
            lines.append("  left as they are (their content changed after the run): "
                         + ", ".join(self.kept_in_place))
        if self.written:
            lines.append("  files the run wrote (not deleted): " + ", ".join(self.written))
        return "\n".join(lines)


def undo_command(magics, rest_of_line: str) -> None:
    """``%codeact undo`` or ``%codeact undo RUN_ID``."""
    words = rest_of_line.split()
    if len(words) > 1 or (words and words[0].startswith("-")):
        print("Usage: %codeact undo [RUN_ID]  (without an id: the latest run not yet undone)")
        return
    print(undo_run(magics.shell, words[0] if words else None).text())


def panel_undo(run_id: str) -> None:
    """The side panel's Undo button (an execute request, like panel.run_panel_task)."""
    from IPython import get_ipython

    print(undo_run(get_ipython(), run_id).text())


def undo_run(shell, run_id: str | None = None) -> UndoReport:
    history = history_of(shell)
    record = history.find(run_id) if run_id else history.latest_not_undone()
    refusal = _refusal(shell, history, record, run_id)
    if refusal:
        return UndoReport(False, refusal, run_id=run_id)
    report = _apply(shell.user_ns, record)
    _tell_the_browser(record)
    return report


def undo_states(shell, run_ids: list[str]) -> dict[str, str | None]:
    """For each run id: None if this kernel can undo it now, else why not (the words the
    panel shows on a disabled Undo button of an earlier run, after a reload)."""
    history = history_of(shell)
    states = {}
    for run_id in run_ids:
        record = history.find(run_id)
        if record is None:
            states[run_id] = ("This kernel did not run it (it has restarted since, or it is "
                              "another kernel): its variables cannot be put back.")
        else:
            states[run_id] = _refusal(shell, history, record, run_id)
    return states


def _refusal(shell, history, record: RunRecord | None, run_id: str | None) -> str | None:
    if record is None:
        if run_id:
            return (f"No run {run_id} in this kernel: run ids are shown at the top of each task "
                    "(and in the side panel); runs from before a kernel restart cannot be undone.")
        if history.records:
            return "Nothing to undo: every codeact run in this kernel has been undone."
        return "Nothing to undo: no codeact run in this kernel has changed anything yet."
    if record.undone:
        return f"Run {record.run_id} was already undone."
    if record.originals is None:
        if undo_depth(shell) <= 0:
            return "Undo is off: CodeActMagics.undo_depth is 0, so no run keeps what undo needs."
        return (f"Run {record.run_id} is too old to undo: only the last {undo_depth(shell)} runs keep "
                "what undo needs (CodeActMagics.undo_depth).")
    blocking = [(later, sorted(later.touched & record.touched)) for later in history.later_than(record)]
    blocking = [(later, names) for later, names in blocking if names]
    if blocking:
        said = "; ".join(f"run {later.run_id} changed {', '.join(names)}" for later, names in blocking)
        first = blocking[-1][0].run_id
        return (f"Run {record.run_id} was not undone: a later run changed the same names ({said}). "
                f"Undo the later runs first (`%codeact undo {first}`), newest first.")
    return None


def _apply(ns: dict, record: RunRecord) -> UndoReport:
    report = UndoReport(True, run_id=record.run_id, task=record.task, written=list(record.written))
    for name, original in record.originals.items():
        current = ns.get(name, MISSING)
        change = record.change_after_run(name, current)
        if change == "changed in place":
            report.kept_in_place.append(name)  # when in doubt, keep: a wrong guess destroys work
        elif change is not None:
            report.kept.append(name)
        elif original is MISSING:
            if current is not MISSING:
                del ns[name]
                report.removed.append(name)
        else:
            ns[name] = original
            report.restored.append(name)
    report.in_place = sorted(record.in_place.items(), key=lambda item: item[1])
    record.undone = True
    record.release()  # the previous objects now live in the namespace again, or nowhere
    return report


def _tell_the_browser(record: RunRecord) -> None:
    """JupyterLab removes the cells it inserted for the run (those the user did not edit).
    Sent and closed at once: the kernel never waits for the browser."""
    try:
        from ipykernel.kernelbase import Kernel

        if not Kernel.initialized():
            return
        from comm import create_comm

        from ..kernel.jsonsafe import jsonable

        data = {"run_id": record.run_id, "answer": record.answer,
                "steps": [{"step": step, "code": code} for step, code in record.steps]}
        comm = create_comm(target_name=COMM_TARGET, data=jsonable(data))
        comm.close()
    except Exception:  # the namespace is undone; the cells stay, which the user can see
        import logging

        logging.getLogger(__name__).warning("codeact: could not tell JupyterLab about the undo",
                                            exc_info=True)
