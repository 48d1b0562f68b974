"""What a step changed in the user's namespace: names defined, rebound, deleted, and
objects changed in place.

Cheap by design: a snapshot is each user name's object (a reference, never a copy), its
identity, and for the containers users mutate in place (lists, dicts, sets, NumPy arrays,
pandas DataFrames and Series) their size; for the names a step's code mentions (``deep``),
also a fingerprint of their content, below a size bound (``CONTAINER_LIMIT``...). So a
step costs what it can touch, not what the namespace holds: an in-place change of an object
the step names (``df.loc[0, "a"] = 5``, ``lst.append(1)``) is seen; of one it reaches
another way (an alias, a function) only when its size changes. Objects are compared
shallowly: ``lst[0].append(1)`` on a list of lists is not seen.

``NamespaceChanges`` is the JSON-safe record of one step (names and type descriptions,
never values): ``line()`` is what the model reads after the step's output.
"""
from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

# Sizes up to which content is fingerprinted (a few milliseconds each); larger objects
# are compared by identity and size only. Python containers are hashed item by item in
# Python, pandas objects and arrays in C.
CONTAINER_LIMIT = 50_000  # list, dict or set items
PANDAS_LIMIT = 250_000  # DataFrame cells, Series rows
ARRAY_LIMIT = 250_000  # NumPy array elements
# Names per kind shown in the model's line; the rest are counted.
LINE_NAMES = 10

# IPython's output and input history (_, __, ___, _5, _i, _ii, _i5, _exit_code), dunders
# (__builtins__, __name__) and our own helpers (_codeact...).
_SHELL_NAME = re.compile(r"_{1,3}|_i{1,3}|_i?\d+|_oh|_ih|_dh|_exit_code|__\w+__|_codeact\w*")


def is_tracked(name: str, value: Any, hidden: dict | None) -> bool:
    """Is ``name`` the user's (not the shell's own In, Out, exit, _i3...)?"""
    if name.startswith("_") and _SHELL_NAME.fullmatch(name):
        return False
    if hidden is not None and name in hidden and hidden[name] is value:
        return False
    return True


@dataclass(frozen=True)
class Seen:
    """One name's object as a snapshot found it."""

    value: Any = field(repr=False, compare=False)
    size: tuple | None  # len or shape (and dtype), where the object has one
    fingerprint: Any  # a hash of the content, or None where not computed

    def changed_in_place(self, later: "Seen") -> bool:
        if self.size != later.size:
            return True
        return (self.fingerprint is not None and later.fingerprint is not None
                and self.fingerprint != later.fingerprint)


# Values whose identity says everything (nothing to change in place): no size is taken.
_IMMUTABLE = frozenset({int, float, complex, bool, str, bytes, type(None), tuple, frozenset, range})


def snapshot(shell, deep: "set[str] | frozenset[str] | None" = None) -> dict[str, Seen]:
    """Every user name of ``shell`` with its object and size; the names in ``deep`` (all
    when None) also with a fingerprint of their content."""
    hidden = getattr(shell, "user_ns_hidden", None)
    seen = {}
    for name, value in list(shell.user_ns.items()):
        if not is_tracked(name, value, hidden):
            continue
        if type(value) in _IMMUTABLE:
            seen[name] = Seen(value, None, None)
        elif deep is None or name in deep:
            seen[name] = Seen(value, *_size_and_fingerprint(value))
        else:
            seen[name] = Seen(value, _size(value), None)
    return seen


def with_fingerprints(seen: dict[str, Seen], names) -> dict[str, Seen]:
    """``seen`` with fingerprints for ``names`` where it has none (the objects are those it
    holds: nothing ran in between)."""
    for name in names:
        old = seen.get(name)
        if old is not None and old.fingerprint is None and type(old.value) not in _IMMUTABLE:
            seen[name] = Seen(old.value, *_size_and_fingerprint(old.value))
    return seen


def names_in(shell, code: str) -> "set[str] | None":
    """The names ``code`` mentions (as IPython will run it: magics and ``!`` transformed);
    None when it cannot be read, and then everything is fingerprinted."""
    import ast

    try:
        tree = ast.parse(shell.transform_cell(code) if hasattr(shell, "transform_cell") else code)
    except Exception:  # a syntax error: the step will fail; fingerprint all to be safe
        return None
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("globals", "locals", "vars", "exec", "eval", "get_ipython"):
            return None  # the step reaches the namespace by name: any object may change
    return names


@dataclass(frozen=True)
class NameChange:
    name: str
    kind: str  # a short type description: "Series, 3 rows", "int", "list, 5 items"
    in_place: bool = False  # the same object, its content changed


