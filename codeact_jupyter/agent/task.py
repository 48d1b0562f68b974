"""One task from start to finish, shared by every view: the magic, the side panel, tests.

Views pass sinks (callables taking an event); the runner feeds each event to each sink,
keeps the run's record for ``last_run()``, and turns an interrupt anywhere (the Stop
button, Ctrl-C) into a clean end: what was done is kept, and one line says it stopped.
"""
from __future__ import annotations

import logging
import re
import uuid
from dataclasses import replace
from typing import Callable, Iterable

from ..backends import create_backend
from ..context.parts import build_context, names_a_follow_up_may_miss, shared_for_follow_up
from ..context.redaction import Redactor
from ..context.source import NotebookSource
from ..context.window import kernel_window
from ..errors import TaskError
from ..events import Done, Error, Event, Notice, TaskStarted
from ..kernel.executor import KernelExecutor
from ..trace.build import RunClock, settings_record
from ..undo.records import RunTracker
from .conversation import continuation, find_conversation, record_task
from .loop import STOPPED, CodeActLoop, Confirm
from .run import Run, remember
from .settings import TaskSettings

Sink = Callable[[Event], None]
log = logging.getLogger(__name__)
CONFIRM_PROMPT = "codeact confirm: run this step? [run/skip/stop] "
_running: Run | None = None  # the task under way; a step may not start another
WITHHELD_TASK = "[task not kept: it could not be redacted]"


class NestedTaskError(RuntimeError):
    """A step tried to start a task while one runs (``%%codeact`` inside a step)."""


def task_running() -> bool:
    return _running is not None


def ask_in_kernel(code: str) -> str:
    """Confirm mode: ask through the kernel's standard input request (``input``)."""
    from IPython.core.error import StdinNotImplementedError

    try:
        answer = input(CONFIRM_PROMPT).strip().lower()
    except StdinNotImplementedError:
        raise TaskError("--confirm needs a front end that can answer input requests "
                           "(JupyterLab, Notebook, a terminal); this one cannot.") from None
    if answer in ("", "r", "run", "y", "yes"):
        return "run"
    if answer in ("s", "skip", "n", "no"):
        return "skip"
    return "stop"


def run_task(shell, task: str, settings: TaskSettings, sinks: Iterable[Sink],
             notebook: dict | None = None, errors: dict[int, str] | None = None,
             confirm: Confirm | None = None, history_end: int | None = None,
             conversation: str | None = None) -> Run:
    """``notebook``: the browser's document, when JupyterLab sent one; ``errors`` and
    ``history_end`` (see ``context.cells.ErrorLog``) default to the records the loaded
    extension keeps for this shell (context.source.NotebookSource). ``conversation``: None
    starts a new one, "last" continues this kernel's latest, an id continues that one
    (conversation.py)."""
    global _running
    if _running is not None:
        raise NestedTaskError("A codeact task is already running; a step cannot start another.")
    source = NotebookSource.of(shell, notebook, errors, history_end)
    sinks = list(sinks)
    run = Run(run_id=uuid.uuid4().hex[:12], task=task, settings=settings_record(settings))
    remember(run)
    thread, notice = find_conversation(conversation)
    run.conversation_id = thread.conversation_id
    _running = run
    clock = RunClock(run)
    try:
        _run(source, run, settings, [clock, *sinks], confirm, thread, notice)
        clock.finish()
        record_run(run, sinks)
        return run
    finally:
        _running = None
        # The notebook as it is now: the cells the task ran are before no running cell.
        _record(replace(source, history_end=None), run, thread, settings)


def _record(source: NotebookSource, run: Run, thread, settings: TaskSettings) -> None:
    """The conversation takes the task's transcript, and what the model may be shown of the
    notebook as it is now (by the same rules as a follow-up: private cells, --context)."""
    if not run.messages:
        return
    secret = run.redactor.withholds if run.redactor is not None else None
    try:
        cells, variables = shared_for_follow_up(source, settings.context, settings.context_exclude, secret)
        cells = [text for _, text in cells]
    except Exception:  # a follow-up then lists more as changed; the task itself is done
        log.warning("codeact: could not note what the model saw of the notebook", exc_info=True)
        cells, variables = [], []
    record_task(thread, run.run_id, run.messages, cells, variables,
                [step.code for step in run.steps] + [run.answer or ""],  # step and answer cells
                stopped=run.done_reason == "stopped")


def record_run(run: Run, sinks: list[Sink]) -> None:
    """Hand the finished run to the sinks that keep it (``record_run(run)``, optional: the
    JupyterLab bridge sends its trace, the rich display shows it); never fails the task."""
    for sink in sinks:
        keep = getattr(sink, "record_run", None)
        if keep is None:
            continue
        try:
            keep(run)
        except Exception:
            log.warning("codeact: could not keep the run's trace", exc_info=True)


