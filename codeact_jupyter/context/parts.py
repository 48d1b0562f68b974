"""The notebook as the model first sees it: earlier cells with their latest results or
errors (context_cells.py), oldest first from a window that moves only on overflow
(context_window.py), and the live variables, under a token budget.

Built once per task (the transcript of a task is append-only), as a list of ContextPart (a
cell's source, its output or error, one variable, a note), each redacted and counted as it
is sent; ``render_context`` joins them into the text of the first message, and
``%codeact context`` and the panel's manifest show them one by one. The cells come from the
kernel's history, or from the browser's notebook document when the side panel sends one.
A cell whose first line is ``# codeact: private`` (or, in a document, tagged
``codeact-private``) is never sent.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from .cells import CellRecord, render_cell
from .source import NotebookSource
from .window import CellWindow

CONTEXT_CHOICES = ("all", "cells", "vars", "none")  # what --context may share
# Said after the cells when they come from the kernel's history (no extension sent the notebook).
HISTORY_NOTE = ("(These cells come from the kernel's history: their results and errors are "
                "shown, but what they printed is not available.)")


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


def shared_for_follow_up(source: NotebookSource, include: str = "all", exclude=(),
                        secret_name=None) -> tuple[list[tuple[str, str]], list[str]]:
    """What a follow-up may tell the model about the notebook, by the same rules as a first
    message: (source, rendered) of the cells and the variable lines, leaving out what
    ``include`` does not share, unticked keys, private cells and the names they define."""
    exclude = set(exclude)
    records = source.cells()
    private = {name for cell in records if cell.private for name in cell.defines}
    cells = [(cell.source, render_cell(cell)) for cell in records
             if not cell.private and cell.key not in exclude] if include in ("all", "cells") else []
    variables = [line for name, line in source.variables(secret_name=secret_name)
                 if name not in private and f"var:{name}" not in exclude] \
        if include in ("all", "vars") else []
    return cells, variables


def names_a_follow_up_may_miss(source: NotebookSource, include: str = "all", exclude=()) -> set[str] | None:
    """The names whose absence a follow-up may report ("No longer defined"), as the set of
    names it must not call gone: every name the kernel holds, plus those the user keeps
    from the model (private cells' names, unticked variables), so that hiding a name is
    never reported as its end. None when the variables are not shared at all."""
    if include not in ("all", "vars"):
        return None
    hidden = {name for cell in source.cells() if cell.private for name in cell.defines}
    hidden |= {key[4:] for key in exclude if key.startswith("var:")}
    return source.names() | hidden


def build_context(source: NotebookSource, budget_tokens: int, count_tokens: Callable[[str], int],
                  redactor=None, include: str = "all", exclude=(),
                  window: CellWindow | None = None) -> str:
    """The notebook context as one text: ``render_context(context_parts(...))``."""
    return render_context(context_parts(source, budget_tokens, count_tokens, redactor, include,
                                        exclude, window))


def context_parts(source: NotebookSource, budget_tokens: int, count_tokens: Callable[[str], int],
                  redactor=None, include: str = "all", exclude=(),
                  window: CellWindow | None = None) -> list[ContextPart]:
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
    cells = source.cells()
    private = {name for cell in cells if cell.private for name in cell.defines}
    var_parts = variable_parts(source, budget_tokens // 3, measure, exclude, private) \
        if include in ("all", "vars") else []
    remaining = budget_tokens - sum(p.tokens for p in var_parts if p.sent)
    if include in ("all", "cells"):
        parts += cell_parts(cells, remaining, measure, exclude, window)
        if not source.from_document and any(p.sent and p.kind == "source" for p in parts):
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


def variable_parts(source: NotebookSource, budget_tokens: int, measure, exclude: set,
                   private=frozenset()) -> list[ContextPart]:
    """A heading and one part per live variable; past ``budget_tokens`` the middle ones are
    left out (the first and the last defined are kept). Names a private cell defines are
    left out altogether; unticked ones are listed, not sent."""
    secret = measure.redactor.withholds if measure.redactor is not None else None
    lines = [(name, line) for name, line in source.variables(secret_name=secret)
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


