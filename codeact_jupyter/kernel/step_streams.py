"""A step's ``sys.stdout`` and ``sys.stderr``: the user's own streams, tapped for the step.

While a step runs, what it writes is shown live (up to ``DISPLAY_LIMIT`` characters) and
kept for the model (a head and a tail). The stand-ins behave like the streams they wrap:
same attributes, same answers, same errors (a kernel's stream refuses bytes; a terminal's
has a ``.buffer``, a kernel's has none). An object that keeps a stand-in past the step
(``logging.basicConfig()`` makes a handler holding ``sys.stderr``; a thread may hold
``sys.stdout``) finds it ended: it then hands everything to the real stream, unrecorded
and unlimited, so the user's own cells never meet a codeact limit.
"""
from __future__ import annotations

import codecs
import sys
import threading

# Characters of a step's stream output shown live; the rest is counted, not shown.
DISPLAY_LIMIT = 200_000
CUT_NOTE = (f"\n[codeact: output cut after {DISPLAY_LIMIT:,} characters; "
            "the model sees its head and tail]\n")


class StreamCapture:
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


class StepOutput:
    """What one step writes to its streams: recorded for the model, shown up to the limit.
    Threads the step started may write at the same time, hence the lock."""

    def __init__(self, keep: int, display_limit: int = DISPLAY_LIMIT, show: bool = True):
        self.capture = StreamCapture(keep)
        # show=False: record only (the JupyterLab mirror shows the step in a cell of its own).
        self.limit = display_limit if show else 0
        self.show = show
        self.shown = 0
        self.muted = False  # while IPython echoes a result or a traceback: shown, not recorded
        self._lock = threading.Lock()
        self._decoders: dict[str, codecs.IncrementalDecoder] = {}

    def write(self, stream, name: str, text: str):
        with self._lock:
            if not self.muted:
                self.capture.add(name, text)
            room = self.limit - self.shown
            self.shown += len(text)
        if len(text) < room:
            return stream.write(text)
        if room > 0:
            stream.write(text[:room])
            stream.write(CUT_NOTE)
        return len(text)

    def write_bytes(self, buffer, name: str, data, encoding: str):
        text = self._decoder(name, encoding).decode(bytes(data))
        with self._lock:
            if not self.muted:
                self.capture.add(name, text)
            room = self.limit - self.shown
            self.shown += len(text)
        return buffer.write(data) if room > 0 else len(data)

    def _decoder(self, name: str, encoding: str) -> codecs.IncrementalDecoder:
        if name not in self._decoders:  # a character may be split across two writes
            self._decoders[name] = codecs.getincrementaldecoder(encoding)(errors="replace")
        return self._decoders[name]


class StepStream:
    """Stands in for ``sys.stdout`` or ``sys.stderr`` while a step runs; see the module."""

    def __init__(self, stream, name: str, output: StepOutput):
        self._codeact_real = stream
        self._codeact_name = name
        self._codeact_output: StepOutput | None = output

    def write(self, text):
        output = self._codeact_output
        if output is None or not isinstance(text, str):  # after the step; or for the real
            return self._codeact_real.write(text)        # stream to refuse, in its own words
        return output.write(self._codeact_real, self._codeact_name, text)

    def writelines(self, lines):
        if self._codeact_output is None:
            return self._codeact_real.writelines(lines)
        for line in lines:
            self.write(line)

    def flush(self):
        return self._codeact_real.flush()

    @property
    def buffer(self):
        raw = self._codeact_real.buffer  # AttributeError where the real stream has none
        return raw if self._codeact_output is None else StepBuffer(raw, self)

    def __getattr__(self, name):  # fileno, isatty, encoding, ... of the real stream
        if name.startswith("_codeact_"):  # not set yet (copy, pickle): no endless recursion
            raise AttributeError(name)
        return getattr(self._codeact_real, name)

    def __repr__(self) -> str:
        return repr(self._codeact_real)

    def end(self) -> None:
        """The step is over: from now on, pass everything to the real stream."""
        self._codeact_output = None


class StepBuffer:
    """The binary side of a tapped stream (``sys.stdout.buffer``), where the real one has it."""

    def __init__(self, raw, stream: StepStream):
        self._codeact_raw = raw
        self._codeact_stream = stream

    def write(self, data):
        stream = self._codeact_stream
        output = stream._codeact_output
        if output is None or not isinstance(data, (bytes, bytearray, memoryview)):
            return self._codeact_raw.write(data)
        encoding = getattr(stream._codeact_real, "encoding", None) or "utf-8"
        return output.write_bytes(self._codeact_raw, stream._codeact_name, data, encoding)

    def __getattr__(self, name):
        if name.startswith("_codeact_"):
            raise AttributeError(name)
        return getattr(self._codeact_raw, name)


def hide_frames(error: BaseException | None, modules: frozenset[str]) -> None:
    """Unlink the frames of ``modules`` (by name) from the tracebacks of ``error`` and of the
    errors chained to it, so a step's traceback reads as the same code's would in a cell."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        node = exc.__traceback__
        while node is not None and node.tb_frame.f_globals.get("__name__") in modules:
            node = node.tb_next
        if node is not exc.__traceback__:
            exc.__traceback__ = node
        while node is not None and node.tb_next is not None:
            if node.tb_next.tb_frame.f_globals.get("__name__") in modules:
                node.tb_next = node.tb_next.tb_next
            else:
                node = node.tb_next
        todo += [exc.__cause__, exc.__context__]


def release_logging() -> None:
    """Give logging handlers made during a step (``logging.basicConfig()``) the real stream
    back, so nothing of ours stays in the user's logging set-up. Anything else that kept a
    stand-in finds it ended, which passes everything to the real stream."""
    logging = sys.modules.get("logging")
    if logging is None:
        return
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", ()):  # placeholders have none
            stream = getattr(handler, "stream", None)
            if isinstance(stream, StepStream) and stream._codeact_output is None:
                handler.setStream(stream._codeact_real)
