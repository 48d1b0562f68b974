"""The notebook as the model first sees it: earlier cells with their latest results or
errors, and the live variables, under a token budget, the most recent cells kept first.

Built once per task (the transcript of a task is append-only), as a list of ContextPart (a
cell's source, its output or error, one variable, a note), each redacted and counted as it
is sent; ``render_context`` joins them into the text of the first message, and
``%codeact context`` and the panel's manifest show them one by one. The cells come from the
kernel's history, or from the browser's notebook document when the side panel sends one.
A cell whose first line is ``# codeact: private`` (or, in a document, tagged
``codeact-private``) is never sent.
"""
from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass, replace
from typing import Callable

from .jsonsafe import safe_str
from .figure_notes import cell_figures
from .observation import human_size, output_text, short_description, strip_ansi, summarize_blobs, truncate_middle
from .context_window import CellWindow
from .variables import variable_summaries

CELL_OUTPUT_CHARS = 600
FIGURE_CHARS = 300  # an earlier cell's figure: its description, short (never its image)
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = CELL_OUTPUT_CHARS
CONTEXT_CHOICES = ("all", "cells", "vars", "none")  # what --context may share
PRIVATE_TAG = "codeact-private"
# Said after the cells when they come from the kernel's history (no extension sent the notebook).
HISTORY_NOTE = ("(These cells come from the kernel's history: their results and errors are "
                "shown, but what they printed is not available.)")
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


@dataclass(frozen=True)
class ContextPart:
    """One piece of the notebook context. ``kind``: source, output, error, variable or note.
    ``key`` names it for unticking (a cell's key, ``<cell>:output``, ``var:<name>``);
    ``text`` is exactly what is sent (redacted), empty when ``sent`` is False; ``cut``
    says what was left out of it or why it is not sent; ``redacted``: values masked in it.
    Parts with the same ``block`` (one cell, the variables) render on adjacent lines."""
    kind: str
    key: str
    label: str
    text: str
    tokens: int = 0
    cut: str = ""
    redacted: int = 0
    sent: bool = True
    block: str = ""


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


def notebook_cells(shell, notebook: dict | None, errors: dict[int, str] | None = None,
                   history_end: int | None = None) -> list[tuple[str, str]]:
    """(source, rendered text) of each cell that may be sent, in notebook order
    (conversation.py compares them with what the model saw)."""
    cells = cells_from_document(notebook) if notebook else cells_from_history(shell, errors, history_end)
    return [(cell.source, render_cell(cell)) for cell in cells if not cell.private]


def shared_for_follow_up(shell, notebook: dict | None, errors: dict[int, str] | None,
                        history_end: int | None, include: str = "all", exclude=(),
                        secret_name=None) -> tuple[list[tuple[str, str]], list[str]]:
    """What a follow-up may tell the model about the notebook, by the same rules as a first
    message: (source, rendered) of the cells and the variable lines, leaving out what
    ``include`` does not share, unticked keys, private cells and the names they define."""
    exclude = set(exclude)
    records = cells_from_document(notebook) if notebook else cells_from_history(shell, errors, history_end)
    private = {name for cell in records if cell.private for name in cell.defines}
    cells = [(cell.source, render_cell(cell)) for cell in records
             if not cell.private and cell.key not in exclude] if include in ("all", "cells") else []
    variables = [line for name, line in variable_summaries(shell, secret_name=secret_name)
                 if name not in private and f"var:{name}" not in exclude] \
        if include in ("all", "vars") else []
    return cells, variables


def render_cell(cell: CellRecord) -> str:
    """A cell as the model reads it (not redacted): as ``render_context`` joins its parts."""
    if cell.label == "Markdown":
        return f"[Markdown]\n{cell.source}"
    text = f"[{cell.label}]\n{cell.source}"
    return f"{text}\n[{cell.result}]" if cell.result else text


def build_context(shell, budget_tokens: int, count_tokens: Callable[[str], int],
                  notebook: dict | None = None, errors: dict[int, str] | None = None,
                  history_end: int | None = None, redactor=None, include: str = "all",
                  exclude=(), window: CellWindow | None = None) -> str:
    """The notebook context as one text: ``render_context(context_parts(...))``."""
    return render_context(context_parts(shell, budget_tokens, count_tokens, notebook, errors,
                                        history_end, redactor, include, exclude, window))


