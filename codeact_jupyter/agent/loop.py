"""The CodeAct loop: ask the model, run its code, show it the output, until it answers.

A generator of plain events (events.py); it never renders. The transcript it sends is
append-only within a task, so a local backend reuses its KV cache turn after turn.
"""
from __future__ import annotations

from typing import Callable, Iterator, Protocol

from dataclasses import dataclass

from ..backends.base import Backend, BackendError, CalledTool, OutOfReplies, Reading, ThinkingText, Waiting
from ..backends.messages import content_text, image_parts, without_images
from ..context.redaction import NO_REDACTION, Redactor
from ..events import (Answer, CodeAction, Done, Error, Event, Notice, Observation, ReadingPrompt,
                      TaskStarted, TextDelta, Thinking, ThinkingDelta, TurnStarted, TurnStats)
from ..figures.vision import Vision
from ..kernel.executor import StepResult
from ..kernel.outputs_text import format_observation
from .cut_replies import code_was_closed, cut_code_observation, cut_notice
from .profiles import choose_profile, first_messages, model_names
from .reasoning import (STOP_IN_THINKING, only_reasoned_notice, only_reasoned_nudge,
                        history_rule, stopped_in_thinking, with_thinking)
from .replies import EXECUTE_CLOSE, parse_reply
from .run import Run, Step
from .settings import TaskSettings
from . import tool_calls as tools
from .transcript_fit import fit_to_context

# </execute> ends a step; <|im_end|> / <|im_start|> end a ChatML turn for servers that do
# not stop there themselves (CodeActAgent's generation config stops at </s> only).
STOP = [EXECUTE_CLOSE, "<|im_end|>", "<|im_start|>"]
STOPPED = "Task stopped. The steps that ran are kept, and so is everything they defined."
EMPTY_REPLY_NUDGE = ("Observation:\n[Your reply was empty. Either run Python code inside "
                     "<execute></execute>, or answer the task in plain words.]")


