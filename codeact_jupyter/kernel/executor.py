"""Running a step in the live kernel, as if the user had run it.

Steps go through ``shell.run_cell`` so variables persist, ``In``/``Out`` and the execution
count advance, and magics and ``!commands`` work; their output is shown live, as for any
cell. While a step runs we also record its outputs as nbformat dicts (for the model and for
views that rebuild a real cell), with bounded memory: a step that prints 100 MB shows the
first part to the user and keeps a head and a tail for the model. Nothing of ours stays
on the user's streams after a step (see step_streams).
"""
from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ContextManager, Protocol

from . import step_streams
from .jsonsafe import safe_str
from .namespace_changes import NamespaceChanges
from .step_counts import StepCounts
from .step_streams import DISPLAY_LIMIT, StepOutput, StepStream, hide_frames, release_logging
from .watchdog import WATCHDOG

__all__ = ["DISPLAY_LIMIT", "KernelExecutor", "StepResult"]

# Our code that runs inside a step (stream stand-ins, display hooks): never shown in a
# step's traceback, which must read as the same code's would in a cell.
OURS = frozenset({__name__, step_streams.__name__})

# False while a view shows each step in a cell of its own (views.py: the JupyterLab mirror),
# so outputs are not shown twice in the task's cell; they are recorded all the same.
SHOW_LIVE_OUTPUT: ContextVar[bool] = ContextVar("codeact_show_live_output", default=True)


@dataclass
class StepResult:
    outputs: list[dict] = field(default_factory=list)
    status: str = "ok"  # "ok" | "error" | "timeout" | "interrupted"
    execution_count: int | None = None
    changes: NamespaceChanges | None = None  # what the step did to the user's namespace


class StepWatcher(Protocol):
    """Watches each step of a task: ``watch(step, code)`` is a context manager around the
    step whose value has ``.changes`` (NamespaceChanges) once the block is over."""

    def watch(self, step: int, code: str) -> ContextManager[Any]: ...


class KernelExecutor:
    """Runs code through an IPython shell and records what it produced."""

    def __init__(self, shell, keep_chars: int = 20_000, watcher: StepWatcher | None = None):
        self.shell = shell
        self.keep_chars = keep_chars
        self.counts = StepCounts(shell)
        # Told of each step as it runs (undo's RunTracker records what it changes).
        self.watcher = watcher

    def close(self) -> None:
        """The task is over: settle the execution counts (see step_counts)."""
        self.counts.finish()

    def execute(self, code: str, timeout: float | None = None, step: int | None = None) -> StepResult:
        shell = self.shell
        output = StepOutput(self.keep_chars, show=SHOW_LIVE_OUTPUT.get())
        rich: list[dict] = []
        result = StepResult(execution_count=self.counts.take())
        outer = getattr(shell.displayhook, "exec_result", None)
        watch = self.watcher.watch(step or 0, code) if self.watcher is not None else nullcontext()
        with watch as watched, self._recording(output, rich, result.execution_count), \
                _Deadline(timeout) as deadline:
            try:
                outcome = shell.run_cell(code, store_history=True)
            except KeyboardInterrupt:
                # Landed in IPython's own code around the step rather than in the step.
                if not deadline.fired:
                    raise
                outcome = None
            finally:
                shell.displayhook.exec_result = outer  # the task cell's, as run_cell found it
        # Order for views: streams first, then rich outputs and the error (IPython shows
        # the traceback last, and most steps print before they display).
        result.outputs = output.capture.outputs() + rich
        result.changes = watched.changes if watched is not None else None
        error = outcome.error_in_exec or outcome.error_before_exec if outcome else None
        if deadline.fired:
            result.status = "timeout"
        elif isinstance(error, KeyboardInterrupt):
            result.status = "interrupted"
        elif error is not None:
            result.status = "error"
        return result

    @contextmanager
    def _recording(self, output: StepOutput, rich: list[dict], count: int):
        shell = self.shell
        out, err = sys.stdout, sys.stderr
        publish = shell.display_pub.publish
        write_format_data = shell.displayhook.write_format_data
        write_output_prompt = shell.displayhook.write_output_prompt
        show_traceback = shell._showtraceback
        showtraceback = shell.showtraceback
        if not output.show:
            publish = write_format_data = show_traceback = _nothing

        def publish_and_record(data, metadata=None, *args, **kwargs):
            if not kwargs.get("update"):
                rich.append({"output_type": "display_data", "data": data, "metadata": metadata or {}})
            return publish(data, metadata, *args, **kwargs)

        def prompt_muted():
            output.muted = True  # a terminal shell prints "Out[n]: " and the result to stdout
            return write_output_prompt()

        def write_and_record(format_dict, md_dict=None):
            rich.append({"output_type": "execute_result", "data": format_dict,
                         "metadata": md_dict or {}, "execution_count": count})
            output.muted = True
            try:
                return write_format_data(format_dict, md_dict)
            finally:
                output.muted = False

        def traceback_without_ours(exc_tuple=None, *args, **kwargs):
            hide_frames(exc_tuple[1] if exc_tuple else sys.exc_info()[1], OURS)
            return showtraceback(exc_tuple, *args, **kwargs)

        def traceback_and_record(etype, evalue, stb):
            rich.append({"output_type": "error", "ename": getattr(etype, "__name__", str(etype)),
                         "evalue": safe_str(evalue), "traceback": list(stb)})
            output.muted = True
            try:
                return show_traceback(etype, evalue, stb)
            finally:
                output.muted = False

        step_out = StepStream(out, "stdout", output)
        step_err = StepStream(err, "stderr", output)
        sys.stdout, sys.stderr = step_out, step_err
        patches = {(shell.display_pub, "publish"): publish_and_record,
                   (shell.displayhook, "write_format_data"): write_and_record,
                   (shell.displayhook, "write_output_prompt"): prompt_muted,
                   (shell, "showtraceback"): traceback_without_ours,
                   (shell, "_showtraceback"): traceback_and_record}
        # Another extension may have patched the same methods on these objects: put theirs back.
        before = {key: key[0].__dict__.get(key[1], _UNSET) for key in patches}
        for (owner, name), patch in patches.items():
            setattr(owner, name, patch)
        try:
            yield
        finally:
            # A step may replace the streams itself, as a cell may: keep its choice. Whoever
            # still holds our stand-ins (a logging handler) now writes to the real streams.
            if sys.stdout is step_out:
                sys.stdout = out
            if sys.stderr is step_err:
                sys.stderr = err
            step_out.end()
            step_err.end()
            release_logging()
            for (owner, name), patch in patches.items():
                if owner.__dict__.get(name) is not patch:
                    continue  # the step set its own, as a cell may
                if before[owner, name] is _UNSET:
                    del owner.__dict__[name]
                else:
                    setattr(owner, name, before[owner, name])


_UNSET = object()




def _nothing(*args, **kwargs) -> None:
    return None


class _Deadline:
    """Interrupts the main thread with a real SIGINT when a step runs too long.

    A timer calling ``_thread.interrupt_main`` would not wake a blocking ``time.sleep``;
    a signal does. The lock makes sure no signal is sent once the step is over."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.fired = False
        self._lock = threading.Lock()
        self._active = False
        self._token = None

    def __enter__(self) -> "_Deadline":
        if self.seconds and self.seconds > 0 and threading.current_thread() is threading.main_thread():
            self._active = True
            self._token = WATCHDOG.arm(self.seconds, self._fire)  # one thread for all steps
        return self

    def _fire(self) -> None:
        with self._lock:
            if self._active:
                self.fired = True
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._active = False
        if self._token is not None:
            WATCHDOG.disarm(self._token)
