"""The values of a DataFrame's credential columns (``password``, ``token``, ``api_key``), at
any row, within a time budget rather than a row count.

A column is read in slices (the first and last rows first: they are the ones a display
shows); a column that cannot be read within the budget is reported as unscanned, and
redaction.py then masks that whole column in the tables it finds in what is sent.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from .secret_names import looks_like_credential, name_strength

SLICE = 200_000  # rows read at a time


@dataclass
class FrameScan:
    values: list[tuple[str, str]] = field(default_factory=list)  # (column, value)
    unscanned: list[str] = field(default_factory=list)  # columns too big to read in time


def secret_columns(frame, allow=frozenset()) -> list:
    try:
        return [c for c in frame.columns if isinstance(c, str) and c not in allow and name_strength(c)]
    except Exception:  # an odd frame (a MultiIndex of tuples...): no named columns
        return []


def scan_frame(frame, deadline: float, allow=frozenset()) -> FrameScan:
    """The distinct text values of ``frame``'s credential columns, read until ``deadline``
    (a ``time.monotonic()`` value)."""
    scan = FrameScan()
    for column in secret_columns(frame, allow):
        maybe = name_strength(column) == "maybe"
        try:
            series = frame[column]
            if getattr(series, "ndim", 1) != 1:  # duplicate column names
                continue
            rows = len(series)
            order = _slices(rows)
            seen: set[str] = set()
            for start, stop in order:
                if time.monotonic() > deadline:
                    scan.unscanned.append(column)
                    break
                for item in series.iloc[start:stop].dropna().unique().tolist():
                    if isinstance(item, bytes):
                        item = item.decode("utf-8", "replace")
                    if isinstance(item, str) and item.strip() and item not in seen:
                        seen.add(item)
                        if not maybe or looks_like_credential(item):
                            scan.values.append((column, item))
        except Exception:  # a column that cannot be read: its summary shows no values anyway
            continue
    return scan


def _slices(rows: int) -> list[tuple[int, int]]:
    """Slices of SLICE rows: the first, the last, then the middle in order."""
    slices = [(start, min(start + SLICE, rows)) for start in range(0, rows, SLICE)]
    return slices[:1] + slices[-1:][: len(slices) > 1] + slices[1:-1]


def mask_table_column(text: str, column: str, mask: str) -> str:
    """A pandas text table (``repr``, ``to_string``) with ``column``'s cells replaced by
    ``mask``: the header line names the columns right-aligned, each cell ends where its
    header does. Lines of other shapes are left as they are."""
    lines = text.split("\n")
    out, span = [], None
    for line in lines:
        header = _column_span(line, column)
        if header is not None:
            span = header
            out.append(line)
            continue
        if span is not None and len(line) >= span[1] and line[span[1]:span[1] + 1] in ("", " "):
            start, end = span  # from the previous column's end: the widest cell fits
            out.append(line[:start] + (" " + mask).rjust(end - start) + line[end:])
            continue
        if not line.strip():
            span = None
        out.append(line)
    return "\n".join(out)


def _column_span(line: str, column: str) -> tuple[int, int] | None:
    """Where ``column``'s header stands in a pandas header line (its names two or more
    spaces apart), or None for a line of another shape ("the token is here")."""
    words = line.split()
    if column not in words or len(words) < 2 or f"  {column}" not in line or re.search(r"\S \S", line):
        return None
    end = line.index(f"  {column}") + 2 + len(column)
    if line[end:end + 1] not in ("", " "):
        return None
    start = end - len(column)
    while start > 0 and line[start - 1] == " ":
        start -= 1
    return start, end
