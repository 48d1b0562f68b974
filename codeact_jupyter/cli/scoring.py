"""Scoring an answer against the expected one, as M3ToolEval does: exact match after
numeric coercion and whitespace normalisation.

The answer is the text after the last ``Answer:`` in the model's reply (the harness asks
for that line), else the whole reply. Markdown emphasis, backticks, surrounding quotes, a
final full stop and extra whitespace are dropped. Then, by the type of the expected value:

* a number: the answer must read as one number (thousands separators, a currency sign or
  a trailing % are dropped) and equal it exactly (42.0 matches 42), or within the task's
  ``tolerance`` (absolute) when it has one;
* a list: the answer split at commas, semicolons or new lines, item by item, in order;
* true / false: yes / no / true / false;
* text: equal ignoring case.

Pure functions with no imports beyond the standard library: they also run in the kernel.
"""
from __future__ import annotations

import math
import re

_ANSWER = re.compile(r"answer\s*:\s*", re.IGNORECASE)
_NUMBER_JUNK = re.compile(r"[,\s$€£_]|%$")
_YES, _NO = {"yes", "true", "y"}, {"no", "false", "n"}


def extract_answer(text: str) -> str:
    """The part of a reply that is the answer: after the last ``Answer:`` (its line), or
    the whole reply."""
    text = _strip_markup(text or "")
    found = list(_ANSWER.finditer(text))
    if found:
        text = text[found[-1].end():].split("\n", 1)[0]
    return normalise(text)


def normalise(text: str) -> str:
    text = _strip_markup(text)
    text = re.sub(r"\s+", " ", text).strip()
    text = text.rstrip(".").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def to_number(text: str) -> float | None:
    cleaned = _NUMBER_JUNK.sub("", normalise(text))
    if cleaned.startswith("+"):
        cleaned = cleaned[1:]
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def match(reply: str | None, expected, tolerance: float | None = None) -> tuple[bool, str]:
    """(passed, reason): the reason says what was expected and what was found."""
    if reply is None:
        return False, "no answer"
    got = extract_answer(reply)
    return match_value(got, expected, tolerance)


def match_value(got: str, expected, tolerance: float | None = None) -> tuple[bool, str]:
    if isinstance(expected, bool):
        word = got.lower()
        if word not in _YES | _NO:
            return False, f"expected {'yes' if expected else 'no'}, got {_shown(got)}"
        ok = (word in _YES) == expected
        return ok, "" if ok else f"expected {'yes' if expected else 'no'}, got {_shown(got)}"
    if isinstance(expected, (int, float)):
        value = to_number(got)
        if value is None:
            return False, f"expected the number {expected}, got {_shown(got)}"
        if tolerance is not None:
            ok = abs(value - expected) <= tolerance
            return ok, "" if ok else f"expected {expected} (± {tolerance}), got {got}"
        ok = value == float(expected)
        return ok, "" if ok else f"expected {expected}, got {got}"
    if isinstance(expected, (list, tuple)):
        items = [normalise(i) for i in re.split(r"[,;\n]", got) if normalise(i)]
        if len(items) != len(expected):
            return False, f"expected {len(expected)} items ({_listed(expected)}), got {len(items)}: {_shown(got)}"
        for position, (item, want) in enumerate(zip(items, expected), 1):
            ok, why = match_value(item, want, tolerance)
            if not ok:
                return False, f"item {position}: {why}"
        return True, ""
    ok = got.casefold() == normalise(str(expected)).casefold()
    return ok, "" if ok else f"expected {str(expected)!r}, got {_shown(got)}"


def format_expected(expected) -> str:
    """The expected value as an answer line would write it (the oracle's answer)."""
    if isinstance(expected, bool):
        return "yes" if expected else "no"
    if isinstance(expected, (list, tuple)):
        return _listed(expected)
    return str(expected)


def _listed(values) -> str:
    return ", ".join(format_expected(v) for v in values)


def _shown(got: str, limit: int = 80) -> str:
    """The answer as a reason quotes it: a long one is cut (the row keeps the answer)."""
    return repr(got if len(got) <= limit else got[: limit - 1] + "…")


def _strip_markup(text: str) -> str:
    return re.sub(r"\*\*|__|`", "", text)
