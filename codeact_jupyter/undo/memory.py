"""How much memory undo holds: the objects runs replaced or deleted, kept so that undo can
put them back. Bounded by ``CodeActMagics.undo_memory``: past it the oldest runs let theirs
go (and can no longer be undone), and a large total is said at the end of a task."""
from __future__ import annotations

import sys
from typing import Any

MB = 1024 * 1024
SAY_ABOVE = 100 * MB  # a task's last lines say what undo keeps once it holds more than this


def held_bytes(value: Any) -> int:
    """About how many bytes ``value`` holds: an array's or a DataFrame's data, a string's
    length, otherwise the object itself (containers shallowly: their items may be shared)."""
    try:
        nbytes = getattr(value, "nbytes", None)  # NumPy arrays, pandas Series
        if isinstance(nbytes, int):
            return nbytes
        usage = getattr(value, "memory_usage", None)
        if callable(usage) and type(value).__name__ == "DataFrame":
            return int(usage(index=True, deep=False).sum())
        return sys.getsizeof(value)
    except Exception:  # a user object whose size cannot be read: count it small
        return 0


def record_bytes(originals: dict[str, Any] | None, live_ids: set[int]) -> int:
    """What a run's kept objects cost beyond the namespace (objects still bound to some name
    cost undo nothing)."""
    if not originals:
        return 0
    seen: set[int] = set()
    total = 0
    for value in originals.values():
        key = id(value)
        if key in live_ids or key in seen:
            continue
        seen.add(key)
        total += held_bytes(value)
    return total


def size_text(size: int) -> str:
    if size >= 1024 * MB:
        return f"{size / (1024 * MB):.1f} GB"
    return f"{max(1, round(size / MB)):,} MB"
