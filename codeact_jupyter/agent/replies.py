"""Turning a model's reply into a thought, one code step, a final answer, or a problem the
model is told about.

Real replies are messy: the closing ``</execute>`` is usually missing (servers drop the
matched stop string), models not trained on the tags write ```python fences, some wrap
the code in both, some send several blocks at once, some answer in ``<solution>`` tags,
and some send nothing at all. Only the first code block runs; the reply kept in the
transcript is normalised to what was run, so the model sees a well-formed history.

The rules, in order:

1. An ``<execute>`` block that comes before any ``<solution>`` is the action. Empty, or
   holding a non-Python fence, it runs nothing: the model is told why (a ``Problem``).
2. A ``<solution>`` is the answer; code inside it, fenced or tagged, never runs.
3. Otherwise the first Python (or language-less) fence is the action. Fences in other
   languages (bash, json, sql, ...) are examples, and their closing ``` never opens a
   new block.
4. Anything else is the answer.

Before any of these, the model's thinking is taken out (reasoning.py): code inside a
``<think>`` block is a draft, never a step, and thinking is never part of the answer. Tool
calls written as text (``<tool_call>`` JSON, tool_calls.py) come before rule 1.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .fences import Fence, find_fences, is_python
from .reasoning import split_reasoning
from .tool_calls import ToolCall, text_tool_calls

EXECUTE_OPEN = "<execute>"
EXECUTE_CLOSE = "</execute>"

# The closing tag may be missing, or cut anywhere when the reply hit a stop string or the
# token limit ("</exec").
_CUT_CLOSE = "|".join(re.escape(EXECUTE_CLOSE[:n]) for n in range(1, len(EXECUTE_CLOSE)))
_EXECUTE = re.compile(rf"<execute\s*>(.*?)(?:</execute\s*>|</execute\b|(?:{_CUT_CLOSE})\s*\Z|\Z)",
                      re.S | re.I)
_STRAY_TAG = re.compile(r"</?execute\s*>", re.I)  # a lone tag is not part of an answer
_SOLUTION = re.compile(r"<solution\s*>(.*?)(?:</solution\s*>|\Z)", re.S | re.I)


@dataclass(frozen=True)
class Problem:
    """A reply that tried to act but cannot run: what the model reads, what the user sees."""

    for_model: str
    for_user: str


EMPTY_ACTION = Problem(
    "Your <execute> block was empty, so nothing ran. Put the Python code to run inside "
    "<execute></execute>, or answer the task in plain words without an <execute> block.",
    "The model sent an empty <execute> block; it was told, and nothing ran.")


def non_python_action(language: str) -> Problem:
    return Problem(
        f"Your <execute> block holds a ```{language} block; only Python runs here, so nothing "
        "ran. Write Python inside <execute></execute> (shell commands as `!command` lines).",
        f"The model put a ```{language} block inside <execute>; it was told that only Python "
        "runs, and nothing ran.")


@dataclass(frozen=True)
class Reply:
    """One parsed reply. Exactly one of ``code``, ``answer`` and ``problem`` is set."""

    thought: str
    code: str | None = None
    answer: str | None = None
    problem: Problem | None = None
    block: str = ""  # with a problem: the block as the model wrote it, for the transcript
    reasoning: str = ""  # the thinking taken out of the text (reasoning.py), shown, never run
    reasoning_unclosed: bool = False  # a thinking block ran to the end (cut mid-thought)
    # Tool calls the model wrote as text (Hermes/Qwen ``<tool_call>``, tool_calls.py).
    tool_calls: tuple[ToolCall, ...] = ()
    text: str = ""  # the reply without its thinking

    @property
    def is_empty(self) -> bool:
        return (self.code is None and self.problem is None and not self.tool_calls
                and not (self.answer or "").strip())

    @property
    def only_reasoned(self) -> bool:
        return self.is_empty and bool(self.reasoning)

    def transcript_text(self) -> str:
        """The assistant message as it goes back into the transcript."""
        thought = f"{self.thought}\n" if self.thought else ""
        if self.problem is not None:
            block = f"{self.block}\n" if self.block else ""
            return f"{thought}{EXECUTE_OPEN}\n{block}{EXECUTE_CLOSE}"
        if self.code is None:
            return self.answer or ""
        return f"{thought}{EXECUTE_OPEN}\n{self.code}\n{EXECUTE_CLOSE}"


def parse_reply(text: str) -> Reply:
    split = split_reasoning(text)
    calls, thought = text_tool_calls(split.text)
    execute = _EXECUTE.search(split.text)
    if calls and (execute is None or execute.start() > len(thought)):
        reply = Reply(thought=thought, tool_calls=calls, text=split.text)
    else:
        reply = _parse(split.text)
    return replace(reply, reasoning=split.reasoning, reasoning_unclosed=split.unclosed,
                   text=split.text)


def _parse(text: str) -> Reply:
    solution = _SOLUTION.search(text)
    solution_at = solution.start() if solution else len(text)
    execute = _EXECUTE.search(text)
    if execute and execute.start() < solution_at:
        return _execute_block(text[: execute.start()].strip(), execute.group(1))
    if solution is None:
        for fence in find_fences(text):
            if is_python(fence.language) and fence.body.strip():
                return Reply(thought=text[: fence.start].strip(), code=fence.body.strip("\n"))
        return Reply(thought="", answer=_STRAY_TAG.sub("", text).strip())
    return Reply(thought=text[: solution.start()].strip(), answer=_shown_as_code(solution.group(1).strip()))


def _execute_block(thought: str, inner: str) -> Reply:
    block = inner.strip("\n").rstrip()
    if not block.strip():
        return Reply(thought=thought, problem=EMPTY_ACTION, block="")
    fence = _whole_fence(block)
    if fence is None:
        return Reply(thought=thought, code=block)
    if not is_python(fence.language):
        return Reply(thought=thought, problem=non_python_action(fence.language), block=block)
    code = fence.body.strip("\n").rstrip()
    if not code.strip():
        return Reply(thought=thought, problem=EMPTY_ACTION, block=block)
    return Reply(thought=thought, code=code)


def _whole_fence(block: str) -> Fence | None:
    """The fence that makes up the whole of an <execute> block, if it is one."""
    stripped = block.strip()
    fences = find_fences(stripped)
    if len(fences) == 1 and fences[0].start == 0 and fences[0].end >= len(stripped.rstrip()):
        return fences[0]
    return None


def _shown_as_code(answer: str) -> str:
    """<execute> blocks inside a <solution> are part of the answer: show them as code."""
    return _EXECUTE.sub(lambda m: f"\n```python\n{m.group(1).strip()}\n```\n", answer).strip()
