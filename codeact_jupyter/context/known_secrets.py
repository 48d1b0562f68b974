"""The values a task's Redactor knows to be secret, collected once as the task starts: from
the environment, the backend's key, and the kernel's namespace (variables, dict entries and
DataFrame columns named like a credential; what private cells define; IPython's output
cache, newest first). Each value is kept with what it is called (``value of api_key``).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import islice

from .frame_secrets import scan_frame
from .secret_names import looks_like_credential, name_strength

FRAME_SECONDS = 1.0  # reading the credential columns of every DataFrame, per task
_MAX_VALUES_PER_VARIABLE = 100
_MAX_DEPTH = 4
_MAX_OUT_ENTRIES = 1000
PRIVATE = "a private cell's value"  # the label never names the variable


def _credential_like(value: str) -> bool:
    """An environment variable's value worth hunting for: the desktop's DESKTOP_SESSION=ubuntu
    or SSH_AUTH_SOCK=/tmp/... are not credentials, and masking "ubuntu" everywhere would hurt."""
    return (len(value) >= 8 and not value.startswith("/") and not re.fullmatch(r"[a-z]+", value)
            and not re.search(r"\s", value))


@dataclass
class KnownSecrets:
    allow: frozenset = frozenset()
    deadline: float = 0.0  # time.monotonic() after which no more DataFrame rows are read
    values: dict[str, str] = field(default_factory=dict)  # value -> what it is called
    unscanned: list[tuple[str, str]] = field(default_factory=list)  # (variable, column)

    def strength(self, name) -> str | None:
        return name_strength(name) if isinstance(name, str) and name not in self.allow else None

    def add(self, value, label: str) -> None:
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("utf-8", "replace")
        if isinstance(value, str) and value.strip() and not value.startswith("[redacted:"):
            self.values.setdefault(value, label)

    def from_environ(self, environ: Mapping) -> None:
        for name, value in environ.items():
            strength = self.strength(name)
            if strength and (looks_like_credential(value) if strength == "maybe" else _credential_like(value)):
                self.add(value, f"value of environment variable {name}")

    def from_namespace(self, namespace: Mapping, private=()) -> None:
        """``private``: names a private cell defines; their values are secret wherever a
        step prints them (``print(globals())``)."""
        for name in private:
            if name in namespace:
                self._private(namespace[name], [0])
        # The user's own names first, so a value is called by them rather than by Out[5].
        for name, value in sorted(namespace.items(), key=lambda item: item[0] in ("Out", "In")):
            if isinstance(name, str) and not name.startswith("_") and name not in self.allow:
                try:
                    if name == "Out" and isinstance(value, dict):
                        self._outputs(value)
                    else:
                        self._collect(value, name, self.strength(name), 0, [0])
                except Exception:  # a user's dict subclass whose items() fails: skip it
                    continue

    def _private(self, value, seen: list[int], depth: int = 0) -> None:
        if depth > _MAX_DEPTH or seen[0] >= _MAX_VALUES_PER_VARIABLE:
            return
        seen[0] += 1
        if isinstance(value, (str, bytes, bytearray)):
            self.add(value, PRIVATE)
        elif isinstance(value, (int, float)) and len(repr(value)) >= 6:  # 3 or 1.5 would mangle text
            self.add(repr(value), PRIVATE)
        elif isinstance(value, dict):
            for item in islice(value.values(), _MAX_VALUES_PER_VARIABLE):
                self._private(item, seen, depth + 1)
        elif isinstance(value, (list, tuple, set)):
            for item in islice(value, _MAX_VALUES_PER_VARIABLE):
                self._private(item, seen, depth + 1)

    def _outputs(self, out: dict) -> None:
        """IPython's output cache: the newest results first, each with its own budget (a
        long session's Out holds thousands; the first hundred are the least likely shown)."""
        for count, value in islice(reversed(list(out.items())), _MAX_OUT_ENTRIES):
            self._collect(value, f"Out[{count}]", None, 1, [0])

    def _collect(self, value, path: str, strength: str | None, depth: int, seen: list[int]) -> None:
        """Strings under a credential name, and under credential keys of any dict (a
        ``maybe`` name's only when they look like a credential)."""
        if depth > _MAX_DEPTH or seen[0] >= _MAX_VALUES_PER_VARIABLE:
            return
        if isinstance(value, (str, bytes, bytearray)):
            text = bytes(value).decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else value
            if strength == "credential" or strength == "maybe" and looks_like_credential(text):
                seen[0] += 1
                self.add(text, f"value of {path}")
        elif isinstance(value, dict):
            for key, item in islice(value.items(), _MAX_VALUES_PER_VARIABLE):
                self._collect(item, f"{path}[{key!r}]", strength or self.strength(key), depth + 1, seen)
        elif strength and isinstance(value, (list, tuple)):
            for item in value[:_MAX_VALUES_PER_VARIABLE]:
                self._collect(item, path, strength, depth + 1, seen)
        elif type(value).__name__ == "DataFrame" and type(value).__module__.startswith("pandas"):
            scan = scan_frame(value, self.deadline, self.allow)
            for column, item in scan.values:
                self.add(item, f"value of {path}[{column!r}]")
            self.unscanned += [(path, column) for column in scan.unscanned]
