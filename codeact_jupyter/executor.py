"""Running a step in the live kernel, as if the user had run it.

Steps go through ``shell.run_cell`` so variables persist, ``In``/``Out`` and the execution
count advance, and magics and ``!commands`` work; their output is shown live, as for any
cell. While a step runs we also record its outputs as nbformat dicts (for the model and for
views that rebuild a real cell), with bounded memory: a step that prints 100 MB shows the
first part to the user and keeps a head and a tail for the model.
"""
from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from .watchdog import WATCHDOG

# Characters of a step's stream output shown live; the rest is counted, not shown.
DISPLAY_LIMIT = 200_000

# False while a view shows each step in a cell of its own (views.py: the JupyterLab mirror),
# so outputs are not shown twice in the task's cell; they are recorded all the same.
SHOW_LIVE_OUTPUT: ContextVar[bool] = ContextVar("codeact_show_live_output", default=True)


@dataclass
class StepResult:
    outputs: list[dict] = field(default_factory=list)
    status: str = "ok"  # "ok" | "error" | "timeout" | "interrupted"
    execution_count: int | None = None


class _StreamCapture:
    """Collects stream text in order, keeping at most ``keep`` characters at the head and at
    the tail; what lies between is counted."""

    def __init__(self, keep: int):
        self.keep = keep
        self.head: list[tuple[str, str]] = []
        self.head_size = 0
        self.tail = ""
        self.dropped = 0

    def add(self, name: str, text: str) -> None:
        room = self.keep - self.head_size
        if room > 0:
            taken = text[:room]
            if self.head and self.head[-1][0] == name:
                self.head[-1] = (name, self.head[-1][1] + taken)
            else:
                self.head.append((name, taken))
            self.head_size += len(taken)
            text = text[room:]
        if text:
            self.tail += text
            if len(self.tail) > 2 * self.keep:
                self.dropped += len(self.tail) - self.keep
                self.tail = self.tail[-self.keep:]

    def outputs(self) -> list[dict]:
        outs = [{"output_type": "stream", "name": n, "text": t} for n, t in self.head]
        tail, dropped = self.tail, self.dropped
        if len(tail) > self.keep:
            dropped += len(tail) - self.keep
            tail = tail[-self.keep:]
        if dropped:
            outs.append({"output_type": "stream", "name": "stderr",
                         "text": f"\n[... {dropped:,} characters of output cut ...]\n"})
        if tail:
            outs.append({"output_type": "stream", "name": "stdout", "text": tail})
        return outs


class _Tee:
    """Stands in for sys.stdout / sys.stderr during a step."""

    def __init__(self, original, name: str, capture: _StreamCapture, recorder: "KernelExecutor"):
        self._original, self._name, self._capture, self._recorder = original, name, capture, recorder

    def write(self, text: str) -> int:
        if not self._recorder._muted:
            self._capture.add(self._name, text)
        shown = self._recorder._shown
        if shown < DISPLAY_LIMIT:
            self._original.write(text[: DISPLAY_LIMIT - shown])
            self._recorder._shown += len(text)
            if self._recorder._shown >= DISPLAY_LIMIT:
                self._original.write(
                    f"\n[codeact: output cut after {DISPLAY_LIMIT:,} characters; "
                    "the model sees its head and tail]\n")
        else:
            self._recorder._shown += len(text)
        return len(text)

    def flush(self) -> None:
        self._original.flush()

    def __getattr__(self, name):  # isatty, fileno, encoding, ... of the real stream
        return getattr(self._original, name)