@dataclass(frozen=True)
class Generated:
    text: str
    thinking: str  # reasoning the endpoint sent apart from the text
    calls: tuple[tools.ToolCall, ...]  # tool calls the endpoint sent in their own field
    cut: bool  # the token limit ended the reply


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
        # The model's own replies and code: only known secrets are masked, so a step is
        # stored, shown and replayed exactly as the model wrote it.
        self.redact_code = self.redactor.redact_code
        self._token_counts: dict[str, int] = {}  # messages never change: count each once
        self.vision = Vision(settings.vision, backend)  # images for a model that sees them
        self._template_turns = bool(getattr(backend, "template_tool_turns", False))
        self.history = history_rule(settings.reasoning_history, backend)  # thinking sent back?
        self.chosen = choose_profile(settings.profile, model_names(settings, backend))
        self.profile = self.chosen.profile
        # A family that thinks first is not stopped at </execute> (a draft in its thinking
        # would end the reply); for others it is dropped once it has cut a reply's thinking.
        self.stop = [s for s in STOP if not (self.profile.thinks and s == EXECUTE_CLOSE)]
        self.stop += [s for s in self.profile.stop if s not in self.stop]
        self._partial: list[str] | None = None  # the reply being streamed, while it streams
        self._turn = 0

    def _count_tokens(self, text: str) -> int:
        if text not in self._token_counts:
            self._token_counts[text] = self.backend.count_tokens(text)
        return self._token_counts[text]

    def start_messages(self, context: str) -> None:
        self.run.messages[:] = first_messages(self.profile, self.settings.actions,
                                              self.redact(f"{context}\n\nTask: {self.run.task}"))

    def continue_messages(self, messages: list[dict]) -> None:
        """A follow-up task: the conversation so far (already sent, so already redacted),
        then the message with what changed and the task."""
        *earlier, last = messages
        if not self.vision.active:  # e.g. from a vision model to a text-only one
            earlier = without_images(earlier)
        earlier = tools.portable(earlier, self.backend)  # e.g. from an endpoint to a GGUF
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
        if self.profile.name != "generic":
            yield Notice(self.chosen.line())
        nudged = False
        for turn in range(1, settings.max_turns + 1):
            yield TurnStarted(turn)
            yield from self._fit_context()
            try:
                got, reply = yield from self._reply(turn)
            except OutOfReplies as exc:
                yield from self._finish("out_of_replies", turn, error=str(exc))
                return
            except BackendError as exc:
                yield from self._finish("error", turn, error=str(exc))
                return
            text, cut = got.text, got.cut
            thinking = "\n\n".join(t for t in (got.thinking.strip(), reply.reasoning) if t)
            if thinking:
                yield from self._thinking(turn, thinking, cut and (reply.reasoning_unclosed or reply.is_empty))
            calls = got.calls or reply.tool_calls
            kept = with_thinking(thinking, self.history)
            if calls:
                run.messages.append(tools.redacted(tools.assistant_message(kept(reply.text), calls), self.redact_code))
                stopped = yield from self._tool_steps(calls, reply.thought, cut)
                if (yield from self._ended_after(turn, stopped)):
                    return
                continue
            if cut and reply.code is not None and not code_was_closed(text, reply.code):
                # Running half a step would do half of something; the model writes it again.
                run.messages += [{"role": "assistant", "content": self.redact_code(kept(reply.text))},
                                 {"role": "user", "content": cut_code_observation(self._max_tokens)}]
                yield Notice(cut_notice(self._max_tokens, code=True))
                continue
            if reply.is_empty and not nudged:
                nudged = True
                run.messages += [{"role": "assistant", "content": self.redact_code(kept(reply.text))},
                                 {"role": "user", "content": only_reasoned_nudge() if thinking
                                  else EMPTY_REPLY_NUDGE}]
                yield Notice(only_reasoned_notice(len(thinking), cut) if thinking
                             else "The model sent an empty reply; asking it once more.")
                continue
            run.messages.append({"role": "assistant", "content": self.redact_code(kept(reply.transcript_text()))})
            if reply.problem is not None:  # an action that cannot run: tell the model
                run.messages.append({"role": "user", "content": f"Observation:\n[{reply.problem.for_model}]"})
                yield Notice(reply.problem.for_user)
                continue
            if reply.code is None:
                run.answer = self.redact_code(reply.answer or (
                    "(The model only reasoned, and gave no answer.)" if thinking
                    else "(The model ended the task without an answer.)"))
                run.answer_cut = cut
                yield Answer(run.answer, cut=cut)
                if cut:
                    yield Notice(cut_notice(self._max_tokens, code=False))
                yield from self._finish("answered", turn)
                return
            stopped = yield from self._step(reply.code, reply.thought)
            if (yield from self._ended_after(turn, stopped)):
                return
        yield Notice(f"Stopped after {settings.max_turns} turns without a final answer; "
                     "raise the turn limit (--max-turns, or the panel's setting) to let it go on.")
        yield from self._finish("turn_limit", settings.max_turns)

    def _ended_after(self, turn: int, stopped: bool):
        """After a turn's steps: the user stopped the task, or the backend's look at the
        step ended it (True), or the loop goes on."""
        if stopped:
            yield Notice(STOPPED)
            yield from self._finish("stopped", turn)
            return True
        return (yield from self._after_step(turn))

    @property
    def _max_tokens(self) -> int:
        return self.settings.backend_config.max_tokens

    def _generate(self, turn: int):
        """Stream one reply; returns it as ``Generated``."""
        chunks: list[str] = []
        thinking: list[str] = []
        self._partial, self._turn = chunks, turn
        calls: list[tools.ToolCall] = []
        reading = {"reading": True} if getattr(self.backend, "reports_reading", False) else {}
        for chunk in self.backend.stream(self.run.messages, self.stop, **reading,
                                         **tools.declared(self.settings.actions, self.backend)):
            if isinstance(chunk, Waiting):  # e.g. rate limited: say why nothing comes
                yield Notice(chunk.reason)
            elif isinstance(chunk, Reading):  # a long prompt: say what the silence is
                yield ReadingPrompt(chunk.tokens)
            elif isinstance(chunk, ThinkingText):
                thinking.append(chunk.text)
                yield ThinkingDelta(chunk.text)
            elif isinstance(chunk, CalledTool):
                calls.append(tools.ToolCall(chunk.id, chunk.name, chunk.arguments))
            else:
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
        return Generated("".join(chunks), "".join(thinking), tuple(calls), cut)

    def _reply(self, turn: int):
        """One reply, generated and parsed (its thinking taken out first: drafts never run).
        When the ``</execute>`` stop ended it inside its thinking, it is asked for again
        without that stop."""
        got = yield from self._generate(turn)
        reply = parse_reply(got.text)
        if EXECUTE_CLOSE in self.stop and not got.cut and stopped_in_thinking(got.text, got.thinking, reply):
            self.stop.remove(EXECUTE_CLOSE)
            yield Notice(STOP_IN_THINKING)
            got = yield from self._generate(turn)
            reply = parse_reply(got.text)
        return got, reply

    def _thinking(self, turn: int, text: str, cut: bool):
        """Shown and traced; never parsed, never the answer, not sent back (reasoning.py)."""
        text = self.redact(text)
        self.run.thinking.append({"turn": turn, "text": text, "cut": cut})
        yield Thinking(turn=turn, text=text, chars=len(text), cut=cut)

    def _tool_steps(self, calls, thought: str, cut: bool):
        """Each call in order: a code tool's call is a step; any other is told which tool to
        use. Every call gets its result message, as its protocol requires; a tool message
        holds text only, so a vision model gets the steps' images in one turn after them."""
        images: list[dict] = []

        def result(content, call):
            images.extend(image_parts(content))
            return tools.result_message(call, self.redact(content_text(content)), self._template_turns)

        stopped = False
        for number, call in enumerate(calls):
            code = call.code() if call.is_code_tool else None
            if code is None:
                # Its arguments ended mid-way (the token limit), held no code, or named another tool.
                was_cut = cut and call.is_code_tool
                observation = (cut_code_observation(self._max_tokens) if was_cut else
                               tools.no_code(call) if call.is_code_tool else tools.unknown_tool(call))
                self.run.messages.append(tools.result_message(call, observation, self._template_turns))
                yield Notice(cut_notice(self._max_tokens, code=True) if was_cut else tools.not_run_notice(call))
                continue
            before = len(self.run.messages)
            stopped = yield from self._step(code, thought, lambda content, call=call: result(content, call))
            thought = ""
            if stopped:
                unanswered = calls[number + (len(self.run.messages) > before):]
                for rest in unanswered:  # a later follow-up must find every call answered
                    self.run.messages.append(tools.result_message(rest, "[Not run: the task was stopped.]",
                                                                  self._template_turns))
                break
        if images:
            self.run.messages.append(tools.images_turn(images))
        return stopped

    def stopped(self) -> TurnStats | None:
        """The user stopped the task while the model was writing: what it wrote so far is
        kept as its reply, exactly as it streamed (nothing of ours is added to it), and the
        turn is counted with what it generated. Returns that turn's figures."""
        partial, self._partial = self._partial, None
        if partial is None:
            return None
        text = "".join(partial)
        if text:
            self.run.messages.append({"role": "assistant", "content": self.redact_code(text)})
        # The pieces it streamed, a token each for llama.cpp and most servers: asking the
        # backend to count would wait on a model host that is still winding down.
        stats = TurnStats(self._turn, None, None, len([p for p in partial if p]), None, "cancelled")
        self.run.stats.append(stats)
        return stats

    def _step(self, code: str, thought: str, message=None):
        """Run (or skip) one step; returns True when the user stopped the task. ``message``
        makes the observation's message (a tool call's result); by default a user turn."""
        number = len(self.run.steps) + 1
        shown = self.redact_code(code)  # what views and the record keep; the step runs ``code``
        yield CodeAction(step=number, code=shown, thought=self.redact_code(thought))
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
                                  changes=changes.line() if changes else "", redact=self.redact)
        # For a vision model: the text, then image parts (their text part redacted alone).
        content, image_notice = self.vision.content(text, result.outputs)
        content = self.redactor.redact_content(content)
        text = content_text(content)
        outputs = self.redactor.redact_outputs(result.outputs)  # kept and sent to views
        self.run.steps.append(Step(shown, text, result.status, outputs, result.execution_count,
                                   changes=changes))
        self.run.messages.append(message(content) if message else {"role": "user", "content": content})
        yield Observation(step=number, code=shown, text=text, status=result.status,
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
