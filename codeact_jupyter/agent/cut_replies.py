"""Replies cut at the token limit (``finish_reason == "length"``).

A code block that never closed is not run: half a step would do half of something, and the
model is told to write a shorter one. A cut answer is shown, marked as cut.
"""
from __future__ import annotations

_CLOSERS = ("</execute", "```")


def code_was_closed(text: str, code: str) -> bool:
    """Did the reply close the block holding ``code`` (a ``</execute>`` or a closing fence
    after it)? A block closed by a stop text was complete even if the reply went on."""
    start = text.find(code)
    after = text[start + len(code):] if start >= 0 else ""
    return any(closer in after for closer in _CLOSERS)


def cut_code_observation(max_tokens: int) -> str:
    return (f"Observation:\n[Your reply reached the limit of {max_tokens} tokens before its "
            "code block ended, so the code was not run. Write a shorter step, or split the "
            "work into several steps.]")


def cut_notice(max_tokens: int, code: bool) -> str:
    raise_it = (f"raise the limit if this repeats (`%config CodeActMagics.max_tokens = "
                f"{max_tokens * 2}`)")
    if code:
        return (f"The reply was cut at the token limit ({max_tokens}) before its code ended; "
                f"the code was not run and the model was asked for a shorter step. You can {raise_it}.")
    return f"The answer above was cut at the token limit ({max_tokens}); {raise_it}."
