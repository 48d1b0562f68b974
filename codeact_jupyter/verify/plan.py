"""What ``%codeact verify`` runs: the notebook's code cells in order, agent steps included.

A ``%%codeact`` cell is never run again (it would call the model). In JupyterLab its
steps are cells of their own (``metadata.codeact.step``), which run like any cell; where
they are not (nbclient, VS Code), the steps come from the run's trace (trace.py), in the
task cell's place. ``%codeact verify`` / ``undo`` / ``context`` lines are skipped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..magics.commands import COMMANDS
from ..trace.stored import shape_problem, traces_in

_TASK = re.compile(r"^\s*(?P<percent>%%?)codeact\b(?P<rest>[^\n]*)")


@dataclass
class Planned:
    label: str  # "cell 4", "cell 6 (step 1 of run 0a1b…)", for the report
    source: str
    cell_index: int  # 0-based, in the notebook
    saved_outputs: list[dict] | None  # None: nothing to compare (a step from a trace)
    saved_status: str | None = None  # "ok" / "error" where known
    run_id: str | None = None
    step: int | None = None
    # Names the step defined and deleted when it ran (its recorded namespace changes).
    defined: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)


@dataclass
class Plan:
    cells: list[Planned] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was skipped, and why


def plan(notebook: dict) -> Plan:
    result = Plan()
    traces, damaged = [], {}
    for found in traces_in(notebook):
        problem = shape_problem(found.trace)
        if problem is None:
            traces.append(found)
        elif found.cell_id:
            damaged[found.cell_id] = problem
    stored = {t.cell_id: t.trace for t in traces if t.cell_id}
    changes = {(t.run_id, s.get("step")): s.get("changes") for t in traces
               for s in t.trace.get("steps") or [] if isinstance(s, dict)}
    mirrored = {str((c.get("metadata") or {}).get("codeact", {}).get("run_id"))
                for c in notebook.get("cells") or [] if _mark(c).get("step") is not None}
    for index, cell in enumerate(notebook.get("cells") or []):
        if cell.get("cell_type") != "code":
            continue
        source = _text(cell.get("source"))
        number = index + 1
        mark = _mark(cell)
        task = _TASK.match(source)
        if task and task.group("percent") == "%" and _is_command(task.group("rest")):
            result.notes.append(f"cell {number} is a %codeact command: skipped.")
        elif task:
            trace = stored.get(cell.get("id"))
            if cell.get("id") in damaged and trace is None:
                result.notes.append(f"cell {number} runs a codeact task whose trace cannot be read "
                                    f"({damaged[cell.get('id')]}): skipped.")
            elif trace is None:
                result.notes.append(f"cell {number} runs a codeact task and keeps no trace: skipped "
                                    "(running it again would call the model).")
            elif trace.get("run_id") not in mirrored:
                _add_traced_steps(result, trace, index)
        elif mark.get("step") is not None:
            result.cells.append(_with_changes(Planned(
                f"cell {number} (step {mark['step']} of run {mark.get('run_id')})", source, index,
                cell.get("outputs") or [], mark.get("status"), mark.get("run_id"), mark["step"]),
                changes.get((mark.get("run_id"), mark["step"]))))
        elif source.strip():
            executed = cell.get("execution_count") is not None or cell.get("outputs")
            result.cells.append(Planned(f"cell {number}", source, index,
                                        (cell.get("outputs") or []) if executed else None))
    return result


def _add_traced_steps(result: Plan, trace: dict, index: int) -> None:
    run_id = trace.get("run_id")
    for step in trace.get("steps") or []:
        label = f"cell {index + 1} (step {step.get('step')} of run {run_id})"
        if step.get("status") in ("skipped", "interrupted"):
            result.notes.append(f"{label} was {step.get('status')} in the run: not run.")
            continue
        result.cells.append(_with_changes(Planned(label, str(step.get("code") or ""), index, None,
                                                  step.get("status"), run_id, step.get("step")),
                                          step.get("changes")))


def _with_changes(planned: Planned, changes) -> Planned:
    """The names a step's recorded changes say it defined and deleted (the undo feature's
    ``Step.changes.to_dict()``: ``defined``/``changed`` entries with a ``name``, ``deleted``
    names)."""
    if isinstance(changes, dict):
        planned.defined = {str(c.get("name")) for c in changes.get("defined") or [] if isinstance(c, dict)}
        planned.deleted = {str(name) for name in changes.get("deleted") or []}
    return planned


def _is_command(rest: str) -> bool:
    first = rest.strip().split(maxsplit=1)
    return bool(first) and first[0] in COMMANDS


def _mark(cell: dict) -> dict:
    mark = (cell.get("metadata") or {}).get("codeact")
    return mark if isinstance(mark, dict) else {}


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source or "")