class KernelExecutor:
    """Runs code through an IPython shell and records what it produced."""

    def __init__(self, shell, keep_chars: int = 20_000):
        self.shell = shell
        self.keep_chars = keep_chars
        self._muted = False
        self._shown = 0
        self._borrowed = False

    def _take_execution_count(self) -> None:
        """Inside ``%%codeact`` the magic's cell already holds the current number; a step
        run now would reuse it (and clash in the history database), so take the next."""
        shell = self.shell
        if len(shell.user_ns.get("In", ())) > shell.execution_count:
            shell.execution_count += 1
            self._borrowed = True

    def close(self) -> None:
        """Give back the number taken for the first step: the magic's cell adds one when it
        ends, so the user's next cell follows the last step without a gap."""
        if self._borrowed:
            self.shell.execution_count -= 1
            self._borrowed = False

    def execute(self, code: str, timeout: float | None = None) -> StepResult:
        shell = self.shell
        capture = _StreamCapture(self.keep_chars)
        rich: list[dict] = []
        self._take_execution_count()
        result = StepResult(execution_count=shell.execution_count)
        self._shown = 0
        with self._recording(capture, rich), _Deadline(timeout) as deadline:
            try:
                outcome = shell.run_cell(code, store_history=True)
            except KeyboardInterrupt:
                # Landed in IPython's own code around the step rather than in the step.
                if not deadline.fired:
                    raise
                outcome = None
        # Order for views: streams first, then rich outputs and the error (IPython shows
        # the traceback last, and most steps print before they display).
        result.outputs = capture.outputs() + rich
        error = outcome.error_in_exec or outcome.error_before_exec if outcome else None
        if deadline.fired:
            result.status = "timeout"
        elif isinstance(error, KeyboardInterrupt):
            result.status = "interrupted"
        elif error is not None:
            result.status = "error"
        return result

    @contextmanager
    def _recording(self, capture: _StreamCapture, rich: list[dict]):
        shell = self.shell
        out, err = sys.stdout, sys.stderr
        publish = shell.display_pub.publish
        write_format_data = shell.displayhook.write_format_data
        write_output_prompt = shell.displayhook.write_output_prompt
        show_traceback = shell._showtraceback
        shown_out, shown_err = out, err
        if not SHOW_LIVE_OUTPUT.get():
            shown_out, shown_err = _Silent(out), _Silent(err)
            publish = write_format_data = show_traceback = _nothing

        def publish_and_record(data, metadata=None, *args, **kwargs):
            if not kwargs.get("update"):
                rich.append({"output_type": "display_data", "data": data, "metadata": metadata or {}})
            return publish(data, metadata, *args, **kwargs)

        def prompt_muted():
            self._muted = True  # a terminal shell prints "Out[n]: " and the result to stdout
            return write_output_prompt()

        def write_and_record(format_dict, md_dict=None):
            rich.append({"output_type": "execute_result", "data": format_dict,
                         "metadata": md_dict or {}, "execution_count": shell.execution_count})
            self._muted = True
            try:
                return write_format_data(format_dict, md_dict)
            finally:
                self._muted = False

        def traceback_and_record(etype, evalue, stb):
            rich.append({"output_type": "error", "ename": getattr(etype, "__name__", str(etype)),
                         "evalue": str(evalue), "traceback": list(stb)})
            self._muted = True
            try:
                return show_traceback(etype, evalue, stb)
            finally:
                self._muted = False

        sys.stdout = _Tee(shown_out, "stdout", capture, self)
        sys.stderr = _Tee(shown_err, "stderr", capture, self)
        shell.display_pub.publish = publish_and_record
        shell.displayhook.write_format_data = write_and_record
        shell.displayhook.write_output_prompt = prompt_muted
        shell._showtraceback = traceback_and_record
        try:
            yield
        finally:
            sys.stdout, sys.stderr = out, err
            for owner, name in ((shell.display_pub, "publish"),
                                (shell.displayhook, "write_format_data"),
                                (shell.displayhook, "write_output_prompt"), (shell, "_showtraceback")):
                owner.__dict__.pop(name, None)


class _Silent:
    """A stream that shows nothing (see SHOW_LIVE_OUTPUT)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

    def __getattr__(self, name):
        return getattr(self._stream, name)


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
