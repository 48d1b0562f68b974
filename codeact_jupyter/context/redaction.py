"""Secrets never leave the kernel: every text bound for a backend (the notebook context,
the task, each observation, the model's own replies) passes through one ``Redactor``.

It masks, wherever they appear:
- the values of variables (and of environment variables, and of dict entries) whose names
  look secret (``api_key``, ``OPENAI_KEY``, ``db_password``...);
- strings in a well-known credential format (OpenAI, Anthropic, GitHub, AWS, Slack, Google,
  Hugging Face keys, JWTs, PEM private keys, the password of a ``user:password@`` URL);
- the API key the backend itself uses;
- a quoted literal assigned to a secret-looking name (``password = "ab"``), whatever its length.

A masked value becomes ``[redacted: <what it was>]``, so the model can still refer to the
variable by name. A known value shorter than ``MIN_FREE_TEXT`` characters is masked only
where it is the value of a secret name (summaries, assignments): searching ordinary text for
``"ab"`` would mangle it. ``counts()`` says how many distinct values were withheld, by label,
never which.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import islice

_BINARY = {"application/pdf", "application/octet-stream"}
# Values shorter than this are not searched for in free text (see the module docstring).
MIN_FREE_TEXT = 6
ANYWHERE_CHARS = 12  # values this long are masked even inside a longer word
_MAX_VALUES_PER_VARIABLE = 100
_MAX_DEPTH = 4
_MAX_OUT_ENTRIES = 1000

# Word parts that make a name look secret: ``api_key`` -> api, key. Plurals are left out on
# purpose where they usually hold ordinary words (``tokens``, ``keys``).
SECRET_PARTS = {"key", "apikey", "accesskey", "secretkey", "privatekey", "token", "authtoken",
                "accesstoken", "secret", "secrets", "password", "passwd", "passwords", "pwd",
                "credential", "credentials", "cred", "creds", "auth", "authorization", "cookie", "cookies",
                "session", "sessionid"}


def name_parts(name: str) -> list[str]:
    """``OPENAI_API_KEY`` -> openai, api, key; ``dbPassword`` -> db, password."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name))
    return [part.lower() for part in re.split(r"[^A-Za-z]+", spaced) if part]


def looks_secret(name: str) -> bool:
    return any(part in SECRET_PARTS for part in name_parts(name))


@dataclass(frozen=True)
class Detector:
    label: str
    pattern: re.Pattern


