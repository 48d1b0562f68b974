"""Turning a model's reply into a thought, one code step, or a final answer.

Real replies are messy: the closing ``</execute>`` is usually missing (servers drop the
matched stop string), models not trained on the tags write ```python fences, some wrap
the code in both, some send several blocks at once, some answer in ``<solution>`` tags,
and some send nothing at all. Only the first code block runs; the reply kept in the
transcript is normalised to what was run, so the model sees a well-formed history.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

EXECUTE_OPEN = "<execute>"
EXECUTE_CLOSE = "</execute>"

_EXECUTE = re.compile(r"<execute\s*>(.*?)(?:</execute\s*>|</execute|</?\s*$|\Z)", re.S | re.I)
_FENCE = re.compile(
    r"```[ \t]*(?:python3?|py|ipython|jupyter)?[ \t]*\n(.*?)(?:\n[ \t]*```|\Z)", re.S | re.I
)
_SOLUTION = re.compile(r"<solution\s*>(.*?)(?:</solution\s*>|\Z)", re.S | re.I)
_INNER_FENCE = re.compile(r"^\s*```[ \t]*(?:python3?|py|ipython)?[ \t]*\n(.*?)\n?[ \t]*```\s*$", re.S | re.I)


@dataclass(frozen=True)
class Reply:
    """One parsed reply. Exactly one of ``code`` and ``answer`` is set."""

    thought: str
    code: str | None = None
    answer: str | None = None

    @property
    def is_empty(self) -> bool:
        return self.code is None and not (self.answer or "").strip()

    def transcript_text(self) -> str:
        """The assistant message as it goes back into the transcript."""
        if self.code is None:
            return self.answer or ""
        thought = f"{self.thought}\n" if self.thought else ""
        return f"{thought}{EXECUTE_OPEN}\n{self.code}\n{EXECUTE_CLOSE}"


def parse_reply(text: str) -> Reply:
    match = _EXECUTE.search(text)
    if match:
        code = _strip_inner_fence(match.group(1))
        if code.strip():
            return Reply(thought=text[: match.start()].strip(), code=code)
        # An empty <execute></execute> is not an action; fall through to the answer.
    # Only language-less or python-ish fences are actions; ```bash or ```json are examples.
    fence = _FENCE.search(text)
    if fence:
        code = fence.group(1).strip("\n")
        if code.strip():
            return Reply(thought=text[: fence.start()].strip(), code=code)
    solution = _SOLUTION.search(text)
    if solution:
        return Reply(thought=text[: solution.start()].strip(), answer=solution.group(1).strip())
    return Reply(thought="", answer=_EXECUTE.sub("", text).strip())


def _strip_inner_fence(code: str) -> str:
    inner = _INNER_FENCE.match(code)
    if inner:
        code = inner.group(1)
    return code.strip("\n").rstrip()
