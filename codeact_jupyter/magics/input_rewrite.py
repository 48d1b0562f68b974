"""``%%codeact`` and ``%codeact`` reach the magic exactly as typed.

IPython turns a cell into Python in stages, and two of them eat tasks:

- it refuses a cell magic whose body is empty, and the headline usage is exactly that
  (``%%codeact solve this`` alone in a cell);
- a line ending in ``?`` or ``??`` asks for help on the name before it, so the line magic
  ``%codeact how many rows are there?`` showed "Object 'there' not found."

This cleanup transformer (it runs before IPython's own rules) writes those lines as the
Python call IPython itself would produce, so no later rule sees a trailing ``?``. Help
(``%%codeact?``, ``%codeact??``) is left to IPython, and so is a cell magic with a body
(IPython passes its first line through untouched). A line magic continued with a trailing
backslash is joined as IPython joins it.
"""
from __future__ import annotations

import re
import tokenize

MAGIC = "codeact"
_CELL = re.compile(rf"^%%{MAGIC}(?=\s|$)(?P<args>.*?)\s*$", re.S)
# An optional assignment target, as IPython allows for magics: ``answer = %codeact ...``.
_LINE = re.compile(rf"^(?P<lead>[ \t]*(?:[\w.]+[ \t]*=[ \t]*)?)%{MAGIC}(?=\s|$)(?P<args>.*?)\s*$", re.S)


def codeact_input_transformer(lines: list[str]) -> list[str]:
    if not lines:
        return lines
    if lines[0].startswith("%%"):
        cell = _CELL.match(lines[0])
        if cell and not "".join(lines[1:]).strip():
            return [_call(cell.group("args"))]
        return lines  # another cell magic's body is its own business (%%writefile, ...)
    if not any(f"%{MAGIC}" in line for line in lines):
        return lines  # most cells: no need to tokenize
    starts = _logical_line_starts(lines)
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _LINE.match(lines[i]) if i in starts else None
        if match is None:
            out.append(lines[i])
            i += 1
            continue
        end = i
        while end + 1 < len(lines) and lines[end].rstrip("\r\n").endswith("\\"):
            end += 1
        args = _joined(lines[i:end + 1])[len(match.group("lead")) + len(MAGIC) + 1:]
        out.append(match.group("lead") + _call(args))
        i = end + 1
    return out


def _call(args: str) -> str:
    return f"get_ipython().run_line_magic({MAGIC!r}, {args.strip()!r})\n"


def _joined(lines: list[str]) -> str:
    """A line continued with backslashes, joined with a space as IPython joins magics."""
    parts = [line.rstrip("\r\n") for line in lines]
    joined = [p.rstrip()[:-1].rstrip() for p in parts[:-1]] + [parts[-1].rstrip()]
    return " ".join([joined[0]] + [p.strip() for p in joined[1:]])


def _logical_line_starts(lines: list[str]) -> set[int]:
    """Indices of the lines that begin a statement: not inside a multi-line string or
    brackets, not continued from the line before. Where Python's tokenizer gives up (an
    apostrophe in a task, ``?``), the lines it did not reach count as starts unless the line
    before ends with a backslash."""
    starts: set[int] = set()
    reached = -1
    new_statement = True
    try:
        for token in tokenize.generate_tokens(iter(lines).__next__):
            row = token.start[0] - 1
            reached = max(reached, token.end[0] - 1)
            if token.type in (tokenize.NEWLINE, tokenize.NL):
                new_statement = new_statement or token.type == tokenize.NEWLINE
                continue
            if token.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT):
                continue
            if new_statement:
                starts.add(row)
                new_statement = False
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    for row in range(reached + 1, len(lines)):
        if row == 0 or not lines[row - 1].rstrip("\r\n").endswith("\\"):
            starts.add(row)
    return starts
