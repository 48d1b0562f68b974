"""The notebook as the model first sees it: earlier cells with their latest results or
errors, and the live variables, under a token budget, the most recent cells kept first.

Built once per task (the transcript of a task is append-only). The cells come from the
kernel's history, or from the browser's notebook document when the side panel sends one.
"""
from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Callable

from .observation import output_text, strip_ansi, truncate_middle
from .variables import summarize_variables

CELL_OUTPUT_CHARS = 600
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = CELL_OUTPUT_CHARS


@dataclass(frozen=True)
class CellRecord:
    label: str  # "In [3]" or "Markdown"
    source: str
    result: str = ""  # latest result or error, already shortened


class ErrorLog:
    """Remembers, per execution count, the error of each cell (the kernel keeps only
    results in ``Out``). Registered as a ``post_run_cell`` callback by the extension."""

    def __init__(self):
        self.errors: dict[int, str] = {}

    def __call__(self, result) -> None:
        error = result.error_in_exec or result.error_before_exec
        count = result.execution_count
        if error is not None and count is not None:
            self.errors[count] = f"{type(error).__name__}: {error}"


def cells_from_history(shell, errors: dict[int, str] | None = None) -> list[CellRecord]:
    inputs = shell.user_ns.get("In", [])
    outputs = shell.user_ns.get("Out", {})
    errors = errors or {}
    current = shell.execution_count  # the cell running now: the task itself
    cells = []
    for count, source in enumerate(inputs):
        if count == 0 or count >= current or not source.strip():
            continue
        if count in errors:
            result = f"Error: {errors[count]}"
        elif count in outputs:
            result = f"Out[{count}]: {_safe_repr(outputs[count])}"
        else:
            result = ""
        cells.append(CellRecord(f"In [{count}]", source.strip(), truncate_middle(result, CELL_OUTPUT_CHARS)))
    return cells


def cells_from_document(notebook: dict) -> list[CellRecord]:
    cells = []
    active = notebook.get("active_cell")
    for index, cell in enumerate(notebook.get("cells", [])):
        source = _joined(cell.get("source", "")).strip()
        if not source:
            continue
        if cell.get("cell_type") == "markdown":
            cells.append(CellRecord("Markdown", source))
            continue
        count = cell.get("execution_count")
        label = f"In [{count}]" if count else "In [ ]"
        if index == active:
            label += " (active cell)"
        texts = [output_text(o) for o in cell.get("outputs", [])]
        result = "\n".join(t.rstrip("\n") for t in texts if t)
        cells.append(CellRecord(label, source, truncate_middle(result, CELL_OUTPUT_CHARS)))
    return cells


def build_context(shell, budget_tokens: int, count_tokens: Callable[[str], int],
                  notebook: dict | None = None, errors: dict[int, str] | None = None) -> str:
    cells = cells_from_document(notebook) if notebook else cells_from_history(shell, errors)
    variables = summarize_variables(shell)
    var_text = "\n".join(variables)
    # Variables are compact and current: they get up to a third of the budget first.
    if count_tokens(var_text) > budget_tokens // 3:
        var_text = truncate_middle(var_text, budget_tokens // 3 * 4)
    remaining = budget_tokens - count_tokens(var_text)
    kept: list[str] = []
    for cell in reversed(cells):
        text = _render(cell)
        cost = count_tokens(text)
        if cost > remaining:
            break
        kept.append(text)
        remaining -= cost
    omitted = len(cells) - len(kept)
    parts = []
    if cells:
        header = "Cells of the notebook so far, oldest first"
        if omitted:
            header += f" ({omitted} earlier cells left out for length)"
        parts.append(f"{header}:\n\n" + "\n\n".join(reversed(kept)))
    else:
        parts.append("The notebook has no earlier cells.")
    parts.append("Live variables in the kernel:\n" + var_text if variables else "No user variables are defined yet.")
    return "\n\n".join(parts)


def _render(cell: CellRecord) -> str:
    if cell.label == "Markdown":
        return f"[Markdown]\n{cell.source}"
    text = f"[{cell.label}]\n{cell.source}"
    return f"{text}\n[{cell.result}]" if cell.result else text


def _safe_repr(value) -> str:
    try:  # reprlib bounds lists and strings, so a ten-million-item Out never costs much
        return strip_ansi(_REPR.repr(value))
    except Exception as exc:
        return f"<{type(value).__name__}: repr failed with {type(exc).__name__}>"


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)