@dataclass(frozen=True)
class NamespaceChanges:
    """What one step did to the user's namespace (and which files it wrote)."""

    defined: tuple[NameChange, ...] = ()
    changed: tuple[NameChange, ...] = ()  # rebound, or changed in place
    deleted: tuple[str, ...] = ()
    written: tuple[str, ...] = ()  # files opened for writing, where known

    def __bool__(self) -> bool:
        return bool(self.defined or self.changed or self.deleted or self.written)

    def to_dict(self) -> dict:
        return {"defined": [asdict(c) for c in self.defined],
                "changed": [asdict(c) for c in self.changed],
                "deleted": list(self.deleted), "written": list(self.written)}

    @classmethod
    def from_dict(cls, data: dict) -> "NamespaceChanges":
        return cls(defined=tuple(NameChange(**c) for c in data.get("defined", ())),
                   changed=tuple(NameChange(**c) for c in data.get("changed", ())),
                   deleted=tuple(data.get("deleted", ())), written=tuple(data.get("written", ())))

    def line(self) -> str:
        """``[defined: top3 (Series, 3 rows); changed: df (in place); deleted: tmp]``, or ""."""
        summary = self.summary()
        return f"[{summary}]" if summary else ""

    def summary(self) -> str:
        """``defined: top3 (Series, 3 rows); changed: df (in place)``: the line without its
        brackets, as the views show it; "" when nothing changed."""
        parts = []
        if self.defined:
            parts.append("defined: " + _names(f"{c.name} ({c.kind})" for c in self.defined))
        if self.changed:
            parts.append("changed: " + _names(
                f"{c.name} ({'in place' if c.in_place else c.kind})" for c in self.changed))
        if self.deleted:
            parts.append("deleted: " + _names(self.deleted))
        if self.written:
            parts.append("wrote: " + _names(self.written))
        return "; ".join(parts)


def _names(items) -> str:
    items = list(items)
    more = f", and {len(items) - LINE_NAMES} more" if len(items) > LINE_NAMES else ""
    return ", ".join(items[:LINE_NAMES]) + more


def compare(before: dict[str, Seen], after: dict[str, Seen],
            written: tuple[str, ...] = ()) -> NamespaceChanges:
    defined, changed = [], []
    for name, now in after.items():
        was = before.get(name)
        if was is None:
            defined.append(NameChange(name, describe(now.value)))
        elif was.value is not now.value:
            changed.append(NameChange(name, describe(now.value)))
        elif was.changed_in_place(now):
            changed.append(NameChange(name, describe(now.value), in_place=True))
    deleted = tuple(name for name in before if name not in after)
    return NamespaceChanges(tuple(defined), tuple(changed), deleted, written)


def describe(value: Any) -> str:
    """A short type description: ``DataFrame, 3×2``, ``Series, 3 rows``, ``list, 5 items``.
    Strings get none: the length of a secret is withheld too (redaction.py)."""
    kind = type(value).__name__
    try:
        if _is_pandas(value, "DataFrame"):
            return f"DataFrame, {value.shape[0]:,}×{value.shape[1]:,}"
        if _is_pandas(value, "Series"):
            return f"Series, {_count(len(value), 'row')}"
        if _is_array(value):
            return f"{kind}, {'×'.join(str(n) for n in value.shape) or 'scalar'} {value.dtype}"
        if isinstance(value, (list, tuple, dict, set, frozenset)):
            return f"{kind}, {_count(len(value), 'item')}"
    except Exception:  # a user object with a broken __len__ or shape
        pass
    return kind


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def content_of(value: Any) -> tuple[tuple | None, Any]:
    """(size, fingerprint) of ``value``'s content, as a snapshot measures it."""
    return _size_and_fingerprint(value)


def _size(value: Any) -> tuple | None:
    """The cheap part of a snapshot: length, or shape and dtype. The same whether or not a
    fingerprint is taken, so that snapshots of either kind compare."""
    try:
        if isinstance(value, (list, dict, set, bytearray)):
            return (len(value),)
        if _is_pandas(value, "DataFrame") or _is_pandas(value, "Series"):
            return tuple(value.shape)
        if _is_array(value):
            return (*value.shape, str(value.dtype))
    except Exception:  # an object that cannot be measured is compared by identity only
        return None
    return None


def _size_and_fingerprint(value: Any) -> tuple[tuple | None, Any]:
    size = _size(value)
    try:
        if isinstance(value, (list, dict, set, bytearray)):
            small = len(value) <= (CONTAINER_LIMIT * 64 if isinstance(value, bytearray) else CONTAINER_LIMIT)
            return size, _container_fingerprint(value) if small else None
        if _is_pandas(value, "DataFrame") or _is_pandas(value, "Series"):
            return size, _pandas_fingerprint(value)
        if _is_array(value):
            return size, _array_fingerprint(value)
    except Exception:  # an object that cannot be measured is compared by identity only
        return size, None
    return size, None


def _container_fingerprint(value) -> Any:
    if isinstance(value, list):
        return hash(tuple(map(id, value)))
    if isinstance(value, dict):
        return hash(tuple(map(id, value))), hash(tuple(map(id, value.values())))
    if isinstance(value, set):
        return sum(map(id, value))  # the order of a set's items means nothing
    return _digest(value)


def _digest(data) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _is_pandas(value: Any, name: str) -> bool:
    pandas = sys.modules.get("pandas")  # never imported here: only where the user has it
    return pandas is not None and isinstance(value, getattr(pandas, name))


def _is_array(value: Any) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


def _pandas_fingerprint(value) -> Any:
    """Columns and dtypes, and below PANDAS_LIMIT a hash of the rows too."""
    import pandas

    columns = tuple(map(str, value.columns)) if hasattr(value, "columns") else (str(value.name),)
    dtypes = tuple(map(str, value.dtypes)) if hasattr(value, "columns") else (str(value.dtype),)
    labels = (hash(columns), hash(dtypes))
    if value.size > PANDAS_LIMIT:
        return labels
    try:
        rows = pandas.util.hash_pandas_object(value, index=True).to_numpy()
    except Exception:  # unhashable cells (lists in an object column): labels only
        return labels
    return labels, _digest(rows.tobytes())


def _array_fingerprint(value) -> Any:
    import numpy

    if value.size > ARRAY_LIMIT or value.dtype == object:
        return None
    return _digest(numpy.ascontiguousarray(value).view(numpy.uint8).tobytes())
