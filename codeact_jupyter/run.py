"""The record of one task, kept for inspection: ``codeact_jupyter.last_run()``."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .events import TurnStats


@dataclass
class Step:
    code: str
    observation: str
    status: str
    outputs: list[dict] = field(default_factory=list)
    execution_count: int | None = None


@dataclass
class Run:
    run_id: str
    task: str
    backend: str = ""
    # Exactly the chat messages sent to the model (OpenAI format), grown turn by turn.
    messages: list[dict] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    answer: str | None = None
    answer_cut: bool = False  # the answer was cut at the token limit
    stats: list[TurnStats] = field(default_factory=list)
    done_reason: str | None = None
    error: str | None = None

    def replies(self) -> list[str]:
        return [m["content"] for m in self.messages if m["role"] == "assistant"]

    def save_replay(self, path: str | Path) -> Path:
        """Write this run's model replies as a replay file (``--backend replay --model PATH``)."""
        path = Path(path)
        path.write_text(json.dumps(self.replies(), indent=2) + "\n", encoding="utf-8")
        return path


_last: Run | None = None


def last_run() -> Run | None:
    """The most recent task's record, or None before the first task."""
    return _last


def remember(run: Run) -> None:
    global _last
    _last = run
