"""Is anything listening at the model's endpoint? Asked once before ``codeact eval`` starts
its kernels, so that an outage is said as one, not scored as a model that failed every task."""
from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

PROBE_SECONDS = 5.0  # a connection that takes longer counts as nothing listening


def endpoint_of(settings: dict) -> str | None:
    """The OpenAI-compatible URL these settings talk to, when it is known here."""
    url = settings.get("base_url")
    if not url and settings.get("backend") == "openai":
        url = os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
    return url or None


def unreachable(url: str, seconds: float = PROBE_SECONDS) -> str | None:
    """Why nothing can be reached at ``url`` (a sentence), or None when a connection opens."""
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url} is not an http(s) URL (e.g. http://127.0.0.1:8080/v1)"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=seconds):
            return None
    except socket.timeout:
        return f"nothing answered at {url} within {seconds:g} s"
    except OSError as exc:
        return f"nothing listens at {url} ({exc.strerror or exc})"
