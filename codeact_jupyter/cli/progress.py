"""Progress on stderr: a line per step (and per notice or error), always; where stderr is a
terminal, also a bar redrawn in place under those lines. Nothing here goes to stdout, which
holds only the answer (or the eval summary)."""
from __future__ import annotations

import sys
import time

WIDTH = 24


def bar(done: int, total: int, label: str) -> str:
    filled = WIDTH * done // total if total else 0
    return f"[{'#' * filled}{'.' * (WIDTH - filled)}] {label}"


class Lines:
    """Writes whole lines, and keeps a bar (if any) below them on a terminal."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._bar = ""

    def line(self, text: str) -> None:
        self._clear()
        self.stream.write(text + "\n")
        self._draw()

    def set_bar(self, text: str) -> None:
        if not self.tty:
            return
        self._clear()
        self._bar = text
        self._draw()

    def done(self) -> None:
        self._clear()
        self._bar = ""

    def _clear(self) -> None:
        if self.tty and self._bar:
            self.stream.write("\r\033[K")

    def _draw(self) -> None:
        if self.tty and self._bar:
            self.stream.write(self._bar)
        self.stream.flush()


class RunProgress:
    """The events of one ``codeact run`` task, as lines: ``step 2 ok 0.4s  df.groupby(...)``."""

    def __init__(self, max_turns: int, lines: Lines | None = None):
        self.lines = lines or Lines()
        self.max_turns = max_turns
        self._started = time.monotonic()

    def __call__(self, event: dict) -> None:
        kind = event["type"]
        if kind == "task_started":
            self.lines.line(f"codeact: {event['backend']}")
        elif kind == "turn_started":
            self.lines.set_bar(bar(event["turn"] - 1, self.max_turns, f"turn {event['turn']}/{self.max_turns}"))
        elif kind == "code_action":
            self._started = time.monotonic()
        elif kind == "observation":
            seconds = time.monotonic() - self._started
            self.lines.line(f"step {event['step']} {event['status']} {seconds:.1f}s  {first_line(event['code'])}")
        elif kind == "thinking":
            cut = ", cut at the token limit" if event.get("cut") else ""
            self.lines.line(f"thought for {event['chars']:,} characters{cut}")
        elif kind == "notice":
            self.lines.line(f"note: {event['text']}")
        elif kind == "error":
            self.lines.line(f"error: {event['message']}")
        elif kind == "done":
            self.lines.done()


def first_line(code: str, width: int = 60) -> str:
    line = next((l.strip() for l in code.splitlines() if l.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"