def _run(source: NotebookSource, run: Run, settings: TaskSettings, sinks: list[Sink], confirm,
         thread, notice) -> Run:
    task, shell = run.task, source.shell

    def emit(event: Event) -> None:
        if isinstance(event, Done) and not tracker.finished:  # undo's last word comes before
            for line in finish_undo():
                emit(Notice(line))
        for sink in sinks:
            sink(event)
            if notice and isinstance(event, TaskStarted):  # right after the task's first line
                sink(Notice(notice))

    def finish_undo() -> list[str]:
        try:
            tracker.finish(answer=run.answer)
            return tracker.notes()
        except Exception:  # undo is lost for this run; the task and the namespace are fine
            log.warning("codeact: could not keep the run's undo record", exc_info=True)
            return []

    events = loop = None
    tracker = RunTracker(shell, run.run_id, run.task, depth=settings.undo_depth,
                         memory_mb=settings.undo_memory)  # for undo
    executor = KernelExecutor(shell, keep_chars=settings.observation_limit, watcher=tracker)
    try:
        redactor = run.redactor = task_redactor(shell, settings, source)
        run.task = redactor.redact(task)  # what we store holds no secret either
        backend = create_backend(settings.backend, settings.backend_config)
        run.backend = backend.describe()
        budget = context_budget(settings, backend)
        if confirm is None and settings.confirm:
            confirm = ask_in_kernel
        loop = CodeActLoop(backend, executor, settings, run, confirm=confirm, redactor=redactor)
        if thread.messages:  # a follow-up: what changed since, then the task
            if thread.run_ids:
                run.follows = (thread.run_ids[-1], thread.messages)
            cells, variables = shared_for_follow_up(source, settings.context, settings.context_exclude,
                                                    redactor.withholds)
            loop.continue_messages(continuation(
                thread, cells, variables, run.task, budget, backend.count_tokens,
                present=names_a_follow_up_may_miss(source, settings.context, settings.context_exclude),
                cells_shared=settings.context in ("all", "cells")))
        else:
            loop.start_messages(build_context(source, budget, backend.count_tokens, redactor=redactor,
                                              include=settings.context, exclude=settings.context_exclude,
                                              window=kernel_window("document" if source.from_document
                                                                   else "history")))
        events = loop.events()
        for event in events:
            emit(event)
    except KeyboardInterrupt:
        if events is not None:
            events.close()
        stats = loop.stopped() if loop is not None else None  # what streamed is kept as it was
        if stats is not None:
            emit(stats)
        run.done_reason = "stopped"
        emit(Notice(STOPPED))
        emit(Done(reason="stopped", turns=max(_turns(run), stats.turn if stats else 0)))
    except TaskError as exc:  # raised before the loop began (or by confirm): a backend, a setting
        run.done_reason, run.error = "error", str(exc)
        if run.redactor is None:  # the redaction settings were refused: keep no unmasked text
            run.task = WITHHELD_TASK
        if events is None:
            emit(TaskStarted(run_id=run.run_id, task=run.task, backend=run.backend or settings.backend))
        emit(Error(str(exc)))
        emit(Done(reason="error", turns=_turns(run)))
    finally:
        executor.close()
        if not tracker.finished:
            finish_undo()
    return run


def task_redactor(shell, settings: TaskSettings, source: NotebookSource | None = None) -> Redactor:
    """The one redactor of a task: the shell's variables, the environment and the backend's
    key, as they are when the task starts, and the values of the names private cells define
    (``source``'s cells)."""
    for pattern in settings.redact_patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise TaskError(f"CodeActMagics.redact_patterns: {pattern!r} is not a valid regular "
                               f"expression ({exc}). Nothing was sent.") from None
    return Redactor.for_task(getattr(shell, "user_ns", None), backend_key=settings.backend_config.api_key,
                             patterns=list(settings.redact_patterns), allow=settings.redact_allow,
                             enabled=settings.redact, private=_private_names(source))


def _private_names(source: NotebookSource | None) -> set[str]:
    if source is None:
        return set()
    try:
        return {name for cell in source.cells() if cell.private for name in cell.defines}
    except Exception:  # the cells could not be read: the context will say so
        log.warning("codeact: could not read the private cells", exc_info=True)
        return set()


def context_budget(settings: TaskSettings, backend) -> int:
    """The notebook context's budget, within what the model can read: a small local model
    (a 4,096-token window) must still fit the system prompt, the task and a reply."""
    size = getattr(backend, "context_size", None)
    if not size:
        return settings.context_budget
    room = size - settings.backend_config.max_tokens
    return max(0, min(settings.context_budget, room // 3))


def _turns(run: Run) -> int:
    return len(run.replies())
