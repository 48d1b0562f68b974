"""The notebook's earlier cells, as the context reads them: from the kernel's history (with
each cell's latest result or error, kept by ``ErrorLog``) or from the browser's notebook
document (cells in order, Markdown, outputs). A cell whose first line is
``# codeact: private`` (or, in a document, tagged ``codeact-private``) is read as private:
nothing of it is sent, not even the names it defines."""
from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass

from ..figures.formatter import cell_figures
from ..kernel.jsonsafe import safe_str
from ..kernel.outputs_text import (human_size, output_text, short_description, strip_ansi,
                                   summarize_blobs, truncate_middle)

CELL_OUTPUT_CHARS = 600
FIGURE_CHARS = 300  # an earlier cell's figure: its description, short (never its image)
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = CELL_OUTPUT_CHARS
PRIVATE_TAG = "codeact-private"
_PRIVATE_LINE = re.compile(r"\A\s*#\s*codeact\s*:\s*private\b", re.IGNORECASE)


@dataclass(frozen=True)
class CellRecord:
    label: str  # "In [3]" or "Markdown"
    source: str
    result: str = ""  # latest result or error, already shortened
    key: str = ""  # stable id: "h3" (history entry 3), "cell:<id>" or "d5" (document cell)
    result_kind: str = "output"  # or "error"
    cut: int = 0  # characters of the result left out
    private: bool = False  # never sent: first line "# codeact: private", or tagged
    defines: tuple[str, ...] = ()  # a private cell's names, left out of the variables too


def is_private(source: str, tags=()) -> bool:
    return PRIVATE_TAG in (tags or ()) or bool(_PRIVATE_LINE.match(source or ""))


def defined_names(source: str) -> tuple[str, ...]:
    """Names a cell binds at top level (``x = ...``, ``def f``, ``import os``), best effort:
    a private cell's variables are not summarised either."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):  # magics, shell escapes: nothing known
        return ()
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names]
    return tuple(dict.fromkeys(names))


def _private(label: str, key: str, source: str) -> CellRecord:
    return CellRecord(label, "", key=key, private=True, defines=defined_names(source))


def error_log_of(shell) -> "ErrorLog | None":
    """The error log the loaded extension keeps for ``shell``; None when it is not loaded."""
    return getattr(shell, "_codeact_error_log", None)


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

    def listen(self) -> "ErrorLog":
        """Become the shell's error log (``error_log_of``); the caller registers it as a
        ``post_run_cell`` callback."""
        if self.shell is not None:
            self.shell._codeact_error_log = self
        return self

    def __call__(self, result) -> None:
        info = getattr(result, "info", None)
        stored = getattr(info, "store_history", True) and not getattr(info, "silent", False)
        error = result.error_in_exec or result.error_before_exec
        count = result.execution_count
        history = _history(self.shell)
        if count is None and error is not None and history is not None and stored:
            # IPython 9 fails to store an error whose message cannot be printed: it hands on
            # a fresh result (no execution count) holding the formatting's error. The cell is
            # still the last stored one, and its own error is where the formatting failed.
            count = len(history.input_hist_raw) - 1 if history.input_hist_raw[-1:] == [info.raw_cell] else None
            error = _unstorable_error(error)
        # IPython 9 numbers unstored cells too, with the number the next stored cell takes.
        if stored and error is not None and count is not None:
            self.errors[count] = error_line(error)
        if history is not None:
            self._end = len(history.input_hist_raw)

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


def _unstorable_error(error: BaseException) -> BaseException:
    """The cell's own error, when ``error`` was raised while IPython 9 formatted it for its
    history (``_format_exception_for_storage``); ``error`` itself otherwise."""
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "_format_exception_for_storage":
            original = tb.tb_frame.f_locals.get("exception")
            return original if isinstance(original, BaseException) else error
        tb = tb.tb_next
    return error


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
    figures = cell_figures(shell)  # the history keeps no display outputs (figure_notes.py)
    end = len(inputs) if history_end is None else min(history_end, len(inputs))
    cells = []
    for count in range(1, end):
        source = inputs[count]
        if not isinstance(source, str) or not source.strip():
            continue
        label, key = f"In [{count}]", f"h{count}"
        if is_private(source):  # nothing of it is read, not even its result
            cells.append(_private(label, key, source))
            continue
        kind = "output"
        if count in errors:
            result, kind = f"Error: {errors[count]}", "error"
        elif count in outputs:
            result = f"Out[{count}]: {_safe_repr(outputs[count])}"
        else:
            result = ""
        shown = [f"figure: {short_description(d, FIGURE_CHARS)}" for d in figures.get(count, ())]
        result = "]\n[".join(part for part in (result, *shown) if part)
        cells.append(_record(label, source.strip(), result, key, kind))
    return cells


def _record(label: str, source: str, result: str, key: str, kind: str) -> CellRecord:
    cut = len(result) - CELL_OUTPUT_CHARS // 2 * 2 if len(result) > CELL_OUTPUT_CHARS else 0
    return CellRecord(label, source, truncate_middle(result, CELL_OUTPUT_CHARS), key, kind, cut)


def cells_from_document(notebook: dict) -> list[CellRecord]:
    cells = []
    active = notebook.get("active_cell")
    for index, cell in enumerate(notebook.get("cells", [])):
        source = _joined(cell.get("source", "")).strip()
        if not source:
            continue
        count = cell.get("execution_count")
        markdown = cell.get("cell_type") == "markdown"
        label = "Markdown" if markdown else f"In [{count}]" if count else "In [ ]"
        if index == active and not markdown:
            label += " (active cell)"
        key = f"cell:{cell['id']}" if cell.get("id") else f"d{index}"  # ids survive edits
        if is_private(source, (cell.get("metadata") or {}).get("tags")):
            cells.append(_private(label, key, "" if markdown else source))
        elif markdown:
            cells.append(CellRecord("Markdown", source, key=key))
        else:
            outputs = cell.get("outputs", [])
            texts = [output_text(o, figure_chars=FIGURE_CHARS) for o in outputs]
            result = "\n".join(t.rstrip("\n") for t in texts if t)
            kind = "error" if any(o.get("output_type") == "error" for o in outputs) else "output"
            cells.append(_record(label, source, result, key, kind))
    return cells


def render_cell(cell: CellRecord) -> str:
    """A cell as the model reads it (not redacted): as ``render_context`` joins its parts."""
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
