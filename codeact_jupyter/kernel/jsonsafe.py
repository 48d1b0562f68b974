"""Making anything the kernel sends to a front end encodable as JSON.

Jupyter messages are UTF-8 JSON without NaN. A task or a model's reply can hold a lone
UTF-16 surrogate (a broken emoji pasted in a browser, a model cutting a character in
two), and step outputs can hold NaN or objects JSON does not know; one such value would
make every send of a run fail. Lone surrogates become U+FFFD (same length in UTF-16, so
offsets computed on the raw text still hold), NaN and infinities become null, unknown
objects their repr.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def safe_text(text: str) -> str:
    """``text`` with lone surrogates replaced (a valid pair, split in two code points, is
    joined into its character)."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def safe_str(value: Any) -> str:
    """``str(value)``, also for an object (an exception) whose ``__str__`` itself fails,
    worded as IPython words it."""
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__} object>"


def jsonable(value: Any) -> Any:
    """``value`` itself when it is valid JSON for a Jupyter message, else a cleaned copy."""
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
        return value
    except (TypeError, ValueError, UnicodeEncodeError):
        return _clean(value)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return safe_text(value)
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {safe_text(str(key)): _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    try:
        return safe_text(repr(value))
    except Exception:
        return f"<{type(value).__name__}>"


def utf16_length(text: str) -> int:
    """The length of ``text`` as a JavaScript string sees it."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
