"""The kernel's side of the model host: start it, ask it, notice when it dies.

llama.cpp is native code that can segfault (AMX kernels, repacking, grammars), abort, or be
chosen by the out-of-memory killer. Inside the kernel any of these would take the user's
variables with it, so the model runs in a child process instead. This module never imports
llama_cpp.

One host per kernel process, started on first use (:func:`get_host`) and kept between tasks
with its model loaded and its KV cache warm. It ends with the kernel, or with
:func:`stop_host` (``codeact_jupyter.unload_model()``).
"""
from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Iterator

from ...base import BackendError
from .logs import log_path, tail
from .protocol import LineReader, encode, write_all


class HostDied(BackendError):
    """The model process ended while the kernel waited for it."""


class ModelHost:
    def __init__(self) -> None:
        self.log_path = log_path()
        self._log = open(self.log_path, "ab", buffering=0)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "codeact_jupyter.backends.llama.host.server"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            # Its own session: a Stop (SIGINT to the kernel's process group) or a terminal's
            # Ctrl-C must not kill it; Stop reaches it as a cancel request instead.
            start_new_session=True,
            env={**os.environ, "CODEACT_HOST_PARENT": str(os.getpid()),
                 "PYTHONUNBUFFERED": "1"},
        )
        self.pid = self._proc.pid
        self._reader = LineReader(self._proc.stdout.fileno())
        self._next_id = 0
        self._unfinished: set[int] = set()  # requests interrupted by the user, still running
        self._lock = threading.Lock()
        self.death_told = False  # a task already showed the user why it died

    # -- asking -------------------------------------------------------------------------

    def request(self, op: str, **fields: Any) -> dict:
        """Send one request and return its final answer (``{"end": True, ...}``)."""
        answer: dict = {}
        for answer in self.stream(op, **fields):
            pass
        return answer

    def stream(self, op: str, **fields: Any) -> Iterator[dict]:
        """Send one request and yield every answer to it, the final one last. When the
        consumer is interrupted (Stop) or stops early, the host is told to cancel, and the
        request's remaining answers are skipped before the next request."""
        with self._lock:
            try:
                self._finish_unfinished()
            except TimeoutError:
                raise BackendError("The model process is still finishing the reply you "
                                   "stopped; run the task again in a moment.") from None
            self._next_id += 1
            rid = self._next_id
            self._send({"id": rid, "op": op, **fields})
            self._unfinished.add(rid)
        finished = False
        try:
            while True:
                message = self._read()
                if message.get("id") != rid:
                    continue
                if message.get("end"):
                    finished = True
                    self._unfinished.discard(rid)
                    yield message
                    return
                yield message
        finally:
            if not finished and self.alive():
                try:
                    self._send({"op": "cancel", "target": rid})
                except OSError:
                    pass

    def alive(self) -> bool:
        return self._proc.poll() is None

    # -- ending -----------------------------------------------------------------------------

    def stop(self, timeout: float = 3.0) -> None:
        """Close the pipe (the host exits by itself), then make sure it is gone."""
        proc = self._proc
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        self._log.close()

    # -- helpers --------------------------------------------------------------------------

    def _send(self, message: dict) -> None:
        try:
            write_all(self._proc.stdin.fileno(), encode(message))
        except (BrokenPipeError, OSError, ValueError):
            raise self._died() from None

    def _read(self) -> dict:
        message = self._reader.read()
        if message is None:
            raise self._died()
        return message

    def _finish_unfinished(self) -> None:
        """Skip what is left of requests the user interrupted (their replies come to an end
        within a token, or when the prompt they were reading is read)."""
        deadline = time.monotonic() + FINISH_SECONDS
        while self._unfinished:
            message = self._reader.read(timeout=max(0.0, deadline - time.monotonic()))
            if message is None:
                raise self._died()
            if message.get("end"):
                self._unfinished.discard(message.get("id"))

    def busy(self) -> bool:
        """Is it still finishing a request the user interrupted? Waits FINISH_SECONDS."""
        with self._lock:
            try:
                self._finish_unfinished()
            except TimeoutError:
                return True
            except HostDied:
                return False
            return False

    def _died(self) -> HostDied:
        try:
            code = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # the pipe broke but the process lingers
            self._proc.kill()
            code = self._proc.wait()
        self.death_told = True
        return HostDied(death_message(code, self.log_path))


def death_message(code: int, path: str) -> str:
    lines = tail(path)
    last = ("\nLast lines of its log:\n" + "\n".join(f"    {line}" for line in lines)) if lines else ""
    return (
        f"The model process stopped: {_cause(code)}. Your kernel and its variables are "
        "untouched; the next task starts a fresh model process. If it happens again, try a "
        "smaller model or context (`%config CodeActMagics.context_size = 4096`), fewer GPU "
        f"layers, or `%config CodeActMagics.device = 'cpu'`. Full log: {path}{last}"
    )


def _cause(code: int) -> str:
    if code < 0:
        name = _signal_name(-code)
        return {
            "SIGSEGV": "it crashed inside llama.cpp (segmentation fault)",
            "SIGBUS": "it crashed inside llama.cpp (bus error)",
            "SIGILL": "it crashed inside llama.cpp (an instruction this CPU lacks: a build for "
                      "another CPU?)",
            "SIGABRT": "llama.cpp aborted (often out of GPU or CPU memory)",
            "SIGKILL": "it was killed (SIGKILL): most often the system's out-of-memory killer, "
                       "when the model and the notebook's data need more memory than there is",
        }.get(name, f"it was ended by {name}")
    return f"it exited with status {code}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


# How long a new task waits for the host to finish a reply the user stopped while the host
# was reading a long prompt (it cannot stop mid-prompt); after that it starts a fresh host.
FINISH_SECONDS = 5.0

_host: ModelHost | None = None


def get_host() -> tuple[ModelHost, str | None]:
    """The kernel's model host, started now if there is none, if the last one died, or if it
    is stuck in a request the user stopped (a hung native call, or a very long prompt).
    With it, a line for the user when an earlier host had to be replaced, else None."""
    global _host
    replaced = None
    if _host is not None and not _host.alive() and not _host.death_told:
        code = _host._proc.returncode
        replaced = (f"The model process had stopped since the last task ({_cause(code)}); a "
                    f"fresh one was started. Its log: {_host.log_path}")
    elif _host is not None and _host.busy():
        replaced = ("The model process was still busy with a stopped reply after "
                    f"{FINISH_SECONDS:g} s; a fresh one was started.")
    if _host is not None and (replaced or not _host.alive()):
        _host.stop(timeout=0.5)
        _host = None
    if _host is None:
        _host = ModelHost()
    return _host, replaced


def current_host() -> ModelHost | None:
    return _host


def stop_host() -> bool:
    """End the model host and free its memory. True when one was running."""
    global _host
    host, _host = _host, None
    if host is None:
        return False
    running = host.alive()
    host.stop()
    return running


atexit.register(stop_host)
