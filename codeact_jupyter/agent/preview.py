"""What the next task would send, shown before it is sent: ``%codeact context [TASK]``
(magics/context_command.py) and the side panel's manifest.

No model is loaded and no endpoint called: the messages are built by the task's own code
(the same redactor, context parts and first message as ``runner.run_task``) and counted
roughly, about four characters a token.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ..backends.base import approx_tokens
from ..backends.messages import content_text
from ..context.parts import ContextPart, context_parts, render_context
from ..context.source import NotebookSource
from ..context.window import kernel_window
from .settings import TaskSettings

ROUGH = "Token counts are rough (about 4 characters a token): no model was loaded, nothing was sent."
MANIFEST_MIME = "application/vnd.codeact.manifest+json"


@dataclass(frozen=True)
class Manifest:
    system: str
    first_message: str  # the first user message: the context, then the task
    parts: list[ContextPart]
    task: str  # as sent (redacted); "" when none was given
    withheld: int  # distinct secret values masked
    profile: str = ""  # which model profile applies, and why (profiles.py)

    @property
    def tokens(self) -> int:
        return approx_tokens(self.system) + approx_tokens(self.first_message)

    def summary(self) -> str:
        """``Context: 14 cells, 9 variables, 2,310 tokens, 1 secret withheld``."""
        cells = len({p.block for p in self.parts if p.sent and p.kind == "source"})
        variables = sum(1 for p in self.parts if p.sent and p.kind == "variable")
        secrets = "secret" if self.withheld == 1 else "secrets"
        return (f"Context: {_n(cells, 'cell')}, {_n(variables, 'variable')}, {self.tokens:,} tokens, "
                f"{self.withheld} {secrets} withheld")

    def as_text(self) -> str:
        lines = [self.summary(), *([self.profile] if self.profile else []), ROUGH, "", _rule(f"system prompt · {approx_tokens(self.system):,} tokens"),
                 self.system, "", _rule("first message, part by part")]
        for part in self.parts:
            lines.append(_rule(_describe(part)))
            if part.sent:
                lines.append(part.text)
        task = f"Task: {self.task}" if self.task else "Task: (the task you write)"
        lines += [_rule(f"task · {approx_tokens(task):,} tokens"), task]
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {"summary": self.summary(), "profile": self.profile, "rough": ROUGH, "tokens": self.tokens,
                "withheld": self.withheld, "system_tokens": approx_tokens(self.system),
                "parts": [asdict(p) for p in self.parts]}


def build_manifest(source: NotebookSource, task: str, settings: TaskSettings) -> Manifest:
    """The messages the next task would start with, as ``agent.task.run_task`` builds them."""
    from .loop import CodeActLoop
    from .run import Run
    from .task import task_redactor

    redactor = task_redactor(source.shell, settings, source)
    run = Run(run_id="manifest", task=redactor.redact(task.strip()))
    # A copy of the task's cell window (context_window.py): looking must not move it.
    window = replace(kernel_window("document" if source.from_document else "history"))
    parts = context_parts(source, rough_budget(settings), approx_tokens, redactor, settings.context,
                          settings.context_exclude, window)
    # The loop's own first messages; building them needs neither the backend nor the kernel.
    loop = CodeActLoop(None, None, settings, run, redactor=redactor)
    loop.start_messages(render_context(parts))
    # A profile may put the instructions in the first user message (profiles.py).
    system = run.messages[0]["content"] if run.messages[0]["role"] == "system" else ""
    first = run.messages[-1]["content"]
    return Manifest(system, first, parts, run.task, redactor.withheld, loop.chosen.line())


def rough_budget(settings: TaskSettings) -> int:
    """``runner.context_budget`` without loading the model: a local model's window is taken
    as its cap (``context_size``); the GGUF's own may be smaller."""
    size = settings.backend_config.extras.get("n_ctx_cap") if settings.backend == "llama" else None
    if not size:
        return settings.context_budget
    return max(0, min(settings.context_budget, (size - settings.backend_config.max_tokens) // 3))


def follow_up_text(source: NotebookSource, task: str, settings: TaskSettings) -> str | None:
    """What ``%%codeact -c TASK`` would send: the conversation so far (already sent, listed a
    line a message) and the new message, in full. None when there is nothing to continue."""
    from ..context.parts import names_a_follow_up_may_miss, shared_for_follow_up
    from .conversation import continuation, last_conversation
    from .task import task_redactor

    conversation = last_conversation()
    if conversation is None or not conversation.messages:
        return None
    redactor = task_redactor(source.shell, settings, source)
    cells, variables = shared_for_follow_up(source, settings.context, settings.context_exclude,
                                            redactor.withholds)
    *earlier, last = continuation(conversation, cells, variables, redactor.redact(task.strip()),
                                  rough_budget(settings), approx_tokens,
                                  present=names_a_follow_up_may_miss(source, settings.context,
                                                                     settings.context_exclude),
                                  cells_shared=settings.context in ("all", "cells"))
    message = redactor.redact(last["content"])
    sent = sum(approx_tokens(content_text(m["content"])) for m in earlier)
    secrets = "secret" if redactor.withheld == 1 else "secrets"
    lines = [f"Follow-up of conversation {conversation.conversation_id}: {_n(len(earlier), 'earlier message')} "
             f"({sent:,} tokens, sent before and unchanged), then {approx_tokens(message):,} new tokens, "
             f"{redactor.withheld} {secrets} withheld", ROUGH, "", _rule("the conversation so far")]
    lines += [f"{m['role']} · {approx_tokens(content_text(m['content'])):,} tokens" for m in earlier]
    lines += [_rule("the new message"), message]
    return "\n".join(lines)


def panel_manifest(shell, request: dict, settings: TaskSettings) -> dict:
    """The manifest for a side panel request (the same shape as ``panel.run_panel_task``'s),
    with the settings the panel resolved for it."""
    manifest = build_manifest(NotebookSource.of(shell, request.get("notebook")),
                              str(request.get("task") or ""), settings)
    return manifest.as_json()


def _describe(part: ContextPart) -> str:
    name = part.label or part.kind
    what = [name] if part.kind in ("note", "variable") or part.label.endswith("output") else [name, part.kind]
    if not part.sent:
        return " · ".join(what + [f"not sent: {part.cut}"])
    what.append(f"{part.tokens:,} tokens")
    if part.cut:
        what.append(part.cut)
    if part.redacted:
        what.append(f"{part.redacted} {'value' if part.redacted == 1 else 'values'} redacted")
    return " · ".join(what)


def _rule(title: str) -> str:
    return f"── {title} ──"


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"
