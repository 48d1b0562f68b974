"""The kernel side of the JupyterLab extension: events go to the browser over a comm.

One comm per run, on target ``codeact``. Events are sent in batches as
``{"run_id", "origin", "cell_id", "events": [event.to_dict(), ...]}``; the browser mirrors
them (step cells, the answer cell, the side panel). Nothing here ever waits for the
browser: while a task runs the kernel is busy, so a reply could not be read before the
task ends.

Traffic is bounded: the model's text goes as increments, gathered for up to
``FLUSH_INTERVAL`` (a step's start, its result and the run's end go at once); an answer
that the turn's streamed text already holds is sent as a slice of it, not a second time.

The magic opens a bridge only when the requesting window's extension announced itself
(mirror.py); the panel always does. Outside a kernel the ``comm`` package hands out a
DummyComm that sends nothing.
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from ..events import Answer, Event, TextDelta, ThinkingDelta, TurnStarted
from ..kernel.jsonsafe import jsonable, utf16_length

TARGET = "codeact"
ORIGINS = ("magic", "panel")
FLUSH_INTERVAL = 0.25  # seconds the model's text may wait to be sent with more
# Events the browser shows at once: a step cell appears as its step starts.
URGENT = ("task_started", "code_action", "observation", "answer", "error", "done")
# Answers shorter than this are sent as they are (a slice would save little).
SLICE_MIN = 256

log = logging.getLogger(__name__)


class LabBridge:
    """A sink for one run's events: ``bridge(event)`` for each, then ``bridge.close()``.

    Cheap to create (the comm opens with the first event) and never blocking. A failure
    to send is logged once and ends the mirroring; it never stops the task.
    """

    def __init__(self, origin: str = "magic"):
        if origin not in ORIGINS:
            raise ValueError(f"origin must be one of {ORIGINS}, not {origin!r}")
        self.origin = origin
        self.cell_id = executing_cell_id()
        self.run_id: str | None = None
        self._comm = None
        self._broken = False
        self._closed = False
        self._batch: list[dict[str, Any]] = []
        self._text: list[str] = []  # text not yet sent
        self._turn_text: list[str] = []  # the current turn's text, as the browser has it
        self._last_flush = 0.0

    def __call__(self, event: Event) -> None:
        if self._closed or self._broken or isinstance(event, ThinkingDelta):
            return  # thinking goes once, whole, in the reply's `thinking` event
        if isinstance(event, TextDelta):
            self._text.append(event.text)
            self._turn_text.append(event.text)
            if time.monotonic() - self._last_flush >= FLUSH_INTERVAL:
                self._flush()
            return
        if self.run_id is None:
            # TaskStarted, the first event of every run, carries the run's id.
            self.run_id = getattr(event, "run_id", None) or uuid.uuid4().hex[:12]
        self._take_text()
        if isinstance(event, TurnStarted):
            self._turn_text = []
        payload = self._answer(event) if isinstance(event, Answer) else event.to_dict()
        if payload["type"] == "observation":  # the step's cell shows what the model read of its
            from ..figures.formatter import (
                description_view,  # figures, and what the step changed
            )
            from ..kernel.namespace_changes import NamespaceChanges

            payload["outputs"] += [view] if (view := description_view(event.outputs)) else []
            payload["changes_text"] = NamespaceChanges.from_dict(event.changes).summary() \
                if event.changes else ""
        self._batch.append(payload)
        if payload["type"] in URGENT or time.monotonic() - self._last_flush >= FLUSH_INTERVAL:
            self._flush()

    def record_run(self, run) -> None:
        """At the end of the run (runner.record_run): its trace, in a message of its own
        after the events, ``{run_id, origin, cell_id, "events": [], "trace": {...}}``; the
        extension writes it into the task cell's metadata (magic) or the notebook's (panel).
        The trace is lean (trace/lean.py): its long message texts come as ``"texts"``, which
        the extension adds to the notebook's table, each stored once."""
        if self._closed or self._broken:
            return
        from ..trace.build import run_trace
        from ..trace.lean import pack

        self._flush()  # the events first
        if not self._broken:
            trace, texts = pack(run_trace(run), run.follows)
            self._send({"events": [], "trace": trace, "texts": texts})

    def close(self) -> None:
        if self._closed:
            return
        self._take_text()
        if self._batch and not self._broken:
            self._flush()
        self._closed = True
        if self._comm is not None:
            try:
                self._comm.close()
            except Exception:
                log.warning("codeact: could not close the JupyterLab comm", exc_info=True)

    def __enter__(self) -> "LabBridge":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _take_text(self) -> None:
        if self._text:
            self._batch.append({"type": "text_delta", "text": "".join(self._text)})
            self._text = []

    def _answer(self, event: Answer) -> dict[str, Any]:
        """The answer, or where it lies in the turn's streamed text (UTF-16 offsets)."""
        text = event.text
        if len(text) >= SLICE_MIN:
            streamed = "".join(self._turn_text)
            start = streamed.find(text)
            if start >= 0:
                offset = utf16_length(streamed[:start])
                return {"type": "answer", "text": "",
                        "from_stream": [offset, offset + utf16_length(text)]}
        return event.to_dict()

    def _flush(self) -> None:
        self._take_text()
        if not self._batch:
            return
        batch, self._batch = self._batch, []
        self._last_flush = time.monotonic()
        self._send({"events": batch})

    def _send(self, body: dict[str, Any]) -> None:
        try:
            if self._comm is None:
                self._comm = _open_comm(jsonable(self._header()))
            self._comm.send(jsonable({**self._header(), **body}))
        except Exception:  # the mirror must never break the task
            self._broken = True
            log.warning("codeact: could not send events to JupyterLab", exc_info=True)

    def _header(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "origin": self.origin, "cell_id": self.cell_id}


def _open_comm(data: dict[str, Any]):
    from comm import create_comm

    return create_comm(target_name=TARGET, data=data)


def executing_cell_id() -> str | None:
    """The id of the cell being executed, which JupyterLab sends as ``cellId`` in the
    execute request's metadata; None elsewhere (or outside a kernel)."""
    parent = parent_request()
    metadata = parent.get("metadata") if isinstance(parent, dict) else None
    cell_id = metadata.get("cellId") if isinstance(metadata, dict) else None
    return cell_id if isinstance(cell_id, str) and cell_id else None


def parent_request() -> dict:
    try:
        from ipykernel.kernelbase import Kernel
    except ImportError:
        return {}
    if not Kernel.initialized():
        return {}
    try:
        return Kernel.instance().get_parent() or {}
    except Exception:
        return {}
