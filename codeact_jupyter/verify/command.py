"""``%codeact verify``: does this notebook reproduce in a fresh kernel?

Runs the notebook's code cells, the agent's steps included (verify_plan.py), in a new
kernel of the same kind, in the same working folder (verify_run.py), and reports the cells
that fail or whose outputs differ from the saved ones, with the likely hidden state: names
a cell uses that no cell above defines (hidden_state.py). The live kernel and the notebook
on disk are never touched: the notebook is only read, and the fresh kernel is shut down.

    %codeact verify                       the notebook this kernel belongs to (as saved)
    %codeact verify analysis.ipynb --timeout 120 --max-time 900

The side panel's Verify button sends the browser's notebook instead (``verify_document``).
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .fresh_kernel import NOT_RUN, Outcome, run_cells
from .hidden_state import unbound_names
from .plan import Planned, plan
from .side_effects import warning

CELL_TIMEOUT = 60.0  # seconds per cell
MAX_SECONDS = 600.0  # for the whole verification
USAGE = "%codeact verify [NOTEBOOK.ipynb] [--timeout SECONDS_PER_CELL] [--max-time SECONDS]"
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


@dataclass
class Report:
    source: str
    cells: int = 0
    failures: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reproduced: int = 0
    not_run: int = 0

    @property
    def ok(self) -> bool:
        return not (self.failures or self.differences or self.hidden or self.not_run)

    def text(self) -> str:
        lines = [f"codeact verify: {self.source}: {self.cells} code cells run in a fresh kernel."]
        lines += [f"FAILS  {line}" for line in self.failures]
        lines += [f"DIFFERS  {line}" for line in self.differences]
        lines += [f"HIDDEN STATE  {line}" for line in self.hidden]
        if self.not_run:
            lines.append(f"{self.not_run} cells were not run (stopped, time limit, or the kernel died).")
        lines += [f"note: {line}" for line in self.notes]
        if self.ok:
            verdict = "Everything reproduces."
        elif self.reproduced == self.cells:
            verdict = f"All {self.cells} cells reproduce, though the names above come from no cell: check them."
        else:
            verdict = f"{self.reproduced} of {self.cells} cells reproduce."
        return "\n".join(lines + [verdict])


def verify_command(magics, rest: str):
    """``%codeact verify`` (subcommands.py): prints the report, returns nothing."""
    from IPython.core.error import UsageError

    from ..trace.stored import kernel_notebook_path

    path, cell_timeout, max_seconds = _arguments(rest, UsageError)
    if path is None:
        path = kernel_notebook_path(getattr(magics.shell, "user_ns", None))
        if path is None:
            raise UsageError(_no_notebook(magics.shell))
    try:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"Could not read the notebook {path}: {exc}") from None
    # The notebook's own folder, so its relative paths (data.csv) work as when it ran.
    report = verify_notebook(notebook, source=Path(path).name, cwd=str(Path(path).resolve().parent),
                             cell_timeout=cell_timeout, max_seconds=max_seconds)
    print(report.text())


def _no_notebook(shell) -> str:
    """Why there is no notebook to verify: never saved (the server names one that is not on
    disk yet), or a kernel no notebook server started."""
    import os

    session = (getattr(shell, "user_ns", None) or {}).get("__session__") or os.environ.get("JPY_SESSION_NAME")
    if isinstance(session, str) and session.endswith(".ipynb"):
        return (f"{Path(session).name} is not saved yet: save the notebook first (verify reads the "
                f"saved file), or name one: {USAGE}")
    return ("This kernel does not know which notebook it belongs to (only JupyterLab and Notebook "
            f"tell it); name it: {USAGE}")


def verify_document(request_json: str) -> None:
    """The side panel's Verify: ``{"notebook": <the browser's notebook JSON>, "name": str}``."""
    request = json.loads(request_json)
    report = verify_notebook(request.get("notebook") or {}, source=str(request.get("name") or "the notebook"))
    print(report.text())


def verify_notebook(notebook: dict, source: str = "the notebook", kernel_name: str | None = None,
                    cwd: str | None = None, cell_timeout: float = CELL_TIMEOUT,
                    max_seconds: float = MAX_SECONDS, progress=None) -> Report:
    """Run ``notebook``'s code cells in a fresh kernel and compare; see the module's docstring."""
    progress = progress or _print_progress
    the_plan = plan(notebook)
    kernel_name = kernel_name or ((notebook.get("metadata") or {}).get("kernelspec") or {}).get("name") or "python3"
    folder = cwd or os.getcwd()
    if the_plan.cells:
        # Same folder as the notebook, so relative paths work: files the cells write are
        # written again there. Said first, before anything runs.
        progress(f"Running {len(the_plan.cells)} cells in a fresh {kernel_name} kernel in {folder} "
                 "(files the cells write there are written again; your kernel is not touched).")
        said = warning([(p.label, p.source) for p in the_plan.cells])
        if said:
            progress(said)
    outcomes = run_cells(the_plan.cells, kernel_name, folder, cell_timeout, max_seconds,
                         progress) if the_plan.cells else []
    report = Report(source=source, cells=len(outcomes), notes=list(the_plan.notes))
    explained = _hidden_state(the_plan.cells)
    for position, outcome in enumerate(outcomes):
        _judge(outcome, report, explained.get(position, {}), cell_timeout)
    report.hidden += [line for lines in explained.values() for line in lines.values()]
    return report


def _judge(outcome: Outcome, report: Report, explained: dict[str, str], cell_timeout: float) -> None:
    """Files the outcome under failures, differences or reproduced; a failure that hidden
    state explains takes its explanation along (out of ``explained``)."""
    planned = outcome.planned
    if outcome.status == NOT_RUN:
        report.not_run += 1
        return
    now = _normalized(outcome.outputs)
    saved = _normalized(planned.saved_outputs) if planned.saved_outputs is not None else None
    saved_failed = planned.saved_status in ("error", "timeout") or any(
        kind == "error" for kind, _ in saved or [])
    if outcome.status == "timeout":
        report.failures.append(f"{planned.label}: ran past {cell_timeout:g} s and was interrupted.")
    elif outcome.status == "error" and not saved_failed:
        line = f"{planned.label}: {_error_line(outcome.outputs)}"
        missing = re.search(r"name '([^']+)' is not defined", line)
        reason = explained.pop(missing.group(1), None) if missing else None
        report.failures.append(f"{line}\n    {reason}" if reason else line)
    elif outcome.status == "ok" and saved_failed:
        report.differences.append(f"{planned.label}: succeeds now; it failed when the notebook was saved.")
    elif saved is not None and saved != now:
        report.differences.append(f"{planned.label}: {_first_difference(saved, now)}")
    else:
        report.reproduced += 1


def _hidden_state(cells: list[Planned]) -> dict[int, dict[str, str]]:
    """position -> name -> a sentence on why that cell may work only in the old kernel."""
    found: dict[int, dict[str, str]] = {}
    for unbound in unbound_names([p.source for p in cells], [(p.defined, p.deleted) for p in cells]):
        planned = cells[unbound.position]
        who = (f"step {planned.step} of run {planned.run_id} ({_cell_of(planned)})" if planned.step
               else planned.label)
        said = f"{who} uses `{unbound.name}`, which no cell above defines"
        if unbound.deleted_by is not None:
            said += f": {cells[unbound.deleted_by].label} deletes it first"
        elif unbound.later is not None:
            said += f": only {cells[unbound.later].label}, below it, defines it (run out of order?)"
        elif planned.step and planned.saved_status == "ok":
            said += (": it existed when the run ran, and is gone now (deleted, or its cell was "
                     "removed or edited after the run)")
        else:
            said += ": it existed only in the kernel the notebook last ran in"
        found.setdefault(unbound.position, {})[unbound.name] = said + "."
    return found


def _cell_of(planned: Planned) -> str:
    return planned.label.split(" (")[0]


def _normalized(outputs: list[dict] | None) -> list[tuple[str, str]]:
    """Outputs as (kind, text) with what changes between runs of the same code left out:
    execution counts, object addresses, split streams, binary payloads (only their type)."""
    from ..trace.build import MIME

    items: list[tuple[str, str]] = []
    for output in outputs or []:
        kind = output.get("output_type")
        if kind == "stream":
            text = _joined(output.get("text"))
            if items and items[-1][0] == output.get("name"):
                items[-1] = (items[-1][0], items[-1][1] + text)
            else:
                items.append((str(output.get("name")), text))
        elif kind == "error":
            items.append(("error", f"{output.get('ename')}: {output.get('evalue')}"))
        elif kind in ("execute_result", "display_data"):
            data = output.get("data") or {}
            if MIME in data or _is_annotation(output):
                continue
            text = _joined(data.get("text/plain")) if "text/plain" in data else ""
            items.append(("result", text or ", ".join(sorted(data))))
    return [(kind, _ADDRESS.sub("0x…", text).rstrip()) for kind, text in items]


def _is_annotation(output: dict) -> bool:
    """codeact's own outputs (what the model read about a figure, change lines): written by
    the agent beside the step's outputs, never by the step; a fresh kernel has none."""
    mark = (output.get("metadata") or {}).get("codeact")
    return isinstance(mark, dict) and "role" in mark