def context_parts(shell, budget_tokens: int, count_tokens: Callable[[str], int],
                  notebook: dict | None = None, errors: dict[int, str] | None = None,
                  history_end: int | None = None, redactor=None, include: str = "all",
                  exclude=(), window: CellWindow | None = None) -> list[ContextPart]:
    """The notebook context, part by part, each redacted and counted as it will be sent.

    ``redactor``: the task's redaction.Redactor (None: nothing masked); ``include``: one of
    CONTEXT_CHOICES; ``exclude``: part keys the user unticked (a cell's key drops the whole
    cell). Parts not sent (private, unticked) are listed with ``sent=False`` and no text.
    ``window`` (context_window.py): which cells to show, kept from task to task so that
    consecutive tasks share their prompt's beginning; None keeps the most recent that fit."""
    if include not in CONTEXT_CHOICES:
        raise ValueError(f"context must be one of {', '.join(CONTEXT_CHOICES)}; got {include!r}.")
    exclude = set(exclude)
    measure = _Measure(count_tokens, redactor)
    parts: list[ContextPart] = []
    cells = cells_from_document(notebook) if notebook else cells_from_history(shell, errors, history_end)
    private = {name for cell in cells if cell.private for name in cell.defines}
    var_parts = variable_parts(shell, budget_tokens // 3, measure, exclude, private) \
        if include in ("all", "vars") else []
    remaining = budget_tokens - sum(p.tokens for p in var_parts if p.sent)
    if include in ("all", "cells"):
        parts += cell_parts(cells, remaining, measure, exclude, window)
        if not notebook and any(p.sent and p.kind == "source" for p in parts):
            parts.append(measure.part("note", "note:printed", "", HISTORY_NOTE))
    else:
        parts.append(measure.part("note", "note:cells", "", "The user chose not to share the notebook's cells."))
    if include in ("all", "vars"):
        parts += var_parts or [measure.part("note", "note:variables", "", "No user variables are defined yet.")]
    else:
        parts.append(measure.part("note", "note:variables", "", "The user chose not to share the kernel's variables."))
    return parts


def cell_parts(cells: list[CellRecord], budget_tokens: int, measure, exclude: set,
               window: CellWindow | None = None) -> list[ContextPart]:
    """The cells that fit ``budget_tokens``, oldest first, under a heading that says how
    many earlier cells were left out: from the window's first cell on (context_window.py),
    or else the most recent that fit."""
    groups: list[list[ContextPart]] = []
    for cell in cells:
        if cell.private or cell.key in exclude:
            why = "private cell" if cell.private else "unticked"
            groups.append([ContextPart("source", cell.key, cell.label, "", cut=why, sent=False)])
        else:
            groups.append(_cell_group(cell, measure, exclude))
    costs = [sum(p.tokens for p in group if p.sent) for group in groups]
    if window is not None:
        first = window.place(costs, budget_tokens)
    else:
        first, remaining = len(cells), budget_tokens
        while first > 0 and costs[first - 1] <= remaining:
            remaining -= costs[first - 1]
            first -= 1
    omitted = len([c for c in cells[:first] if not c.private and c.key not in exclude])
    shared = len([c for c in cells[first:] if not c.private and c.key not in exclude])
    if not shared and not omitted:
        text = "The notebook has no earlier cells." if not cells else "The user shares none of the notebook's cells."
        heading = measure.part("note", "note:cells", "", text)
    else:
        header = "Cells of the notebook so far, oldest first"
        cut = f"{omitted} earlier cells left out for length" if omitted else ""
        if omitted:
            header += f" ({cut})"
        heading = measure.part("note", "note:cells", "", f"{header}:", cut=cut)
    private = [group for group, cell in zip(groups[:first], cells) if cell.private or cell.key in exclude]
    return [heading] + [part for group in private + groups[first:] for part in group]


def _cell_group(cell: CellRecord, measure, exclude: set) -> list[ContextPart]:
    label = cell.label
    if label == "Markdown":
        return [measure.part("source", cell.key, label, f"[Markdown]\n{cell.source}", block=cell.key)]
    group = [measure.part("source", cell.key, label, f"[{label}]\n{cell.source}", block=cell.key)]
    if cell.result:
        key = f"{cell.key}:output"
        cut = f"{cell.cut:,} characters of output cut" if cell.cut else ""
        if key in exclude:
            group.append(ContextPart(cell.result_kind, key, f"{label} output", "", cut="unticked",
                                     sent=False, block=cell.key))
        else:
            group.append(measure.part(cell.result_kind, key, f"{label} output", f"[{cell.result}]",
                                      cut=cut, block=cell.key))
    return group


def variable_parts(shell, budget_tokens: int, measure, exclude: set, private=frozenset()) -> list[ContextPart]:
    """A heading and one part per live variable; past ``budget_tokens`` the middle ones are
    left out (the first and the last defined are kept). Names a private cell defines are
    left out altogether; unticked ones are listed, not sent."""
    secret = measure.redactor.withholds if measure.redactor is not None else None
    lines = [(name, line) for name, line in variable_summaries(shell, secret_name=secret)
             if name not in private]
    if not lines:
        return []
    parts = []
    for name, line in lines:
        if f"var:{name}" in exclude:
            parts.append(ContextPart("variable", f"var:{name}", name, "", cut="unticked", sent=False,
                                     block="variables"))
            continue
        withheld = bool(name) and secret is not None and measure.redactor.is_secret_name(name) \
            and "[redacted:" in line
        part = measure.part("variable" if name else "note", f"var:{name}" if name else "note:more-variables",
                            name or "more variables", line, block="variables")
        parts.append(replace(part, redacted=part.redacted + withheld) if withheld else part)
    parts = _fit_variables(parts, budget_tokens, measure)
    if not any(p.sent for p in parts):
        return [measure.part("note", "note:variables", "", "The user shares none of the kernel's variables.")] + parts
    heading = measure.part("note", "note:variables", "variables", "Live variables in the kernel:",
                           block="variables")
    return [heading] + parts


def _fit_variables(parts: list[ContextPart], budget_tokens: int, measure) -> list[ContextPart]:
    if sum(p.tokens for p in parts) <= budget_tokens:
        return parts
    keep = [not p.sent for p in parts]  # unticked ones stay listed
    head, tail, used = 0, len(parts) - 1, 0
    while head <= tail:  # alternately from the first and the last variable
        index = head if (head + len(parts) - 1 - tail) % 2 == 0 else tail
        if used + parts[index].tokens > budget_tokens:
            break
        keep[index], used = True, used + parts[index].tokens
        head, tail = (head + 1, tail) if index == head else (head, tail - 1)
    out, dropped = [], 0
    for part, kept in zip(parts, keep):
        if kept and not part.sent:
            out.append(part)
        elif kept:
            if dropped:
                out.append(measure.part("note", "note:variables-cut", "",
                                        f"[... {dropped} variables left out for length ...]", block="variables"))
                dropped = 0
            out.append(part)
        else:
            out.append(replace(part, text="", tokens=0, sent=False, cut="left out for length"))
            dropped += 1
    return out


def render_context(parts: list[ContextPart]) -> str:
    """The text the model reads: blocks apart by a blank line; the parts of one block (a
    cell's source and output, the variables) by a newline."""
    blocks: list[str] = []
    previous = None
    for part in parts:
        if not part.sent:
            continue
        if part.block and part.block == previous:
            blocks[-1] += "\n" + part.text
        else:
            blocks.append(part.text)
        previous = part.block
    return "\n\n".join(blocks)


class _Measure:
    """Redacts a part's text and counts its tokens, as it will be sent."""

    def __init__(self, count_tokens: Callable[[str], int], redactor=None):
        self.count, self.redactor = count_tokens, redactor

    def part(self, kind: str, key: str, label: str, text: str, cut: str = "", block: str = "") -> ContextPart:
        redacted = 0
        if self.redactor is not None:
            before = self.redactor.masks
            text = self.redactor.redact(text)
            redacted = self.redactor.masks - before
        return ContextPart(kind, key, label, text, self.count(text), cut, redacted, True, block)


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
