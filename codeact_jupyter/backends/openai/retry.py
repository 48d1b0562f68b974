"""Waiting for a busy OpenAI-compatible server (HTTP 429, 503, ...): how long, and the line
that tells the user why nothing comes meanwhile. The SDK's own retries are turned off: they
sleep in silence, up to two minutes for a long Retry-After.
"""
from __future__ import annotations

import email.utils
import math
import random
import time
from typing import Any

RETRY_STATUSES = {408, 409, 429} | set(range(500, 600))
MAX_WAIT = 120.0   # seconds; a server asking for longer is not waited for (the SDK's own cap)
NOTICE_WAIT = 1.0  # shorter waits pass unannounced


def retry_wait(exc: Any, attempt: int, max_retries: int) -> float | None:
    """Seconds to wait before trying again, or None when not to try again."""
    if attempt >= max_retries or exc.status_code not in RETRY_STATUSES:
        return None
    asked = retry_after(exc)
    if asked is not None:
        return None if asked > MAX_WAIT else max(asked, 0.0)
    return min(0.5 * 2 ** attempt, 8.0) * (1 - 0.25 * random.random())


def retry_after(exc: Any) -> float | None:
    """The server's Retry-After (or retry-after-ms), in seconds, if it sent one."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
            return None if math.isnan(seconds) else seconds
        except ValueError:
            pass
        try:  # Retry-After may also be an HTTP date
            return email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return None


def waiting_reason(exc: Any, wait: float, url: str, said: str) -> str:
    """The line shown while waiting; ``said`` is the server's message, formatted."""
    why = (f"Rate limited by {url} (HTTP 429{said})" if exc.status_code == 429
           else f"The model server at {url} is busy (HTTP {exc.status_code}{said})")
    asked = " as it asks" if retry_after(exc) is not None else ""
    return (f"{why}: waiting {duration(wait)}{asked}, then trying again. "
            "Press Stop (interrupt the kernel) to give up.")


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
