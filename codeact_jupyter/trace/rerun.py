"""Re-running a notebook reproduces its runs: the record a notebook holds of a task cell's run.

The rule (README, "Re-running a notebook"): a ``%%codeact`` cell asks the model only when
the notebook holds no record of its run, when its task was edited since that run, or when
it says ``--again``. Otherwise running it (by itself, Run All, Restart and Run All,
nbclient, papermill, ``codeact run``) reproduces the run from the record: where the run's
step cells and answer cell are in the notebook (JupyterLab, ``codeact run``), they are the
record and run as cells, and the task cell only says so; where the steps live only in the
trace (an output of the task cell: nbclient, VS Code), the task cell runs them again.

The notebook is read as plain JSON; the kernel finds it as the browser's announced document,
the file its session names (JupyterLab, Notebook, ``codeact run``), or, for nbclient and
papermill (which say neither), a notebook in the working folder with a traced cell of this
task.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .stored import StoredTrace, kernel_notebook_path, traces_in

_TASK_LINE = re.compile(r"^\s*%%?codeact\b")
MAX_SCANNED = 20_000_000  # bytes of notebook read in the working folder, at most


@dataclass(frozen=True)
class Recorded:
    """A task cell's run as the notebook holds it."""

    trace: dict
    step_cells: int  # the run's step cells still in the notebook
    answer_cell: bool  # its answer cell is still there
    where: str  # "cell metadata" or "cell output" (trace.stored)
    source: str  # the notebook it was found in, for the line the cell shows

    @property
    def run_id(self) -> str:
        return str(self.trace.get("run_id"))

    @property
    def in_cells(self) -> bool:
        """The run's cells are the record (else its steps are in the trace alone)."""
        return self.step_cells > 0 or self.answer_cell

    def line(self) -> str:
        """What the task cell says instead of asking the model."""
        if self.in_cells:
            parts = [f"{self.step_cells} step cell{'s' * (self.step_cells != 1)}"] if self.step_cells else []
            parts += ["the answer cell"] if self.answer_cell else []
            what = f"its {' and '.join(parts)} run as cells of their own"
        else:
            steps = len(self.trace.get("steps") or [])
            what = f"its {steps} recorded step{'s' * (steps != 1)} run again here"
        return (f"codeact: reproduced run {self.run_id} from the notebook's record ({what}); the model "
                "was not asked again. To ask again, edit the task or add --again.")


def recorded_run(notebook: dict, task: str, cell_id: str | None = None, source: str = "the notebook",
                 written: str | None = None) -> Recorded | None:
    """The record of the run of ``task`` kept by cell ``cell_id`` (None: by any task cell of
    that task, and where ``written`` is given, whose text is that, options included), when
    the run can be reproduced from it; None when the model must be asked: no record, the
    task edited since, or none of the run's cells left and no steps in an output to run
    again."""
    cells = notebook.get("cells") or []
    kept = [t for t in traces_in(notebook) if t.cell_id is not None or t.cell_index is not None]
    if cell_id is not None:
        kept = [t for t in kept if t.cell_id == cell_id]
    else:
        kept = [t for t in kept if _is_task_cell(cells[t.cell_index])
                and (written is None or _words(_text(cells[t.cell_index])) == _words(written))]
    kept = [t for t in kept if _same_task(t.trace, task)]
    if not kept:
        return None
    stored = kept[-1]  # a cell run twice keeps its newest trace last
    return _recorded(cells, stored, source)


def _recorded(cells: list, stored: StoredTrace, source: str) -> Recorded | None:
    run_id = stored.run_id
    marks = [_mark(c) for c in cells]
    steps = sum(1 for m in marks if m.get("run_id") == run_id and m.get("step") is not None)
    answer = any(m.get("run_id") == run_id and m.get("role") == "answer" for m in marks)
    record = Recorded(stored.trace, steps, answer, stored.where, source)
    if record.in_cells or (stored.where == "cell output" and (stored.trace.get("steps") or stored.trace.get("answer") is not None)):
        return record
    return None


def find_recorded(task: str, cell_id: str | None, document: dict | None = None,
                  user_ns: dict | None = None, headless: bool = False,
                  folder: Path | None = None, written: str | None = None) -> Recorded | None:
    """The record of this cell's run, wherever this kernel can read the notebook: the
    browser's document when it sent one (it is the notebook as the user sees it, saved or
    not), else the file the kernel's session names (VS Code's too), else, for a headless
    executor (``headless``: nbclient and papermill send execute requests that allow no
    input, and name no notebook), a notebook in ``folder`` (the working folder) holding a
    task cell of ``task`` written as ``written`` (the cell's text: another notebook of the
    folder may hold the same task with other options), the newest first."""
    if document is not None and (cell_id is None or any(c.get("id") == cell_id for c in document.get("cells") or [])):
        return recorded_run(document, task, cell_id, "the notebook")
    named = kernel_notebook_path(user_ns)
    vscode = (user_ns or {}).get("__vsc_ipynb_file__")
    if named is None and isinstance(vscode, str) and Path(vscode).is_file():
        named = Path(vscode)
    if named is not None:
        notebook = _read(named)
        return recorded_run(notebook, task, cell_id, named.name) if notebook else None
    if not headless:
        return None
    folder = folder or Path.cwd()
    try:
        candidates = sorted(folder.glob("*.ipynb"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return None
    budget = MAX_SCANNED
    for path in candidates:
        try:
            size = path.stat().st_size
        except OSError:
            continue
        if size > budget:
            continue
        budget -= size
        notebook = _read(path)
        found = recorded_run(notebook, task, cell_id, path.name, written) if notebook else None
        if found is not None:
            return found
    return None


def _same_task(trace: dict, task: str) -> bool:
    """The trace keeps the task as sent, redacted: a task holding a secret reads as edited,
    so it is asked again rather than reproduced from a record that may not be its own."""
    return str(trace.get("task") or "").strip() == task.strip()


def _is_task_cell(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and bool(_TASK_LINE.match(_text(cell)))


def _text(cell: dict) -> str:
    source = cell.get("source")
    return "".join(source) if isinstance(source, list) else str(source or "")


def _words(text: str) -> list[str]:
    """A task cell's words after ``%%codeact`` or ``%codeact`` (the two are one task)."""
    return _TASK_LINE.sub("", text, count=1).split()


def _mark(cell: dict) -> dict:
    mark = (cell.get("metadata") or {}).get("codeact")
    return mark if isinstance(mark, dict) else {}


def _read(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None
