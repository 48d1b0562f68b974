"""A one-line summary of each live user variable: name, type, size or shape; DataFrame
columns and dtypes. Never the contents of large objects."""
from __future__ import annotations

import inspect
import types

# The shell's own names, skipped when a shell does not say which names it put there.
_SKIP = {"In", "Out", "exit", "quit", "get_ipython", "open"}
_SHORT_REPR = 80


def summarize_variables(shell, limit: int = 60, secret_name=None) -> list[str]:
    """``secret_name(name)``: True for a name whose value must not be shown (redaction.py);
    such a variable is listed by its type only."""
    return [line for _, line in variable_summaries(shell, limit, secret_name)]


def variable_summaries(shell, limit: int = 60, secret_name=None) -> list[tuple[str, str]]:
    """``(name, line)`` for each variable, the most recently defined ``limit`` of them; a
    last ``("", "(and N more variables)")`` says how many were left out."""
    hidden = getattr(shell, "user_ns_hidden", None)
    chosen = [(name, value) for name, value in list(shell.user_ns.items())
              if not (name.startswith("_") or _is_the_shells(name, value, hidden)
                      or isinstance(value, types.ModuleType))]
    left_out = max(0, len(chosen) - limit)
    lines = []
    for name, value in chosen[left_out:]:  # only those shown are described: cheap in a big namespace
        try:
            if secret_name is not None and secret_name(name):
                lines.append((name, f"{name}: {describe_secret(name, value)}"))
                continue
            lines.append((name, f"{name}: {describe_value(value)}"))
        except Exception as exc:  # a user object whose __len__ or shape is broken
            lines.append((name, f"{name}: {type(value).__name__} (could not describe: {type(exc).__name__})"))
    if left_out:
        lines.append(("", f"(and {left_out} more variables)"))
    return lines


def _is_the_shells(name: str, value, hidden: dict | None) -> bool:
    """IPython's own In, Out, exit... are not the user's; a user's ``Out = None`` is."""
    if hidden is None:
        return name in _SKIP
    return name in hidden and hidden[name] is value


def describe_secret(name: str, value) -> str:
    """A secret-named variable: its type, never its value nor its length."""
    if isinstance(value, (str, bytes, bytearray)):
        return f"{type(value).__name__} = [redacted: value of {name}]"
    if isinstance(value, (int, float, bool)) or value is None or callable(value):
        return describe_value(value)  # a number, a function (sort_key = len): nothing to hide
    return f"{type(value).__name__} [redacted: value of {name}]"


def describe_value(value) -> str:
    kind = type(value)
    qualname = f"{kind.__module__}.{kind.__name__}"
    if value is None or isinstance(value, (bool, int, float, complex)):
        return f"{kind.__name__} = {_short(repr(value))}"
    if isinstance(value, str):
        return f"str, {len(value):,} chars = {_short(repr(value[:_SHORT_REPR]))}"  # a 10 MB str: no full repr
    if qualname.startswith("pandas.") and kind.__name__ == "DataFrame":
        return _describe_dataframe(value)
    if qualname.startswith("pandas.") and kind.__name__ == "Series":
        return f"Series, {len(value):,} rows, dtype {value.dtype}, name {value.name!r}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # numpy, torch, jax arrays
        return f"{kind.__name__}, shape {tuple(value.shape)}, dtype {value.dtype}"
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return f"{kind.__name__}, {len(value):,} items"
    if inspect.isclass(value):
        return f"class {value.__module__}.{value.__qualname__}"
    if inspect.isfunction(value) or inspect.ismethod(value):
        try:
            return f"function{inspect.signature(value)}"
        except (TypeError, ValueError):
            return "function"
    if hasattr(value, "__len__"):
        return f"{kind.__name__}, {len(value):,} items"
    return kind.__name__


def _describe_dataframe(df) -> str:
    columns = [f"{col} ({dtype})" for col, dtype in list(df.dtypes.items())[:30]]
    more = f", … {df.shape[1] - 30} more" if df.shape[1] > 30 else ""
    return f"DataFrame, {df.shape[0]:,} rows × {df.shape[1]} columns: {', '.join(columns)}{more}"


def _short(text: str) -> str:
    return text if len(text) <= _SHORT_REPR else text[: _SHORT_REPR - 1] + "…"
