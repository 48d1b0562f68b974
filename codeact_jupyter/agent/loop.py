"""The CodeAct loop: ask the model, run its code, show it the output, until it answers.

A generator of plain events (events.py); it never renders. The transcript it sends is
append-only within a task, so a local backend reuses its KV cache turn after turn.
"""
from __future__ import annotations

from typing import Callable, Iterator, Protocol

from ..backends.base import Backend, BackendError, OutOfReplies, Waiting
from ..backends.messages import content_text
from ..context.redaction import NO_REDACTION, Redactor
from ..events import (Answer, CodeAction, Done, Error, Event, Notice, Observation, TaskStarted,
                      TextDelta, TurnStarted, TurnStats)
from ..figures.vision import Vision
from ..kernel.executor import StepResult
from ..kernel.outputs_text import format_observation
from .cut_replies import code_was_closed, cut_code_observation, cut_notice
from .prompts import load_prompt
from .replies import EXECUTE_CLOSE, parse_reply
from .run import Run, Step
from .settings import TaskSettings
from .transcript_fit import fit_to_context

# </execute> ends a step; <|im_end|> / <|im_start|> end a ChatML turn for servers that do
# not stop there themselves (CodeActAgent's generation config stops at </s> only).
STOP = [EXECUTE_CLOSE, "<|im_end|>", "<|im_start|>"]
STOPPED = "Task stopped. The steps that ran are kept, and so is everything they defined."
EMPTY_REPLY_NUDGE = ("Observation:\n[Your reply was empty. Either run Python code inside "
                     "<execute></execute>, or answer the task in plain words.]")


class Executor(Protocol):
    def execute(self, code: str, timeout: float | None = None, step: int | None = None) -> StepResult: ...


Confirm = Callable[[str], str]  # code -> "run" | "skip" | "stop"


