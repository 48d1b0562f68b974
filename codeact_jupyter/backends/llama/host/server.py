"""The model host's own process: ``python -m codeact_jupyter.backends.llama.host.server``.

It loads a GGUF model with llama-cpp-python and answers the kernel's requests (protocol.py)
on its standard input and output. Everything native code prints lands in the log file the
kernel gave as standard error; standard output is moved aside at start so that a stray
``printf`` inside llama.cpp can never corrupt the protocol.

It stops when the kernel closes the pipe, when the kernel dies (the pipe closes then too;
on Linux the kernel's death also sends it SIGKILL), and never because of an interrupt: the
user's Stop reaches it as a ``cancel`` request, between two tokens.
"""
from __future__ import annotations

import logging
import os
import queue
import signal
import sys
import threading
import time
import traceback
from dataclasses import asdict
from typing import Any

from .protocol import LineReader, encode, write_all

log = logging.getLogger("codeact.model_host")
# Longest a piece of reply text waits in the host before it is sent on (seconds).
FLUSH_SECONDS = 0.01


class Host:
    def __init__(self, out_fd: int):
        self.out_fd = out_fd
        self.requests: queue.Queue[dict] = queue.Queue()
        self.cancelled: set[int] = set()
        self.engine: Any = None
        self.engine_config: dict | None = None

    # -- reading (a thread of its own, so a cancel is seen while a reply is being written) ----

    def read_requests(self, in_fd: int) -> None:
        reader = LineReader(in_fd)
        while True:
            try:
                message = reader.read()
            except Exception:  # an unreadable line: the kernel side is broken or gone
                log.exception("unreadable request")
                message = None
            if message is None:
                log.info("the kernel closed the pipe; exiting")
                logging.shutdown()
                os._exit(0)
            if message.get("op") == "cancel":
                self.cancelled.add(message.get("target"))
            else:
                self.requests.put(message)

    # -- answering --------------------------------------------------------------------------

    def send(self, message: dict) -> None:
        write_all(self.out_fd, encode(message))

    def serve(self) -> None:
        while True:
            request = self.requests.get()
            rid = request.get("id")
            try:
                answer = self.handle(request)
            except Exception as exc:
                answer = {"error": self.error_text(exc)}
            self.cancelled.discard(rid)
            self.send({"id": rid, "end": True, **answer})

    def handle(self, request: dict) -> dict:
        op = request.get("op")
        if op == "ping":
            return {"pid": os.getpid()}
        if op == "load":
            return self.load(request["config"])
        if op == "unload":
            from ..model import unload

            self.engine = self.engine_config = None
            return {"unloaded": unload()}
        if self.engine is None:
            return {"error": "No model is loaded in the model host."}
        if op == "count":
            return {"counts": [self.engine.count_tokens(t) for t in request["texts"]]}
        if op == "generate":
            return self.generate(request)
        return {"error": f"Unknown request {op!r} for the model host."}

    def load(self, config: dict) -> dict:
        from ...base import BackendConfig
        from ..engine import LlamaEngine

        if self.engine is None or self.engine_config != config:
            self.engine = None
            try:
                import llama_cpp  # noqa: F401
            except ImportError as exc:
                return {"error": f"llama-cpp-python cannot be imported in {sys.executable} ({exc}). "
                                 "Install it in the kernel's environment (`%pip install "
                                 "llama-cpp-python`), then run the task again."}
            self.engine = LlamaEngine(BackendConfig(**config))
            self.engine_config = config
        engine = self.engine
        return {"describe": engine.describe(), "context_size": engine.context_size,
                "notices": engine.notices, "model_name": engine.info.name,
                "template_tool_turns": engine.prompt.writes_tool_turns,
                "template_reads_thinking": engine.prompt.reads_thinking}

    def generate(self, request: dict) -> dict:
        """Stream the reply. Text is sent as it comes, but at most once per FLUSH_SECONDS:
        a fast model's tokens then travel a few at a time, sparing the kernel a wake-up per
        token (which, on a small machine, takes CPU from llama.cpp's own threads)."""
        rid = request["id"]
        told = (lambda tokens: self.send({"id": rid, "reading": tokens})) if request.get("reading") else None
        stream = self.engine.stream(request["messages"], request["stop"], tools=request.get("tools"),
                                    cancelled=lambda: rid in self.cancelled, reading=told)
        pending: list[str] = []
        sent = 0.0
        for text in stream:
            pending.append(text)
            now = time.perf_counter()
            if now - sent >= FLUSH_SECONDS:
                self.send({"id": rid, "text": "".join(pending)})
                pending.clear()
                sent = now
        if pending:
            self.send({"id": rid, "text": "".join(pending)})
        usage = self.engine.last_usage
        return {"usage": asdict(usage) if usage else None, "cancelled": rid in self.cancelled}

    @staticmethod
    def error_text(exc: Exception) -> str:
        from ...base import BackendError

        if isinstance(exc, BackendError):
            return str(exc)
        log.error("request failed:\n%s", traceback.format_exc())
        return f"The model host failed: {type(exc).__name__}: {exc}"


def _die_with_parent(parent: int) -> None:
    """Linux: get SIGKILL when the kernel dies, even if a forked child of the kernel still
    holds our pipe open (the pipe's end of file would not come then)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the kernel died before prctl took effect
        os._exit(0)


def main() -> None:
    out_fd = os.dup(1)
    os.dup2(2, 1)  # native output on stdout goes to the log file, as stderr does
    sys.stdout = sys.stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Stop comes as a cancel request
    parent = int(os.environ.get("CODEACT_HOST_PARENT", "0") or 0)
    if parent:
        _die_with_parent(parent)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s codeact model host: %(message)s")
    log.info("started, pid %d, python %s", os.getpid(), sys.version.split()[0])
    from .. import model as llama_model

    llama_model.VERBOSE = True  # llama.cpp's own log lines go to the log file
    host = Host(out_fd)
    threading.Thread(target=host.read_requests, args=(0,), daemon=True,
                     name="codeact-host-reader").start()
    host.serve()


if __name__ == "__main__":
    main()
