"""How the magic shows a task: rich (Markdown, live updates) in JupyterLab, Notebook 7 and
VS Code; plain text in a terminal IPython. Both are sinks of the loop's events; the
steps' own outputs appear live underneath, printed by the kernel as for any cell."""
from __future__ import annotations

import html
import re
import sys
import time

from .events import (Answer, CodeAction, Done, Error, Event, Notice, Observation, TaskStarted,
                     TextDelta, TurnStarted, TurnStats)
from .parsing import EXECUTE_CLOSE, EXECUTE_OPEN

UPDATE_INTERVAL = 0.05  # seconds between live updates of the streaming text


def as_markdown(text: str) -> str:
    """The model's text with code blocks shown as highlighted Python."""
    text = re.sub(r"\s*<execute>\s*", "\n\n```python\n", text)
    return re.sub(r"\s*</execute>\s*", "\n```\n", text).lstrip("\n")


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


def observation_note(event: Observation) -> str | None:
    if event.status == "timeout":
        return f"Step {event.step} ran past the time limit and was stopped; the model was told."
    if event.status == "skipped":
        return f"Step {event.step} skipped; the model was told you declined it."
    return None


class RichDisplay:
    def __init__(self):
        self.text = ""
        self.handle = None
        self.last_update = 0.0

    def __call__(self, event: Event) -> None:
        if isinstance(event, TaskStarted):
            self._show(f"**codeact** · {event.backend}", f"codeact · {event.backend}")
        elif isinstance(event, TurnStarted):
            self.text, self.handle = "", None
        elif isinstance(event, TextDelta):
            self.text += event.text
            if time.monotonic() - self.last_update >= UPDATE_INTERVAL:
                self._stream()
        elif isinstance(event, CodeAction):
            thought = f"{event.thought}\n\n" if event.thought else ""
            self.text = f"{thought}{EXECUTE_OPEN}\n{event.code}\n{EXECUTE_CLOSE}"
            self._stream()
        elif isinstance(event, Answer):
            self.text = event.text
            self._stream()
        elif isinstance(event, Observation) and observation_note(event):
            self._note(observation_note(event))
        elif isinstance(event, TurnStats):
            self._note(stats_line(event))
        elif isinstance(event, Notice):
            self._note(event.text)
        elif isinstance(event, Error):
            self._show_raw({
                "text/html": f'<div style="color:var(--jp-error-color1,#d32f2f)"><b>codeact:</b> '
                             f"{html.escape(event.message)}</div>",
                "text/plain": f"codeact: {event.message}"})

    def _stream(self) -> None:
        data = {"text/markdown": as_markdown(self.text), "text/plain": self.text}
        if self.handle is None:
            self.handle = self._show_raw(data, display_id=True)
        else:
            self.handle.update(data, raw=True)
        self.last_update = time.monotonic()

    def _note(self, text: str) -> None:
        self._show_raw({"text/html": f'<div style="opacity:0.7;font-size:90%">{html.escape(text)}</div>',
                        "text/plain": f"[{text}]"})

    def _show(self, markdown: str, plain: str) -> None:
        self._show_raw({"text/markdown": markdown, "text/plain": plain})

    @staticmethod
    def _show_raw(data: dict, display_id: bool = False):
        from IPython.display import display

        return display(data, raw=True, display_id=display_id or None)


class PlainDisplay:
    """Terminal IPython: the text streams as it comes; steps' outputs follow."""

    def __init__(self, stream=None):
        self.stream = stream

    def write(self, text: str) -> None:
        out = self.stream or sys.stdout
        out.write(text)
        out.flush()

    def __call__(self, event: Event) -> None:
        if isinstance(event, TaskStarted):
            self.write(f"[codeact · {event.backend}]\n")
        elif isinstance(event, TextDelta):
            self.write(event.text)
        elif isinstance(event, CodeAction):
            self.write(f"\n[step {event.step} running]\n")
        elif isinstance(event, Observation) and observation_note(event):
            self.write(f"[{observation_note(event)}]\n")
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