class CodeActLoop:
    def __init__(self, backend: Backend, executor: Executor, settings: TaskSettings,
                 run: Run, confirm: Confirm | None = None, redactor: Redactor | None = None):
        self.backend = backend
        self.executor = executor
        self.settings = settings
        self.run = run
        self.confirm = confirm
        # Every message passes through it as it is made (redaction.py), so run.messages
        # is exactly what was sent and stays append-only.
        self.redactor = redactor or NO_REDACTION
        self.redact = self.redactor.redact
        self._token_counts: dict[str, int] = {}  # messages never change: count each once
        self.vision = Vision(settings.vision, backend)  # images for a model that sees them
        self._partial: list[str] | None = None  # the reply being streamed, while it streams
        self._turn = 0

    def _count_tokens(self, text: str) -> int:
        if text not in self._token_counts:
            self._token_counts[text] = self.backend.count_tokens(text)
        return self._token_counts[text]

    def start_messages(self, context: str) -> None:
        self.run.messages[:] = [
            {"role": "system", "content": load_prompt("system.md")},
            {"role": "user", "content": self.redact(f"{context}\n\nTask: {self.run.task}")},
        ]

    def continue_messages(self, messages: list[dict]) -> None:
        """A follow-up task: the conversation so far (already sent, so already redacted),
        then the message with what changed and the task."""
        *earlier, last = messages
        self.run.messages[:] = [*earlier, {**last, "content": self.redact(last["content"])}]

    def events(self) -> Iterator[Event]:
        run, settings = self.run, self.settings
        yield TaskStarted(run_id=run.run_id, task=run.task, backend=run.backend,
                          conversation_id=run.conversation_id or "")
        yield from self._withheld_notice()
        for notice in getattr(self.backend, "notices", None) or ():
            yield Notice(notice)
        if self.vision.notice:
            yield Notice(self.vision.notice)
        nudged = False
        for turn in range(1, settings.max_turns + 1):
            yield TurnStarted(turn)
            yield from self._fit_context()
            try:
                text, cut = yield from self._generate(turn)
            except OutOfReplies as exc:
                yield from self._finish("out_of_replies", turn, error=str(exc))
                return
            except BackendError as exc:
                yield from self._finish("error", turn, error=str(exc))
                return
            reply = parse_reply(text)
            if cut and reply.code is not None and not code_was_closed(text, reply.code):
                # Running half a step would do half of something; the model writes it again.
                run.messages += [{"role": "assistant", "content": self.redact(text)},
                                 {"role": "user", "content": cut_code_observation(self._max_tokens)}]
                yield Notice(cut_notice(self._max_tokens, code=True))
                continue
            if reply.is_empty and not nudged:
                nudged = True
                run.messages += [{"role": "assistant", "content": self.redact(text)},
                                 {"role": "user", "content": EMPTY_REPLY_NUDGE}]
                yield Notice("The model sent an empty reply; asking it once more.")
                continue
            run.messages.append({"role": "assistant", "content": self.redact(reply.transcript_text())})
            if reply.problem is not None:  # an action that cannot run: tell the model
                run.messages.append({"role": "user", "content": f"Observation:\n[{reply.problem.for_model}]"})
                yield Notice(reply.problem.for_user)
                continue
            if reply.code is None:
                run.answer = self.redact(reply.answer or "(The model ended the task without an answer.)")
                run.answer_cut = cut
                yield Answer(run.answer, cut=cut)
                if cut:
                    yield Notice(cut_notice(self._max_tokens, code=False))
                yield from self._finish("answered", turn)
                return
            stopped = yield from self._step(reply.code, reply.thought)
            if stopped:
                yield Notice(STOPPED)
                yield from self._finish("stopped", turn)
                return
            if (yield from self._after_step(turn)):
                return
        yield Notice(f"Stopped after {settings.max_turns} turns without a final answer; "
                     "raise the turn limit (--max-turns, or the panel's setting) to let it go on.")
        yield from self._finish("turn_limit", settings.max_turns)

    @property
    def _max_tokens(self) -> int:
        return self.settings.backend_config.max_tokens

    def _generate(self, turn: int):
        """Stream one reply; returns its text, and whether the token limit cut it."""
        chunks: list[str] = []
        self._partial, self._turn = chunks, turn
        for chunk in self.backend.stream(self.run.messages, STOP):
            if isinstance(chunk, Waiting):  # e.g. rate limited: say why nothing comes
                yield Notice(chunk.reason)
                continue
            chunks.append(chunk)
            yield TextDelta(chunk)
        self._partial = None
        usage = self.backend.last_usage
        if usage is not None:
            stats = TurnStats(turn, usage.prompt_tokens, usage.evaluated_tokens,
                              usage.generated_tokens, usage.tokens_per_second,
                              usage.finish_reason)
            self.run.stats.append(stats)
            yield stats
        cut = usage is not None and usage.finish_reason == "length"
        return "".join(chunks), cut

    def stopped(self) -> TurnStats | None:
        """The user stopped the task while the model was writing: what it wrote so far is
        kept as its reply, exactly as it streamed (nothing of ours is added to it), and the
        turn is counted with what it generated. Returns that turn's figures."""
        partial, self._partial = self._partial, None
        if partial is None:
            return None
        text = "".join(partial)
        if text:
            self.run.messages.append({"role": "assistant", "content": self.redact(text)})
        # The pieces it streamed, a token each for llama.cpp and most servers: asking the
        # backend to count would wait on a model host that is still winding down.
        stats = TurnStats(self._turn, None, None, len([p for p in partial if p]), None, "cancelled")
        self.run.stats.append(stats)
        return stats

    def _step(self, code: str, thought: str):
        """Run (or skip) one step; returns True when the user stopped the task."""
        number = len(self.run.steps) + 1
        yield CodeAction(step=number, code=code, thought=thought)
        decision = self.confirm(code) if self.confirm else "run"
        if decision == "stop":
            return True
        if decision == "skip":
            result = StepResult(status="skipped")
        else:
            result = self.executor.execute(code, timeout=self.settings.step_timeout, step=number)
        changes = getattr(result, "changes", None)  # namespace_changes.NamespaceChanges
        text = format_observation(result.outputs, result.status, self.settings.observation_limit,
                                  timeout=self.settings.step_timeout,
                                  changes=changes.line() if changes else "")
        # For a vision model: the text, then image parts (their text part redacted alone).
        content, image_notice = self.vision.content(text, result.outputs)
        content = self.redactor.redact_content(content)
        text = content_text(content)
        outputs = self.redactor.redact_outputs(result.outputs)  # kept and sent to views
        self.run.steps.append(Step(code, text, result.status, outputs, result.execution_count,
                                   changes=changes))
        self.run.messages.append({"role": "user", "content": content})
        yield Observation(step=number, code=code, text=text, status=result.status,
                          outputs=outputs, execution_count=result.execution_count,
                          changes=self.redactor.redact_for_views(changes.to_dict()) if changes else None)
        if image_notice:
            yield Notice(image_notice)
        yield from self._withheld_notice()
        return result.status == "interrupted"

    def _withheld_notice(self):
        """How many secret values the model was not sent (never which), when that grew."""
        line = self.redactor.new_notice()
        if line:
            yield Notice(line)

    def _after_step(self, turn: int):
        """The backend's optional look at the step that ran (``WatchesSteps`` in
        backends/base.py): a notice, or the end of the task. Returns True when it ended."""
        hook = getattr(self.backend, "after_step", None)
        if hook is None:
            return False
        step = self.run.steps[-1]
        try:
            note = hook(len(self.run.steps), step.status, step.outputs)
        except BackendError as exc:
            yield from self._finish("error", turn, error=str(exc))
            return True
        if note:
            yield Notice(note)
        return False

    def _fit_context(self):
        size = getattr(self.backend, "context_size", None)
        if not size:
            return
        limit = size - self.settings.backend_config.max_tokens
        # Once over, make room for a few more turns: trimming again on every turn would
        # change the transcript's middle each time and cost the KV cache from there on.
        fitted, notice = fit_to_context(self.run.messages, limit, self._count_tokens,
                                        target_tokens=limit * 3 // 4)
        if notice:
            self.run.messages[:] = fitted
            yield Notice(notice)

    def _finish(self, reason: str, turns: int, error: str | None = None):
        self.run.done_reason = reason
        if error:
            self.run.error = error
            yield Error(error)
        yield Done(reason=reason, turns=turns)
