"""The notebook as the model first sees it: earlier cells with their latest results or
errors, and the live variables, under a token budget, the most recent cells kept first.

Built once per task (the transcript of a task is append-only). The cells come from the
kernel's history, or from the browser's notebook document when the side panel sends one.
"""
from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass
from typing import Callable

from .jsonsafe import safe_str
from .observation import human_size, output_text, strip_ansi, summarize_blobs, truncate_middle
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
    """What the shell's own records do not say, kept per cell by a ``post_run_cell``
    callback (registered by the extension): the error of each stored cell (the shell keeps
    only results), and where the input history stood when the last cell ended.

    ``history_end`` is how the running cell is told apart on every IPython version: the
    cells stored before it are exactly the first ``history_end`` entries. (IPython 9 moves
    ``execution_count`` on before a cell runs, IPython 8 after, so comparing with the
    execution count picks the task's own cell on one of them.)"""

    def __init__(self, shell=None):
        self.errors: dict[int, str] = {}
        self.shell = shell
        self._end: int | None = None

    def __call__(self, result) -> None:
        info = getattr(result, "info", None)
        stored = getattr(info, "store_history", True) and not getattr(info, "silent", False)
        error = result.error_in_exec or result.error_before_exec
        count = result.execution_count
        # IPython 9 numbers unstored cells too, with the number the next stored cell takes.
        if stored and error is not None and count is not None:
            self.errors[count] = error_line(error)
        if _history(self.shell) is not None:
            self._end = len(_history(self.shell).input_hist_raw)

    @property
    def history_end(self) -> int | None:
        if self._end is not None or _history(self.shell) is None:
            return self._end
        # No cell has ended since the extension loaded (it was loaded by this very cell, or
        # at start-up): the running cell, if stored, is the last entry, and it calls us.
        parsed = _history(self.shell).input_hist_parsed
        calls_us = len(parsed) > 1 and re.search(r"run_(line|cell)_magic\(['\"]codeact['\"]", parsed[-1])
        return len(parsed) - 1 if calls_us else len(parsed)


def error_line(error: BaseException) -> str:
    """``Type: message``, also for an exception whose ``str()`` itself fails."""
    return f"{type(error).__name__}: {safe_str(error)}"


def _history(shell):
    """The shell's own history records, which no user variable (In, Out, _ih, _oh) can
    shadow. None for a shell that keeps no history."""
    return getattr(shell, "history_manager", None)


def cells_from_history(shell, errors: dict[int, str] | None = None,
                       history_end: int | None = None) -> list[CellRecord]:
    """The cells run before the current one, as the user wrote them, with the latest result
    (or error) of each. ``history_end``: how many history entries precede the running cell
    (``ErrorLog.history_end``); None when no cell is running (a task started from code)."""
    history = _history(shell)
    if history is None:
        return []
    inputs = list(history.input_hist_raw)
    outputs = history.output_hist
    errors = errors or {}
    end = len(inputs) if history_end is None else min(history_end, len(inputs))
    cells = []
    for count in range(1, end):
        source = inputs[count]
        if not isinstance(source, str) or not source.strip():
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


def notebook_cells(shell, notebook: dict | None, errors: dict[int, str] | None = None,
                   history_end: int | None = None) -> list[tuple[str, str]]:
    """(source, rendered text) of each cell, in notebook order (conversation.py compares
    them with what the model saw)."""
    cells = cells_from_document(notebook) if notebook else cells_from_history(shell, errors, history_end)
    return [(cell.source, _render(cell)) for cell in cells]


def build_context(shell, budget_tokens: int, count_tokens: Callable[[str], int],
                  notebook: dict | None = None, errors: dict[int, str] | None = None,
                  history_end: int | None = None, secret_name=None) -> str:
    """``secret_name``: names whose values the variable summaries leave out (redaction.py);
    the text as a whole is redacted where the message is made (loop.start_messages)."""
    cells = cells_from_document(notebook) if notebook else cells_from_history(shell, errors, history_end)
    variables = summarize_variables(shell, secret_name=secret_name)
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
    """A bounded repr; bytes and long strings are summarised by their type and size."""
    if isinstance(value, (bytes, bytearray, memoryview)) and len(value) > 64:
        return f"{type(value).__name__}, {human_size(len(value))}"
    try:  # reprlib bounds lists and strings, so a ten-million-item Out never costs much
        text = summarize_blobs(strip_ansi(_REPR.repr(value)))
        if isinstance(value, str) and len(value) > CELL_OUTPUT_CHARS:
            text = f"str, {len(value):,} chars: {text}"
        return text
    except Exception as exc:
        return f"<{type(value).__name__}: repr failed with {type(exc).__name__}>"


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)
