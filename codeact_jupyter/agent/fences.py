"""Markdown code fences in a model's reply, paired in order.

Pairing matters: searching for "a fence" anywhere takes the closing ``` of a ```bash block
for the opening of a new one, and the prose after it ("That is all.") then runs as Python.
Here each opening fence is closed by the next fence line of at least as many backticks,
as CommonMark does; an unclosed fence runs to the end of the reply (a cut-off reply).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Languages whose blocks are Python to run. A fence without a language is taken as code too:
# models that do not know the tags often write bare fences for the code they mean to run.
PYTHON_LANGUAGES = {"", "python", "python3", "py", "py3", "ipython", "ipython3", "jupyter"}

# An opening fence: at the start of a line, or after text on the line ("Here: ```python"),
# with an optional info string and nothing after it but spaces (so ```inline``` is not one).
_OPEN = re.compile(r"(?P<ticks>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
_CLOSE = re.compile(r"^[ \t]*(?P<ticks>`{3,}|~{3,})[ \t]*$")


@dataclass(frozen=True)
class Fence:
    language: str  # lower case, "" when none was given
    body: str
    start: int  # offset of the opening backticks in the text
    end: int  # offset just after the closing fence line (or the end of the text)
    closed: bool


def is_python(language: str) -> bool:
    return language in PYTHON_LANGUAGES


def find_fences(text: str) -> list[Fence]:
    fences: list[Fence] = []
    offset = 0
    opening = None  # (match, line_start, body_start)
    for line in text.splitlines(keepends=True):
        content = line.rstrip("\r\n")
        if opening is None:
            match = _OPEN.search(content)
            if match and _opens_here(content, match):
                opening = (match, offset + match.start(), offset + len(line))
        else:
            close = _CLOSE.match(content)
            match, start, body_start = opening
            ticks = match.group("ticks")
            if close and close.group("ticks")[0] == ticks[0] and len(close.group("ticks")) >= len(ticks):
                fences.append(_fence(text, match, start, body_start, offset, offset + len(line), True))
                opening = None
        offset += len(line)
    if opening is not None:
        match, start, body_start = opening
        fences.append(_fence(text, match, start, body_start, len(text), len(text), False))
    return fences


def _opens_here(content: str, match: re.Match) -> bool:
    before = content[: match.start()]
    # A fence opened mid-line must follow a space or a colon ("Run: ```python"), never
    # another backtick (that would be the inside of a longer run).
    return not before.strip() or before[-1] in " \t:"


def _fence(text: str, match: re.Match, start: int, body_start: int, body_end: int, end: int,
           closed: bool) -> Fence:
    info = match.group("info").strip()
    language = info.split()[0].strip("{}.").lower() if info else ""
    body = text[min(body_start, body_end):body_end]
    return Fence(language=language, body=body.rstrip("\r\n") if closed else body, start=start,
                 end=end, closed=closed)
