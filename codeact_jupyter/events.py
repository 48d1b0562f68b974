"""What the loop yields: plain, frozen data. Views (the magic's display, the JupyterLab
bridge, tests) consume these; the loop never renders anything itself.

``to_dict()`` gives the JSON form sent to the browser: ``{"type": "<snake_name>", ...fields}``.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    def to_dict(self) -> dict[str, Any]:
        return {"type": event_type(self), **asdict(self)}


def event_type(event: Event) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(event).__name__).lower()


@dataclass(frozen=True)
class TaskStarted(Event):
    run_id: str
    task: str
    backend: str  # the backend's one-line description: model, device, context
    conversation_id: str = ""  # tasks of one conversation share it (conversation.py)


@dataclass(frozen=True)
class TurnStarted(Event):
    turn: int  # 1-based


@dataclass(frozen=True)
class TextDelta(Event):
    text: str


@dataclass(frozen=True)
class ThinkingDelta(Event):
    """Reasoning the endpoint streams apart from the reply's text (``reasoning_content``)."""

    text: str


@dataclass(frozen=True)
class Thinking(Event):
    """A reply's reasoning (agent/reasoning.py), once the reply is in: shown collapsed,
    never run, never the answer. ``cut``: the token limit ended it mid-thought."""

    turn: int
    text: str
    chars: int
    cut: bool = False


@dataclass(frozen=True)
class CodeAction(Event):
    """The model proposed a step; it is about to run (or to be confirmed)."""

    step: int  # 1-based
    code: str
    thought: str = ""


@dataclass(frozen=True)
class Observation(Event):
    """A step ran (or was skipped, or timed out). ``text`` is what the model will read;
    ``outputs`` are the step's nbformat outputs, for views that rebuild a real cell."""

    step: int
    code: str
    text: str
    status: str  # "ok" | "error" | "timeout" | "skipped"
    outputs: list[dict] = field(default_factory=list)
    execution_count: int | None = None
    # NamespaceChanges.to_dict(): names defined, changed, deleted, files written; None
    # where nothing changed.
    changes: dict | None = None


@dataclass(frozen=True)
class TurnStats(Event):
    turn: int
    prompt_tokens: int | None
    evaluated_tokens: int | None
    generated_tokens: int | None
    tokens_per_second: float | None
    # "stop", "length" (cut at the token limit), "cancelled", or None where unknown.
    finish_reason: str | None = None


@dataclass(frozen=True)
class Notice(Event):
    """Something the user should know that is not an error (context trimmed, model loaded)."""

    text: str


@dataclass(frozen=True)
class ReadingPrompt(Event):
    """The model reads ``tokens`` new prompt tokens before it writes (a local model): said
    while it lasts, in place of a silence; the turn's text replaces it."""

    tokens: int


@dataclass(frozen=True)
class Answer(Event):
    text: str  # Markdown
    cut: bool = False  # the reply hit the token limit: the answer may be incomplete


@dataclass(frozen=True)
class Error(Event):
    message: str


@dataclass(frozen=True)
class Done(Event):
    # "answered" | "turn_limit" | "stopped" | "error" | "out_of_replies"
    reason: str
    turns: int


def with_words(event: Event, words) -> Event:
    """``event`` with the text a person reads (an error's message, a notice's text) passed
    through ``words``: a view words our advice for where it appears (lab/panel_words.py,
    cli/command_words.py). Other events, and what the model wrote, pass unchanged."""
    from dataclasses import replace

    if isinstance(event, Error):
        return replace(event, message=words(event.message))
    if isinstance(event, Notice):
        return replace(event, text=words(event.text))
    return event
