"""Secrets never leave the kernel: every text bound for a backend (the notebook context,
the task, each observation, the model's own replies) and everything stored passes through
one ``Redactor`` per task.

It masks, wherever they appear, values it knows to be secret:
- the values of variables (and of environment variables, dict entries and DataFrame
  columns, at any row) whose names mean a credential (secret_names.py: ``api_key``,
  ``db_password``, ``GITHUB_TOKEN``; not ``key``, ``session`` or ``token_count``);
- strings in a well-known credential format (secret_shapes.py: OpenAI, Anthropic, Stripe,
  GitHub, AWS, Slack, Google, Hugging Face keys, JWTs, PEM private keys...);
- the API key the backend itself uses;

and, in text that is not the model's own code, values written beside a credential's name
(secret_shapes.py: ``.env``, YAML, INI, JSON, headers, URL query parameters, connection
strings). The model's code is never rewritten but where a known secret appears in it
(``redact_code``): a step runs, is stored and replays as the model wrote it.

A masked value becomes ``[redacted: <what it was>]``, so the model can still refer to the
variable by name. A known value shorter than ``MIN_FREE_TEXT`` characters is masked only
where it is the value of a secret name (summaries, assignments): searching ordinary text for
``"ab"`` would mangle it. ``counts()`` says how many distinct values were withheld, by label,
never which.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from .frame_secrets import mask_table_column
from .known_secrets import FRAME_SECONDS, KnownSecrets
from .secret_names import looks_secret, name_parts, name_strength  # noqa: F401 - also at their old address
from .secret_shapes import FORMATS, PEM, Detector, Found, named_values, replace_spans, url_passwords

_BINARY = {"application/pdf", "application/octet-stream"}
# Values shorter than this are not searched for in free text (see the module docstring).
MIN_FREE_TEXT = 6
ANYWHERE_CHARS = 12  # values this long are masked even inside a longer word
PART_CHARS = 6  # a cut-off part of a known value this long is masked at a cut
# A rich output (HTML, JSON) longer than this is left out of the copy kept for views (its
# text/plain stays): the model never reads it, and redacting 11 MB would cost seconds.
RICH_LIMIT = 1_000_000


def _mask(label: str) -> str:
    return f"[redacted: {label}]"


@dataclass
class Redactor:
    """Built once per task. ``values`` maps a secret's text to what it is called."""

    values: dict[str, str] = field(default_factory=dict)
    extra: list[Detector] = field(default_factory=list)
    allow: frozenset[str] = frozenset()
    enabled: bool = True
    # DataFrame columns too big to read in time: (variable, column); masked whole in tables.
    unscanned: list[tuple[str, str]] = field(default_factory=list)
    _withheld: dict[str, str] = field(default_factory=dict)  # value -> label, never shown
    _reported: int = 0
    _unscanned_reported: bool = False
    masks: int = 0  # masks made so far (each occurrence), to count a part's redactions

    @classmethod
    def for_task(cls, namespace: Mapping | None = None, environ: Mapping | None = None,
                 backend_key: str | None = None, patterns: list[str] = (), allow=(),
                 enabled: bool = True, frame_seconds: float = FRAME_SECONDS,
                 private=()) -> Redactor:
        """``private``: names a private cell defines; their values are secret wherever a
        step prints them (``print(globals())``), and never named."""
        redactor = cls(extra=[Detector("matched a codeact redact pattern", re.compile(p)) for p in patterns],
                       allow=frozenset(allow), enabled=enabled)
        if enabled:
            known = KnownSecrets(redactor.allow, time.monotonic() + frame_seconds)
            known.from_environ(os.environ if environ is None else environ)
            if backend_key:
                known.add(backend_key, "the backend's API key")
            known.from_namespace(namespace or {}, private)
            redactor.values, redactor.unscanned = known.values, known.unscanned
        return redactor

    def _strength(self, name) -> str | None:
        return name_strength(name) if isinstance(name, str) and name not in self.allow else None

    def is_secret_name(self, name: str) -> bool:
        return self.enabled and self._strength(name) is not None

    def withholds(self, name: str) -> bool:
        """For the variable summaries: True when ``name``'s value is left out (a credential
        name, or a name such as ``token`` that holds a credential-like value), which counts
        its values as withheld."""
        strength = self._strength(name) if self.enabled else None
        if strength is None:
            return False
        own = f"value of {name}"
        mine = [value for value, label in self.values.items() if label == own or label.startswith(own + "[")]
        for value in mine:
            self._withheld.setdefault(value, self.values[value])
        return strength == "credential" or bool(mine)

    def redact(self, text: str) -> str:
        """Any text bound for the model or a store: every rule."""
        return self._redact(text, named=True)

    def redact_code(self, text: str) -> str:
        """The model's own code and replies: only values known to be secret (and formats that
        are secrets by their shape); a name beside a literal is no reason to rewrite code."""
        return self._redact(text, named=False)

    def _redact(self, text: str, named: bool) -> str:
        if not self.enabled or not text:
            return text
        if PEM.finds(text):  # a PEM block first: it holds base64 other patterns cut
            text = self._sub(PEM.pattern, PEM.label, text)
        for value, label in sorted(self.values.items(), key=lambda item: -len(item[0])):
            if len(value) >= MIN_FREE_TEXT and value in text:
                # A short value only as a word of its own ("hunter2" in "hunter2x" may be
                # chance); a long one wherever it stands, glued to other text or not.
                pattern = re.escape(value) if len(value) >= ANYWHERE_CHARS else \
                    r"(?<![A-Za-z0-9])" + re.escape(value) + r"(?![A-Za-z0-9])"
                text = self._sub(re.compile(pattern), label, text, value)
        for detector in FORMATS + self.extra:
            if detector.finds(text):
                text = self._sub(detector.pattern, detector.label, text)
        found: list[Found] = list(url_passwords(text))
        if named:
            found += named_values(text)
        if found:
            text = replace_spans(text, found, self._masked)
        if named and self.unscanned:
            for _, column in self.unscanned:
                text = mask_table_column(text, column, _mask(f"column {column}, too long to check"))
        return text

    def _masked(self, value: str, label: str) -> str:
        label = self.values.get(value, label)
        self.masks += 1
        self._withheld.setdefault(value, label)
        return _mask(label)

    def may_hold_secret(self, text: str) -> bool:
        """A quick look: False only when no rule could match ``text``."""
        if any(value in text for value in self.values if len(value) >= MIN_FREE_TEXT):
            return True
        if PEM.finds(text) or "://" in text or self.extra or self.unscanned:
            return True
        if any(detector.finds(text) for detector in FORMATS):
            return True
        return next(named_values(text), None) is not None

    def redact_outputs(self, outputs: list[dict]) -> list[dict]:
        """A step's nbformat outputs with their text redacted, for what is stored and sent to
        views (last_run().steps, the Observation event, the panel's trace); binary payloads
        (images, PDF) are kept as they are, and a rich entry longer than RICH_LIMIT is left
        out (its text/plain stays; ``metadata.codeact.left_out`` names it)."""
        if not self.enabled:
            return outputs
        kept = self.redact_for_views([_without_big_rich(output) for output in outputs])
        return [{**out, "text": self._cut_edges(out["text"])} if out.get("output_type") == "stream"
                and isinstance(out.get("text"), str) else out for out in kept]

    def _cut_edges(self, text: str) -> str:
        """A stream kept as a head and a tail (step_streams.py) may begin with the end of a
        known secret or end with its beginning: that part goes too."""
        for value, label in self.values.items():
            for size in range(len(value) - 1, PART_CHARS - 1, -1):
                if text.endswith(value[:size]):
                    text = text[:-size] + _mask(label)
                    break
                if text.startswith(value[-size:]):
                    text = _mask(label) + text[size:]
                    break
        return text

    def redact_for_views(self, value):
        """Any JSON-like value with its text redacted, for what is stored and sent to views
        (not counted as withheld from the model); binary payloads are kept as they are."""
        if not self.enabled:
            return value
        counted = dict(self._withheld), self.masks  # withheld from views, not the model
        try:
            return self._redact_json(value, None)
        finally:
            self._withheld, self.masks = counted

    def _redact_json(self, value, mime: str | None):
        if isinstance(value, str):
            if mime in _BINARY or (mime or "").startswith("image/") and "svg" not in mime:
                return value
            if mime not in (None, "text/plain") and len(value) > 10_000 and not self.may_hold_secret(value):
                return value  # a big table with nothing to mask: no need to run every rule
            return self.redact(value)
        if isinstance(value, list):
            return [self._redact_json(item, mime) for item in value]
        if isinstance(value, dict):
            return {key: self._redact_json(item, key if "/" in str(key) else mime)
                    for key, item in value.items()}
        return value

    def redact_content(self, content):
        """A message's content: a string, or content parts whose text parts are redacted
        (image parts are left as they are)."""
        if not isinstance(content, list):
            return self.redact(content)
        return [{**part, "text": self.redact(part.get("text") or "")}
                if isinstance(part, dict) and part.get("type") == "text" else part for part in content]

    def _sub(self, pattern: re.Pattern, label: str, text: str, value: str | None = None) -> str:
        def replace(match: re.Match) -> str:
            self.masks += 1
            self._withheld.setdefault(value or match.group(0), label)
            return _mask(label)
        return pattern.sub(replace, text)

    def counts(self) -> dict[str, int]:
        """How many distinct values were withheld so far, by label (never the values)."""
        counts: dict[str, int] = {}
        for label in self._withheld.values():
            counts[label] = counts.get(label, 0) + 1
        return counts

    @property
    def withheld(self) -> int:
        return len(self._withheld)

    def new_notice(self) -> str | None:
        """A line for the user when more values were withheld since the last one (and, once,
        which DataFrame columns were too long to check and are masked whole)."""
        lines = []
        new = self.withheld - self._reported
        if new > 0:
            first = self._reported == 0
            self._reported = self.withheld
            values = "secret value was" if new == 1 else "secret values were"
            lines.append(f"{new}{'' if first else ' more'} {values} withheld from the model.")
        if self.unscanned and not self._unscanned_reported:
            self._unscanned_reported = True
            columns = ", ".join(f"{variable}[{column!r}]" for variable, column in self.unscanned)
            lines.append(f"Too long to check for secrets in time, so masked whole in the tables the "
                         f"model is sent: {columns}.")
        return " ".join(lines) or None


def _length(item) -> int:
    if isinstance(item, list):
        return sum(len(part) for part in item if isinstance(part, str))
    return len(item) if isinstance(item, str) else 0


def _without_big_rich(output):
    """An output without its rich entries longer than RICH_LIMIT (see redact_outputs)."""
    data = output.get("data") if isinstance(output, dict) else None
    if not isinstance(data, dict):
        return output
    big = [mime for mime, item in data.items() if mime != "text/plain" and not str(mime).startswith("image/")
           and mime not in _BINARY and _length(item) > RICH_LIMIT]
    if not big:
        return output
    metadata = dict(output.get("metadata") or {})
    metadata["codeact"] = {**(metadata.get("codeact") or {}), "left_out": big}
    return {**output, "data": {m: item for m, item in data.items() if m not in big}, "metadata": metadata}


NO_REDACTION = Redactor(enabled=False)
