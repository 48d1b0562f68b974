"""What the model reads after a step: the step's outputs as text, cut to a limit.

Rich outputs (images, HTML) are named by a short placeholder: text-only models cannot
see them, but they should know the user can.
"""
from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
NOTHING_PRINTED = "[The code ran successfully and printed nothing.]"


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def truncate_middle(text: str, limit: int) -> str:
    """Keep the head and the tail of ``text`` within ``limit`` characters, marking the cut."""
    if limit <= 0 or len(text) <= limit:
        return text
    half = limit // 2
    cut = len(text) - 2 * half
    return f"{text[:half]}\n[... {cut:,} characters cut ...]\n{text[-half:]}"


def output_text(output: dict) -> str:
    """One nbformat output as text for the model."""
    kind = output.get("output_type")
    if kind == "stream":
        return strip_ansi(_joined(output.get("text", "")))
    if kind == "error":
        return strip_ansi("\n".join(output.get("traceback") or
                                    [f"{output.get('ename')}: {output.get('evalue')}"]))
    if kind in ("execute_result", "display_data"):
        return _rich_text(output.get("data", {}))
    return ""


def _rich_text(data: dict) -> str:
    plain = strip_ansi(_joined(data.get("text/plain", "")))
    rich = [mime for mime in data if mime != "text/plain"]
    images = [mime for mime in rich if mime.startswith("image/")]
    if images:
        described = f": {plain}" if plain else ""
        return f"[{images[0]} image shown to the user{described}]"
    if plain and not _is_opaque_repr(plain):
        return plain
    if rich:
        return f"[{rich[0]} output shown to the user]"
    return plain


def _is_opaque_repr(text: str) -> bool:
    # e.g. "<IPython.core.display.HTML object>": says nothing the placeholder does not.
    return bool(re.fullmatch(r"<[\w.]+ object( at 0x[0-9a-f]+)?>", text.strip()))


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def format_observation(outputs: list[dict], status: str, limit: int, timeout: float | None = None) -> str:
    """The observation message for one step."""
    if status == "skipped":
        return "Observation:\n[The user declined to run this step. Do not retry it unchanged.]"
    parts = [text for text in (output_text(o) for o in outputs) if text]
    body = "\n".join(part.rstrip("\n") for part in parts) if parts else ""
    if status == "timeout":
        body = truncate_middle(body, limit)
        note = (f"[The step was stopped after {timeout:g} s: it ran past the time limit. "
                "Try a faster approach or a smaller piece of the data.]")
        return f"Observation:\n{body}\n{note}" if body else f"Observation:\n{note}"
    if not body:
        body = NOTHING_PRINTED
    return f"Observation:\n{truncate_middle(body, limit)}"
