"""How the magic shows a task: rich (Markdown, live updates) in JupyterLab, Notebook 7 and
VS Code; plain text in a terminal IPython. Both are sinks of the loop's events; the
steps' own outputs appear live underneath, printed by the kernel as for any cell.

Compact mode (``RichDisplay(compact=True)``) is for a cell whose steps the JupyterLab
extension mirrors into cells of their own (views.py): the task's cell keeps the thoughts,
one header per step and the answer, and the steps' outputs live once, in their cells.
"""
from __future__ import annotations

import html
import re
import sys
import threading
import time

from ..agent.replies import EXECUTE_CLOSE, EXECUTE_OPEN
from ..events import (Answer, CodeAction, Done, Error, Event, Notice, Observation, ReadingPrompt,
                      TaskStarted, TextDelta, Thinking, ThinkingDelta, TurnStarted, TurnStats)
from ..kernel.jsonsafe import jsonable, safe_text

UPDATE_INTERVAL = 0.05  # seconds between live updates of the streaming text
# A live update re-sends the turn's whole text, so it waits until the text has grown to
# GROWTH times what was last shown (and by GROW_MIN characters at least): all the live
# updates of a reply together cost at most 1.5 times its size, however slowly it streams.
GROWTH = 3
GROW_MIN = 64
# Characters of the text given as text/plain beside the Markdown; a longer text is cut
# (every Jupyter front end renders the Markdown).
PLAIN_LIMIT = 2000

ANSWER_POINTER = "*The answer is in the Markdown cell below, after the steps.*"

STEP_STATUS = {"ok": "done", "error": "raised an error",
               "timeout": "ran past the time limit and was stopped", "skipped": "skipped",
               "interrupted": "interrupted"}


def as_markdown(text: str) -> str:
    """The model's text with code blocks shown as highlighted Python."""
    text = re.sub(r"\s*<execute>\s*", "\n\n```python\n", text)
    return re.sub(r"\s*</execute>\s*", "\n```\n", text).lstrip("\n")


def plain(text: str) -> str:
    if len(text) <= PLAIN_LIMIT:
        return text
    return f"{text[:PLAIN_LIMIT]}\n[... {len(text) - PLAIN_LIMIT:,} more characters in the Markdown]"


def thinking_summary(event: Thinking) -> str:
    cut = ", cut at the token limit" if event.cut else ""
    return f"Thinking ({event.chars:,} characters{cut}; never run)"


def thinking_view(event: Thinking) -> str:
    """The reply's thinking, collapsed, above what the reply did."""
    body = html.escape(safe_text(event.text))
    return (f"<details><summary>{thinking_summary(event)}</summary>\n\n"
            f'<pre style="white-space:pre-wrap">{body}</pre>\n\n</details>\n\n')


def step_header(step: int, status: str | None = None) -> str:
    """Compact mode's line for a step; the status is added only when it is not "ok" (one
    display update less per turn)."""
    said = f" {STEP_STATUS.get(status, status)}" if status and status != "ok" else ""
    return f"*Step {step}{said}: its code and output are in its cell below.*"


def stats_line(stats: TurnStats) -> str:
    parts = [f"turn {stats.turn}"]
    if stats.prompt_tokens is not None:
        evaluated = f" ({stats.evaluated_tokens:,} evaluated)" if stats.evaluated_tokens is not None else ""
        parts.append(f"{stats.prompt_tokens:,} prompt tokens{evaluated}")
    if stats.generated_tokens is not None:
        parts.append(f"{stats.generated_tokens:,} generated")
    if stats.tokens_per_second:
        parts.append(f"{stats.tokens_per_second:.1f} tok/s")
    return " · ".join(parts)


def changes_note(event: Observation) -> str | None:
    """The line under a step saying which names it defined, changed or deleted."""
    if not event.changes:
        return None
    from ..kernel.namespace_changes import NamespaceChanges

    summary = NamespaceChanges.from_dict(event.changes).summary()
    return f"Step {event.step}: {summary}" if summary else None


def observation_note(event: Observation) -> str | None:
    if event.status == "timeout":
        return f"Step {event.step} ran past the time limit and was stopped; the model was told."
    if event.status == "skipped":
        return f"Step {event.step} skipped; the model was told you declined it."
    return None


