"""The shapes secrets take in text, for redaction.py: credential formats (an OpenAI key, a
Stripe key, a PEM block...) and the places a credential is written beside its name (a
``.env`` line, a YAML or INI entry, a JSON field, an ``Authorization`` header, a URL query
parameter, a connection string).

Each shape is found in one pass, and a shape whose telltale text (``sk-``, ``-----BEGIN``, a
credential word) is absent is not run at all: most text holds none, and an 11 MB output
must not cost seconds. Only the value is masked; the name, the quotes and the rest of the
line stay, so the model still reads what the line was.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator

from .secret_names import is_placeholder, looks_like_credential, name_parts, name_strength


@dataclass(frozen=True)
class Detector:
    """A credential format: ``needles`` are strings one of which any match contains."""
    label: str
    pattern: re.Pattern
    needles: tuple[str, ...] = ()

    def finds(self, text: str) -> bool:
        return not self.needles or any(needle in text for needle in self.needles)


# Well-known credential formats, most specific first (Anthropic's keys start with sk- too).
PEM = Detector("private key", re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)"),
    ("-----BEGIN",))
FORMATS = [
    Detector("Anthropic key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}"), ("sk-ant-",)),
    Detector("OpenAI key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"), ("sk-",)),
    Detector("Stripe key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[0-9a-zA-Z]{10,}"), ("_live_", "_test_")),
    Detector("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})"),
             ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    Detector("GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), ("glpat-",)),
    Detector("AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), ("AKIA", "ASIA")),
    Detector("Slack token", re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}"), ("xox",)),
    Detector("Slack webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,}"),
             ("hooks.slack.com",)),
    Detector("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), ("AIza",)),
    Detector("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}"), ("hf_",)),
    Detector("SendGrid key", re.compile(r"\bSG\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{40,}"), ("SG.",)),
    Detector("Twilio key", re.compile(r"\bSK[0-9a-f]{32}\b"), ("SK",)),
    Detector("npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), ("npm_",)),
    Detector("PyPI token", re.compile(r"\bpypi-AgE[A-Za-z0-9_-]{50,}"), ("pypi-",)),
    # From detect-secrets' plugins (bench/bench_detect_secrets.py): vendors ours lacked.
    Detector("Mailchimp key", re.compile(r"\b[0-9a-f]{32}-us[0-9]{1,2}\b"), ("-us",)),
    Detector("Square token", re.compile(r"\bsq0(?:atp|csp)-[0-9A-Za-z_-]{22,43}"), ("sq0",)),
    Detector("Telegram bot token", re.compile(r"\b\d{8,10}:AA[0-9A-Za-z_-]{33}\b"), (":AA",)),
    Detector("JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), ("eyJ",)),
]
# scheme://user:password@host -> only the password goes.
URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"]+:)(?P<val>[^\s@/'\"]+)(?=@)")

# Words one of which a name that means a credential holds (lower case): no word, no look.
_WORDS = ("pass", "pwd", "secret", "key", "token", "auth", "cookie", "cred", "sig", "bearer", "code=")
_NAME = r"[A-Za-z_][A-Za-z0-9_.-]*"
# name = "literal", "name": "literal", name="literal", env["NAME"] = "literal", name == "literal"
_QUOTED = re.compile(rf"(?P<name>{_NAME})(?P<mid>['\"]?\]?[ \t]*(?:==?|:|=>)[ \t]*(?:[bru]{{0,2}}))"
                     r"(?P<q>['\"])(?P<val>[^'\"\n]*)(?P=q)")
# A value with no quotes, where a config line, a query string or a connection string puts it:
# .env (NAME=value, export NAME=value), YAML (name: value), INI (name = value), URL
# (?api_key=value&...), connection strings (...;Password=value;...).
_BARE = re.compile(rf"(?:^|(?<=[\s?&;'\"]))(?P<name>{_NAME})(?P<mid>[ \t]*[=:][ \t]*)"
                   r"(?P<val>[^\s'\"`,;&()\[\]{}<>]+)(?=[ \t]*(?:[;&\n'\"]|$|#))", re.M)
# ?name=value&... in a URL (found apart: a bare value above may hold the whole URL).
_QUERY = re.compile(r"[?&](?P<name>[A-Za-z_][\w.-]*)=(?P<val>[^&#\s'\"<>]+)")
# Authorization: Bearer abc / Basic dXNlcjpwYXNz / Token abc
_AUTH_HEADER = re.compile(r"(?P<head>\b(?:Authorization|Proxy-Authorization)['\"]?[ \t]*[:=][ \t]*['\"]?"
                          r"(?:Bearer|Basic|Token|Digest|token|bearer)[ \t]+)(?P<val>[A-Za-z0-9._~+/=:-]{8,})", re.I)
# Query parameters that carry a credential in a URL (an Azure SAS ``sig``, a maps ``key``).
_QUERY_NAMES = {"sig", "signature", "key", "token", "code", "auth", "apikey", "access_token", "x-amz-signature",
                "x-amz-credential", "x-amz-security-token", "x-goog-signature"}
# Names that are type annotations or code where a YAML value would stand: password: str.
_CODE_WORDS = {"str", "bytes", "int", "float", "bool", "any", "object", "dict", "list", "none",
               "secretstr", "optional", "self", "cls", "return", "lambda", "not", "and", "or", "is", "in"}


@dataclass(frozen=True)
class Found:
    start: int  # of the value
    end: int
    label: str


def _label(name: str) -> str:
    return f"value of {name.strip('.-_')}"


def _identifier_reference(value: str) -> bool:
    """``password=db_password``, ``token = self.token``: code naming a variable, not a secret."""
    return bool(re.fullmatch(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*", value)) and (
        "." in value or value.lower() in _CODE_WORDS or name_strength(value.rsplit(".", 1)[-1]) is not None
        or any(part in _WORDS for part in name_parts(value)))


def secret_after(name: str, value: str, quoted: bool, op: str = "=", in_query: bool = False) -> bool:
    """Whether ``value``, written beside ``name``, is to be masked (``in_query``: a URL's
    ``?name=value&...``, where ``sig``, ``key`` and ``code`` mean a credential too)."""
    strength = name_strength(name)
    if strength is None and in_query and name.lower() in _QUERY_NAMES:
        strength = "maybe"
    if strength is None or not value or value.startswith("[redacted") or is_placeholder(value):
        return False
    if value.lower() == name.lower() or value.lower() in _CODE_WORDS:
        return False
    if strength == "maybe":
        return looks_like_credential(value) and not (op == ":" and re.fullmatch(r"[A-Z]\w*", value))
    if quoted:
        return not re.search(r"\s", value) and len(value) <= 400
    if op == ":" and re.fullmatch(r"[A-Z]\w*", value):
        return False  # a type annotation: auth: AuthType
    return not _identifier_reference(value) and (looks_like_credential(value) or len(value) >= 4
                                                 or name.isupper())


def named_values(text: str, lowered: str | None = None) -> Iterator[Found]:
    """Values written beside a name that means a credential (the module docstring)."""
    lowered = text.lower() if lowered is None else lowered
    if not any(word in lowered for word in _WORDS):
        return
    for pattern, quoted in ((_QUOTED, True), (_BARE, False)):
        for match in pattern.finditer(text):
            if quoted and text[match.end():match.end() + 3].lstrip().startswith("+"):
                continue  # "__Host-xsrf=" + token: the start of a value, joined in code
            if secret_after(match.group("name"), match.group("val"), quoted, match.group("mid").strip()[-1:]):
                yield Found(match.start("val"), match.end("val"), _label(match.group("name")))
    if "?" in text:
        for match in _QUERY.finditer(text):
            if secret_after(match.group("name"), match.group("val"), False, "=", in_query=True):
                yield Found(match.start("val"), match.end("val"), _label(match.group("name")))
    if "auth" in lowered:
        for match in _AUTH_HEADER.finditer(text):
            if not is_placeholder(match.group("val")) and not match.group("val").startswith("$"):
                yield Found(match.start("val"), match.end("val"), "Authorization header")


def url_passwords(text: str) -> Iterator[Found]:
    if "://" in text:
        for match in URL_PASSWORD.finditer(text):
            value = match.group("val")
            if not value.startswith("[redacted") and not is_placeholder(value) and not value.startswith("$"):
                yield Found(match.start("val"), match.end("val"), "password in a URL")


def replace_spans(text: str, found: list[Found], mask: Callable[[str, str], str]) -> str:
    """``text`` with each found value (not overlapping an earlier one) replaced by
    ``mask(value, label)``."""
    out, end = [], 0
    for item in sorted(found, key=lambda f: (f.start, -f.end)):
        if item.start < end:
            continue
        out += [text[end:item.start], mask(text[item.start:item.end], item.label)]
        end = item.end
    return "".join(out) + text[end:]
