"""The record of one task, kept for inspection: ``codeact_jupyter.last_run()``."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..events import TurnStats


@dataclass
class Step:
    code: str
    observation: str
    status: str
    outputs: list[dict] = field(default_factory=list)
    execution_count: int | None = None
    # What the step did to the user's namespace (namespace_changes.NamespaceChanges:
    # names and type descriptions, never values; .to_dict() is JSON-safe), None where
    # nothing was recorded (a skipped step).
    changes: Any = None


@dataclass
class Run:
    run_id: str
    task: str
    backend: str = ""
    # The conversation this task belongs to (conversation.py); a follow-up shares its id.
    conversation_id: str | None = None
    # Exactly the chat messages sent to the model (OpenAI format), grown turn by turn; a
    # follow-up's begin with the conversation's earlier tasks.
    messages: list[dict] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    # Each reply's reasoning (agent/reasoning.py), shown and traced but never sent back:
    # {"turn", "text", "cut"}.
    thinking: list[dict] = field(default_factory=list)
    answer: str | None = None
    answer_cut: bool = False  # the answer was cut at the token limit
    stats: list[TurnStats] = field(default_factory=list)
    done_reason: str | None = None
    error: str | None = None
    # The task's redaction.Redactor (None before it starts): redacted_counts() reads it.
    redactor: Any = field(default=None, repr=False, compare=False)
    # For the trace (trace.py): the settings without keys, and when it ran.
    settings: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    # A follow-up: the conversation's previous run and the messages it ended with, which
    # begin this run's; a stored trace refers to them instead of copying (trace/lean.py).
    follows: tuple[str, list[dict]] | None = field(default=None, repr=False, compare=False)

    def redacted_counts(self) -> dict[str, int]:
        """How many distinct secret values were withheld from the model, by what they were
        (``{"value of api_key": 1}``); never the values."""
        return self.redactor.counts() if self.redactor is not None else {}

    def replies(self) -> list[str]:
        """This task's replies (a follow-up's transcript also holds the earlier tasks')."""
        from ..backends.messages import content_text
        from .transcript_fit import latest_task_index

        from .tool_calls import ToolCall, as_text

        start = latest_task_index(self.messages)
        # Tool calls sent in their own field are kept as <tool_call> text, which replays.
        return ["\n".join([content_text(m["content"])] + [
                    as_text(ToolCall(c["id"], c["function"]["name"], c["function"]["arguments"]))
                    for c in m.get("tool_calls") or ()]).strip() if m.get("tool_calls")
                else content_text(m["content"])
                for m in self.messages[start:] if m["role"] == "assistant"]

    def step_statuses(self) -> list[str | None]:
        """Per reply, the status of the step it asked for (None for answers, empty replies
        and a step stopped before it ran). Replies pair with steps by their code, in order,
        so a transcript trimmed to fit the context still pairs the replies it kept."""
        from .replies import parse_reply

        statuses: list[str | None] = []
        start = 0
        for reply in self.replies():
            code, status = parse_reply(reply).code, None
            if code is not None:
                match = next((i for i in range(start, len(self.steps)) if self.steps[i].code == code), None)
                if match is not None:
                    status, start = self.steps[match].status, match + 1
            statuses.append(status)
        return statuses

    def save_replay(self, path: str | Path) -> Path:
        """Write this run's model replies, each with its step's status, as a replay file
        (``--backend replay --model PATH``). Replaying it stops where a step fails that
        succeeded here; the format is described in backends/replay_file.py."""
        from ..backends.replay.file import dump_script

        path = Path(path)
        redactor = self.redactor
        redact = redactor.redact if redactor is not None else (lambda text: text)
        code = getattr(redactor, "redact_code", redact)  # the model's replies, as they ran
        replies = [code(reply) for reply in self.replies()]
        path.write_text(dump_script(replies, self.step_statuses(), task=redact(self.task),
                                    backend=self.backend), encoding="utf-8")
        return path


_last: Run | None = None


def last_run() -> Run | None:
    """The most recent task's record, or None before the first task."""
    return _last


def remember(run: Run) -> None:
    global _last
    _last = run
