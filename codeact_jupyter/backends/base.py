"""The backend seam: something that streams a reply for a list of chat messages.

A backend is a small class. The loop calls ``stream(messages, stop)`` once per turn
and reads ``last_usage`` afterwards. Backends import their heavy libraries lazily,
inside ``__init__`` or ``stream``, never at module import.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, runtime_checkable

from ..errors import TaskError

Message = dict  # {"role": "system" | "user" | "assistant", "content": str}


@dataclass(frozen=True)
class BackendConfig:
    """Everything a backend may need, resolved from magic arguments, traitlets config and env."""

    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    temperature: float = 0.0
    max_tokens: int = 1024
    request_timeout: float = 120.0
    # Backend-specific knobs (llama: n_ctx cap, n_gpu_layers, grammar...), kept as plain data.
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    """Figures for one turn. ``evaluated_tokens`` is what the backend really had to read
    (prompt tokens minus those reused from a cache); None where a backend cannot tell."""

    prompt_tokens: int | None = None
    evaluated_tokens: int | None = None
    generated_tokens: int | None = None
    seconds: float | None = None
    # Of ``seconds``, the part spent reading the prompt, where the backend can tell.
    prompt_seconds: float | None = None
    # Why the reply ended: "stop" (end of turn or a stop text), "length" (cut at the token
    # limit), "cancelled" (the user stopped it); None where a backend cannot tell.
    finish_reason: str | None = None

    @property
    def tokens_per_second(self) -> float | None:
        """Decoding speed. Where the prompt's time is known it is left out, and so is the
        first token, which came out with the prompt. None for replies too short to time
        (a rate from two tokens a few microseconds apart means nothing)."""
        if self.prompt_seconds is None:
            tokens, seconds = self.generated_tokens or 0, self.seconds or 0
        else:
            tokens, seconds = (self.generated_tokens or 0) - 1, (self.seconds or 0) - self.prompt_seconds
        if tokens < MIN_TIMED_TOKENS or seconds < MIN_TIMED_SECONDS:
            return None
        return tokens / seconds


MIN_TIMED_TOKENS = 4
MIN_TIMED_SECONDS = 0.001


@dataclass(frozen=True)
class Waiting:
    """What ``stream`` may yield, in place of text, just before a backend waits (a rate
    limit's Retry-After, a server still loading its model): the loop shows ``reason`` to the
    user at once, so a long silence is explained. Backends that never wait never yield one."""

    reason: str


@dataclass(frozen=True)
class Reading:
    """What ``stream`` yields, to a caller that asked with ``reading=True`` (a backend with
    ``reports_reading``), before a long read of the prompt: how many new tokens the model
    reads before it writes (a local model on a CPU may read for a minute)."""

    tokens: int


@dataclass(frozen=True)
class ThinkingText:
    """What ``stream`` may yield for reasoning an endpoint sends apart from the reply's text
    (``reasoning_content`` / ``reasoning`` deltas): shown as thinking, never parsed."""

    text: str


@dataclass(frozen=True)
class CalledTool:
    """What ``stream`` yields, after the text, for each tool call the endpoint sent in its
    own field (OpenAI ``tool_calls``): whole, its streamed pieces joined."""

    id: str
    name: str
    arguments: str  # JSON text, as sent


class BackendError(TaskError):
    """A fatal backend problem, worded for the person who must fix it.

    The loop stops the task and shows ``str(error)``; no traceback from our internals."""


class OutOfReplies(BackendError):
    """A scripted backend has no reply left for this turn: the task ends, not as a failure."""


@runtime_checkable
class Backend(Protocol):
    name: str
    # Set after each ``stream`` completes (or None when the backend has no figures).
    last_usage: Usage | None
    # Known context window in tokens, or None (remote endpoints usually do not say).
    context_size: int | None

    def describe(self) -> str:
        """One line for the start of a task: what model, where, how."""

    def stream(self, messages: list[Message], stop: list[str]) -> Iterator[str | Waiting]:
        """Yield text chunks of the assistant's reply (and a ``Waiting`` before any long
        wait; ``ThinkingText`` and ``CalledTool`` where the server sends those apart). Raise
        BackendError for fatal problems. The matched stop string is not part of the text
        (like OpenAI-compatible servers). The loop passes ``tools=[...]`` (OpenAI tool
        declarations) only with ``--actions tools``, to backends with ``declares_tools``."""

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text``; backends without a tokenizer use ``approx_tokens``."""


@runtime_checkable
class WatchesSteps(Protocol):
    """Optional, for backends that care what the steps did (the replay checks each step
    against its recording). The loop calls ``after_step`` after each step that ran or was
    skipped, before the next turn; backends without the method are never asked."""

    def after_step(self, number: int, status: str, outputs: list[dict]) -> str | None:
        """``number`` is 1-based, ``status`` the step's ("ok", "error", "timeout",
        "skipped", "interrupted"), ``outputs`` its nbformat outputs. Return a line for the
        user (shown as a notice) or None; raise BackendError to end the task with it."""


def approx_tokens(text: str) -> int:
    """A tokenizer-free estimate (about four characters a token for English and code)."""
    return (len(text) + 3) // 4