def _first_difference(saved, now) -> str:
    for old, new in zip(saved, now):
        if old != new:
            return f"output differs: saved {_short(old[1])}, now {_short(new[1])}."
    if len(saved) > len(now):
        return f"output differs: saved {_short(saved[len(now)][1])}, now nothing more."
    return f"output differs: now also {_short(now[len(saved)][1])}, not in the saved outputs."


def _error_line(outputs: list[dict]) -> str:
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if not errors:
        return "failed"
    value = str(errors[-1].get("evalue") or "").strip().splitlines()
    return f"{errors[-1].get('ename')}: {value[0] if value else ''}".rstrip(": ")


def _short(text: str, limit: int = 80) -> str:
    text = text.strip().replace("\n", "⏎")
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _arguments(rest: str, error):
    words = rest.split()
    path, cell_timeout, max_seconds = None, CELL_TIMEOUT, MAX_SECONDS
    while words:
        word = words.pop(0)
        if word in ("--timeout", "--max-time"):
            try:
                value = float(words.pop(0))
                assert value > 0
            except (IndexError, ValueError, AssertionError):
                raise error(f"{word} needs a number of seconds above 0. Usage: {USAGE}") from None
            if word == "--timeout":
                cell_timeout = value
            else:
                max_seconds = value
        elif word.startswith("-") or path is not None:
            raise error(f"Unexpected {word!r}. Usage: {USAGE}")
        else:
            path = Path(word).expanduser()
    return path, cell_timeout, max_seconds


def _print_progress(line: str) -> None:
    print(line, flush=True)
    sys.stdout.flush()