# Well-known credential formats, most specific first (Anthropic's keys start with sk- too).
FORMATS = [
    Detector("private key", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)")),
    Detector("Anthropic key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    Detector("OpenAI key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}")),
    Detector("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})")),
    Detector("AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    Detector("Slack token", re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}")),
    Detector("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    Detector("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    Detector("JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
]
# scheme://user:password@host -> only the password goes.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"]+:)(?P<pw>[^\s@/'\"]+)(?=@)")
# name = "literal", "name": "literal", name="literal", env["NAME"] = "literal", name == "literal"
_ASSIGNED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<mid>['\"]?\]?\s*(?:==?|:)\s*(?:[bru]{0,2}))"
                       r"(?P<q>['\"])(?P<val>[^'\"\n]*)(?P=q)")


def _credential_like(value: str) -> bool:
    """An environment variable's value worth hunting for: the desktop's DESKTOP_SESSION=ubuntu
    or SSH_AUTH_SOCK=/tmp/... are not credentials, and masking "ubuntu" everywhere would hurt."""
    return (len(value) >= 8 and not value.startswith("/") and not re.fullmatch(r"[a-z]+", value)
            and not re.search(r"\s", value))


def _mask(label: str) -> str:
    return f"[redacted: {label}]"


@dataclass
class Redactor:
    """Built once per task. ``values`` maps a secret's text to what it is called."""

    values: dict[str, str] = field(default_factory=dict)
    extra: list[Detector] = field(default_factory=list)
    allow: frozenset[str] = frozenset()
    enabled: bool = True
    _withheld: dict[str, str] = field(default_factory=dict)  # value -> label, never shown
    _reported: int = 0
    masks: int = 0  # masks made so far (each occurrence), to count a part's redactions

    @classmethod
    def for_task(cls, namespace: Mapping | None = None, environ: Mapping | None = None,
                 backend_key: str | None = None, patterns: list[str] = (), allow=(),
                 enabled: bool = True) -> Redactor:
        redactor = cls(extra=[Detector("matched a codeact redact pattern", re.compile(p)) for p in patterns],
                       allow=frozenset(allow), enabled=enabled)
        if not enabled:
            return redactor
        for name, value in (environ if environ is not None else os.environ).items():
            if looks_secret(name) and name not in redactor.allow and _credential_like(value):
                redactor._add(value, f"value of environment variable {name}")
        if backend_key:
            redactor._add(backend_key, "the backend's API key")
        # The user's own names first, so a value is called by them rather than by Out[5].
        for name, value in sorted((namespace or {}).items(), key=lambda item: item[0] in ("Out", "In")):
            if isinstance(name, str) and not name.startswith("_") and name not in redactor.allow:
                try:
                    if name == "Out" and isinstance(value, dict):
                        redactor._collect_outputs(value)
                    else:
                        redactor._collect(value, name, looks_secret(name), 0, [0])
                except Exception:  # a user's dict subclass whose items() fails: skip it
                    continue
        return redactor

    def _collect_outputs(self, out: dict) -> None:
        """IPython's output cache: the newest results first, each with its own budget (a
        long session's Out holds thousands; the first hundred are the least likely shown)."""
        for count, value in islice(reversed(list(out.items())), _MAX_OUT_ENTRIES):
            self._collect(value, f"Out[{count}]", False, 1, [0])

    def is_secret_name(self, name: str) -> bool:
        return self.enabled and name not in self.allow and looks_secret(name)

    def withholds(self, name: str) -> bool:
        """For the variable summaries: True when ``name``'s value is left out, which counts
        its values as withheld."""
        if not self.is_secret_name(name):
            return False
        own = f"value of {name}"
        for value, label in self.values.items():
            if label == own or label.startswith(own + "["):
                self._withheld.setdefault(value, label)
        return True

    def _add(self, value, label: str) -> None:
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("utf-8", "replace")
        if isinstance(value, str) and value.strip() and not value.startswith("[redacted:"):
            self.values.setdefault(value, label)

    def _collect(self, value, path: str, secret: bool, depth: int, seen: list[int]) -> None:
        """Strings under a secret name, and under secret-looking keys of any dict."""
        if depth > _MAX_DEPTH or seen[0] >= _MAX_VALUES_PER_VARIABLE:
            return
        if isinstance(value, (str, bytes, bytearray)):
            if secret:
                seen[0] += 1
                self._add(value, f"value of {path}")
        elif isinstance(value, dict):
            for key, item in islice(value.items(), _MAX_VALUES_PER_VARIABLE):
                inner = secret or (isinstance(key, str) and key not in self.allow and looks_secret(key))
                self._collect(item, f"{path}[{key!r}]", inner, depth + 1, seen)
        elif secret and isinstance(value, (list, tuple)):
            for item in value[:_MAX_VALUES_PER_VARIABLE]:
                self._collect(item, path, secret, depth + 1, seen)
        elif type(value).__name__ == "DataFrame" and type(value).__module__.startswith("pandas"):
            self._collect_columns(value, path, seen)

    def _collect_columns(self, frame, path: str, seen: list[int]) -> None:
        """The text in a DataFrame's secret-looking columns (``password``, ``api_key``)."""
        try:
            columns = [c for c in frame.columns if isinstance(c, str) and c not in self.allow
                       and looks_secret(c)]
            for column in columns:
                for item in frame[column].head(_MAX_VALUES_PER_VARIABLE).tolist():
                    self._collect(item, f"{path}[{column!r}]", True, _MAX_DEPTH, seen)
        except Exception:  # an odd frame (duplicate columns...): its summary shows no values
            return

    def redact(self, text: str) -> str:
        if not self.enabled or not text:
            return text
        for detector in FORMATS[:1]:  # a PEM block first: it holds base64 other patterns cut
            text = self._sub(detector.pattern, detector.label, text)
        for value, label in sorted(self.values.items(), key=lambda item: -len(item[0])):
            if len(value) >= MIN_FREE_TEXT and value in text:
                # A short value only as a word of its own ("hunter2" in "hunter2x" may be
                # chance); a long one wherever it stands, glued to other text or not.
                pattern = re.escape(value) if len(value) >= ANYWHERE_CHARS else \
                    r"(?<![A-Za-z0-9])" + re.escape(value) + r"(?![A-Za-z0-9])"
                text = self._sub(re.compile(pattern), label, text, value)
        for detector in FORMATS[1:] + self.extra:
            text = self._sub(detector.pattern, detector.label, text)
        text = _URL_PASSWORD.sub(self._url_password, text)
        return _ASSIGNED.sub(self._assigned, text)

    def redact_outputs(self, outputs: list[dict]) -> list[dict]:
        """A step's nbformat outputs with their text redacted, for what is stored and sent to
        views (last_run().steps, the Observation event, the panel's trace); binary payloads
        (images, PDF) are kept as they are."""
        return self.redact_for_views(outputs)

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
            return value if mime in _BINARY or (mime or "").startswith("image/") and "svg" not in mime \
                else self.redact(value)
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

    def _url_password(self, match: re.Match) -> str:
        if match.group("pw").startswith("[redacted"):
            return match.group(0)
        self.masks += 1
        self._withheld.setdefault(match.group("pw"), "password in a URL")
        return match.group("head") + _mask("password in a URL")

    def _assigned(self, match: re.Match) -> str:
        name, value = match.group("name"), match.group("val")
        if not value or value.startswith("[redacted") or not self.is_secret_name(name):
            return match.group(0)
        label = self.values.get(value, f"value of {name}")
        self.masks += 1
        self._withheld.setdefault(value, label)
        q = match.group("q")
        return f"{name}{match.group('mid')}{q}{_mask(label)}{q}"

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
        """A line for the user when more values were withheld since the last one."""
        new = self.withheld - self._reported
        if new <= 0:
            return None
        first = self._reported == 0
        self._reported = self.withheld
        values = "secret value was" if new == 1 else "secret values were"
        more = "" if first else " more"
        return f"{new}{more} {values} withheld from the model."


NO_REDACTION = Redactor(enabled=False)
