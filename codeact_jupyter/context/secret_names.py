"""Which names mean a credential, and which values look like one (redaction.py's rules).

A name is split into its parts (``OPENAI_API_KEY`` -> openai, api, key; ``dbPassword`` ->
db, password), and only whole parts count: ``key``, ``session``, ``auth``, ``token_count``,
``KeyError``, ``PASSENV`` and ``monkey`` are ordinary names. Two strengths:

- ``credential``: the name says it holds one (``password``, ``api_key``, ``client_secret``):
  its value is secret whatever it looks like;
- ``maybe``: the name often holds one (``token``, ``GITHUB_TOKEN``, ``OPENAI_KEY``, ``auth``,
  ``cookie``): its value counts only when it looks like a credential (``looks_like_credential``),
  so ``eos_token = "</s>"`` and ``SORT_KEY = "date"`` stay as they are.
"""
from __future__ import annotations

import math
import re
from collections import Counter

# Parts that mean a credential wherever they stand in a name.
CREDENTIAL_PARTS = {"password", "passwd", "passwords", "passphrase", "secret", "secrets",
                    "apikey", "apikeys", "secretkey", "privatekey", "accesskey", "accesstoken",
                    "authtoken", "refreshtoken", "clientsecret", "apitoken", "accountkey",
                    "sharedaccesskey", "sastoken", "bearertoken", "sessiontoken"}
# Two parts in a row that mean one (``api_key``, ``ACCESS_TOKEN``, ``AccountKey``).
CREDENTIAL_PAIRS = {("api", "key"), ("secret", "key"), ("private", "key"), ("access", "key"),
                    ("access", "token"), ("auth", "token"), ("refresh", "token"), ("api", "token"),
                    ("bearer", "token"), ("session", "token"), ("sas", "token"), ("client", "secret"),
                    ("account", "key"), ("signing", "key"), ("encryption", "key"), ("master", "key"),
                    ("session", "cookie"), ("auth", "cookie"), ("app", "password"), ("id", "token")}
# Parts that often hold a credential: the value must look like one too.
# (``pwd`` is as often the working directory; ``sig`` and ``signature`` only count in a URL.)
MAYBE_PARTS = {"token", "auth", "authorization", "cookie", "cookies", "credential", "credentials",
               "cred", "creds", "sessionid", "pwd"}
# ``<word>_token`` names of tokenizers and counters, not credentials.
_NOT_CREDENTIAL_BEFORE = {"pad", "eos", "bos", "unk", "sep", "cls", "mask", "start", "end", "special",
                          "next", "last", "first", "input", "output", "max", "min", "num", "n", "new",
                          "csrf", "xsrf", "page", "continuation", "cancel", "cancellation", "text"}
# A last part that makes the name about a credential, not one: TOKEN_URL, password_hint.
_ABOUT = {"url", "uri", "urls", "endpoint", "env", "var", "name", "names", "type", "types", "file",
          "path", "dir", "header", "headers", "field", "fields", "param", "params", "length", "len",
          "size", "prefix", "suffix", "placeholder", "hint", "label", "prompt", "format", "pattern",
          "regex", "method", "methods", "mode", "policy", "scheme", "class", "kind", "expires", "expiry",
          "expiration", "ttl", "timeout", "count", "id", "ids", "required", "enabled", "provider",
          "manager", "store", "handler", "backend", "callback", "error", "exception", "attempts"}
# Values a config or a docstring puts where a credential goes: placeholders, not secrets.
_PLACEHOLDER = re.compile(r"(?i)^(?:x+|\*+|\.+|-+|_+|none|null|nil|true|false|yes|no|on|off|"
                          r"<[^>]*>|\$\{?\w+\}?|%\(?\w+\)?s?|\{\{?[^}]*\}?\}|example\w*|dummy\w*|"
                          r"foo|bar|baz|abc|\d+|"
                          # my-secret, your_api_key_here, fake-token, change_me
                          r"(?:(?:my|your|the|some|a|an|secret|password|passwd|pass|pwd|key|token|api|access|"
                          r"here|xxx|example|sample|test|testing|dummy|fake|changeme|change|me|placeholder|"
                          r"value|redacted|hidden|s3cr3t|insert|put|enter|goes|private|client|auth)[-_.]?)+)$")


def name_parts(name: str) -> list[str]:
    """``OPENAI_API_KEY`` -> openai, api, key; ``dbPassword`` -> db, password."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name))
    return [part.lower() for part in re.split(r"[^A-Za-z]+", spaced) if part]


def name_strength(name: str) -> str | None:
    """"credential", "maybe" or None (see the module docstring)."""
    parts = name_parts(name)
    if not parts or "public" in parts or parts[-1] in _ABOUT:  # public_key, TOKEN_URL, auth_token_env
        return None
    if any(part in CREDENTIAL_PARTS for part in parts) or any(pair in CREDENTIAL_PAIRS for pair in zip(parts, parts[1:])):
        return "credential"
    last = parts[-1]
    if last in MAYBE_PARTS and not (len(parts) > 1 and parts[-2] in _NOT_CREDENTIAL_BEFORE):
        return "maybe"
    if last == "key" and len(parts) > 1 and re.fullmatch(r"[A-Z0-9_]+", str(name)):
        return "maybe"  # OPENAI_KEY, STRIPE_KEY: an environment-style constant
    return None


def looks_secret(name: str) -> bool:
    return name_strength(name) is not None


def is_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.match(value.strip()))


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def looks_like_credential(value: str) -> bool:
    """A string shaped like a key, token or password: 8 to 4,096 characters with no space,
    not a path, a URL, a number or a dotted name, mixing at least two kinds of character
    (letters of both cases, digits, symbols), and not repetitive (entropy)."""
    value = value.strip()
    if not 8 <= len(value) <= 4096 or re.search(r"\s", value) or is_placeholder(value):
        return False
    if value.startswith(("/", "~", "./", "../", "http:", "https:", "file:")) or re.match(r"[A-Za-z]:\\", value):
        return False
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(?:[.:][A-Za-z_][A-Za-z0-9_]*)+(?:\(\))?", value):
        return False  # numpy.float64, self.token, IPython.core.magics.osm:OSMagics
    if re.fullmatch(r"[a-z]+(?:[_-][a-z]+)*|(?:[A-Z]?[a-z]+|[A-Z]+)+", value):
        return False  # other_custom, RequestsCookieJar: words
    if re.fullmatch(r"[\d.,:+-]+", value):
        return False  # numbers, dates, times
    kinds = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    return kinds >= 2 and entropy(value) >= 2.5