def reading_line(event: ReadingPrompt) -> str:
    return f"Reading the prompt: {event.tokens:,} new tokens…"


class RichDisplay:
    def __init__(self, compact: bool = False):
        self.compact = compact
        self.text = ""
        self.thinking = ""  # the turn's thinking, collapsed above its text (or a live count)
        self.live_thinking = 0  # characters of thinking streamed apart from the text
        self.thought = ""  # compact: the turn's thought, shown above its step's header
        self.handle = None
        self.last_update = 0.0
        self.shown = 0  # characters of the text at the last update

    def __call__(self, event: Event) -> None:
        if isinstance(event, TaskStarted):
            self._show(f"**codeact** · {event.backend} · <small>run {event.run_id}</small>",
                       f"codeact · {event.backend} · run {event.run_id}")
        elif isinstance(event, TurnStarted):
            self.text, self.handle, self.shown = "", None, 0
            self.thinking, self.live_thinking = "", 0
        elif isinstance(event, ReadingPrompt):  # until the model writes, say what it does
            self.thinking = f"*{reading_line(event)}*\n\n"
            self._stream(final=False)
        elif isinstance(event, ThinkingDelta):
            self.live_thinking += len(event.text)
            if self._due(self.live_thinking):
                self.thinking = f"*Thinking… {self.live_thinking:,} characters*\n\n"
                self._stream(final=False)
        elif isinstance(event, Thinking):
            self.text, self.thinking = "", thinking_view(event)  # the streamed text held it
            self._stream()
        elif isinstance(event, TextDelta):
            if self.thinking.startswith("*Reading"):
                self.thinking = ""
            self.text += event.text
            if self._due():
                self._stream(final=False)
        elif isinstance(event, CodeAction):
            if self.compact:
                self.thought = event.thought
                self.text = self._with_thought(step_header(event.step))
            else:
                thought = f"{event.thought}\n\n" if event.thought else ""
                self.text = f"{thought}{EXECUTE_OPEN}\n{event.code}\n{EXECUTE_CLOSE}"
            self._stream()
        elif isinstance(event, Observation):
            if self.compact:
                if event.status != "ok":
                    self.text = self._with_thought(step_header(event.step, event.status))
                    self._stream()
            else:
                for note in (observation_note(event), changes_note(event)):
                    if note:
                        self._note(note)
                self._figure_descriptions(event)
        elif isinstance(event, Answer):
            # Compact: the answer lives once, in its Markdown cell (the extension inserts it
            # after the steps, below this cell); the streamed copy here becomes a pointer.
            self.text = ANSWER_POINTER if self.compact else event.text
            self._stream()
        elif isinstance(event, TurnStats):
            self._note(stats_line(event))
        elif isinstance(event, Notice):
            self._note(event.text)
        elif isinstance(event, Error):
            message = safe_text(event.message)
            self._show_raw({
                "text/html": f'<div style="color:var(--jp-error-color1,#d32f2f)"><b>codeact:</b> '
                             f"{html.escape(message)}</div>",
                "text/plain": f"codeact: {message}"})

    def record_run(self, run) -> None:
        """Keep the run's trace in this cell, as an output (trace_store.py reads it back):
        where no extension mirrors the run, nothing else can put it into the notebook.
        Compact mode leaves it to the extension, which writes it into the cell's metadata."""
        if self.compact:
            return
        from ..trace.build import MIME, run_trace, summary_line

        trace = run_trace(run)
        self._show_raw({MIME: jsonable(trace), "text/plain": summary_line(trace)})

    def _figure_descriptions(self, event: Observation) -> None:
        """What the model read about the step's figures, collapsed under them."""
        from ..figures.formatter import description_view

        view = description_view(event.outputs)
        if view is not None:
            self._show_raw(view["data"])

    def _with_thought(self, header: str) -> str:
        return f"{self.thought}\n\n{header}" if self.thought else header

    def _due(self, size: int | None = None) -> bool:
        if time.monotonic() - self.last_update < UPDATE_INTERVAL:
            return False
        size = len(self.text) if size is None else size
        return size >= max(self.shown + GROW_MIN, self.shown * GROWTH)

    def _stream(self, final: bool = True) -> None:
        text = safe_text(self.text)
        data = {"text/markdown": self.thinking + as_markdown(text)}
        if final:  # live updates carry the Markdown only; the last one the plain text too
            data["text/plain"] = plain(text) or ("[thinking, collapsed in the Markdown]" if self.thinking else "")
        if self.handle is None:
            self.handle = self._show_raw(data, display_id=True)
        else:
            with _flush_only_pending():
                self.handle.update(data, raw=True)
        self.last_update = time.monotonic()
        self.shown = max(len(self.text), self.live_thinking)

    def _note(self, text: str) -> None:
        text = safe_text(text)
        self._show_raw({"text/html": f'<div style="opacity:0.7;font-size:90%">{html.escape(text)}</div>',
                        "text/plain": f"[{text}]"})

    def _show(self, markdown: str, plain_text: str) -> None:
        self._show_raw({"text/markdown": safe_text(markdown), "text/plain": safe_text(plain_text)})

    @staticmethod
    def _show_raw(data: dict, display_id: bool = False):
        from IPython.display import display

        with _flush_only_pending():
            return display(data, raw=True, display_id=display_id or None)


