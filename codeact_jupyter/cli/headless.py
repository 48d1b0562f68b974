"""One task run headless: a notebook's cells in a fresh kernel, then the task with the
magic's loop, in that kernel. Shared by ``codeact run`` and ``codeact eval``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .in_kernel import failed_record
from .kernel import HeadlessKernel, call_code

# The settings the command passes on (the rest come from the kernel's config and environment).
SETTING_KEYS = ("backend", "model", "base_url", "max_turns", "timeout", "grammar", "request_timeout",
                "profile")


@dataclass
class TaskOutcome:
    record: dict
    events: list[dict] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.record.get("done_reason") == "answered"

    @property
    def reason(self) -> str:
        """Why the task ended without an answer, in a line."""
        done, error = self.record.get("done_reason"), self.record.get("error")
        words = {"turn_limit": "the turn limit was reached without an answer",
                 "out_of_replies": "the replay ran out of replies",
                 "stopped": "the task was stopped", "error": "the task failed"}
        line = words.get(done, f"the task ended ({done})")
        if not error:
            return line
        from .command_words import in_command_terms  # advice in the command's options

        return f"{line}: {in_command_terms(error)}"


async def run_task(kernel: HeadlessKernel, task: str, settings: dict,
                   on_event: Callable[[dict], None] | None = None, action_mode: str = "code",
                   tools: tuple[str, ...] = ()) -> TaskOutcome:
    """Run ``task`` in ``kernel`` (its cells already ran); events reach ``on_event`` as the
    kernel sends them."""
    events: list[dict] = []

    def take(message: dict) -> None:
        if message.get("kind") == "event":
            events.append(message["event"])
            if on_event is not None:
                on_event(message["event"])

    request = {"task": task, "settings": {k: settings.get(k) for k in SETTING_KEYS},
               "action_mode": action_mode, "tools": list(tools)}
    reply = await kernel.call(call_code("codeact_jupyter.cli.in_kernel", "run_headless", request), take)
    records = reply.of_kind("record")
    if records:
        return TaskOutcome(records[-1]["record"], events)
    # The kernel died or the call failed before the runner could answer.
    why = reply.error or "the kernel sent no result (did it die?)"
    return TaskOutcome(failed_record(f"The task could not run in the kernel: {why}"), events)