class _PendingFlush:
    """A kernel stream whose flush before a display does not wait.

    ipykernel flushes stdout and stderr before each display, to keep outputs in order,
    and each flush waits for a round trip to its IO thread, written or not; the wait also
    lets IPython's history thread take its lock, and the next step waits for it: about
    1.5 ms per turn. The display goes out through the same IO thread, after whatever is
    queued there, so queueing the stream's flush keeps the order without waiting."""

    def __init__(self, stream):
        self._stream = stream

    def flush(self) -> None:
        stream = self._stream
        if not (getattr(stream, "_flush_pending", True)
                or getattr(stream, "_subprocess_flush_pending", True)):
            return  # nothing written since the last flush
        io = getattr(stream, "pub_thread", None)
        thread = getattr(io, "thread", None)
        flush_in_io_thread = getattr(stream, "_flush", None)
        if (thread is not None and thread.is_alive() and thread is not threading.current_thread()
                and flush_in_io_thread is not None):
            io.schedule(flush_in_io_thread)
        else:
            stream.flush()

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _flush_only_pending:
    def __enter__(self) -> None:
        self.saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _PendingFlush(sys.stdout), _PendingFlush(sys.stderr)

    def __exit__(self, *exc) -> None:
        sys.stdout, sys.stderr = self.saved


class PlainDisplay:
    """Terminal IPython: the text streams as it comes; steps' outputs follow."""

    def __init__(self, stream=None):
        self.stream = stream

    def write(self, text: str) -> None:
        out = self.stream or sys.stdout
        out.write(safe_text(text))
        out.flush()

    def __call__(self, event: Event) -> None:
        if isinstance(event, TaskStarted):
            self.write(f"[codeact · {event.backend} · run {event.run_id}]\n")
        elif isinstance(event, (TextDelta, ThinkingDelta)):
            self.write(event.text)
        elif isinstance(event, Thinking):
            self.write(f"\n[{thinking_summary(event)}]\n")
        elif isinstance(event, ReadingPrompt):
            self.write(f"[{reading_line(event)}]\n")
        elif isinstance(event, CodeAction):
            self.write(f"\n[step {event.step} running]\n")
        elif isinstance(event, Observation):
            for note in (observation_note(event), changes_note(event)):
                if note:
                    self.write(f"[{note}]\n")
        elif isinstance(event, TurnStats):
            self.write(f"\n[{stats_line(event)}]\n")
        elif isinstance(event, Done):
            self.write("\n")
        elif isinstance(event, Notice):
            self.write(f"\n[{event.text}]\n")
        elif isinstance(event, Error):
            self.write(f"\ncodeact: {event.message}\n")


def display_for(shell):
    """Rich output where a Jupyter front end renders it, plain text in a terminal."""
    return RichDisplay() if type(shell).__name__ == "ZMQInteractiveShell" else PlainDisplay()
