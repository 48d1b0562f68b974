"""The kernel side of the JupyterLab extension: events go to the browser over a comm.

One comm per run, on target ``codeact``. Each event is sent as
``{"run_id", "origin", "cell_id", "event": event.to_dict()}``; the browser mirrors them
(step cells, the answer cell, the side panel). Nothing here ever waits for the browser:
while a task runs the kernel is busy, so a reply could not be read before the task ends.

Where no JupyterLab extension listens (Notebook without it, VS Code, nbclient, a terminal),
the messages go nowhere and the magic's own output stays complete. Outside a kernel the
``comm`` package hands out a DummyComm that sends nothing.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any

from .events import Event

TARGET = "codeact"
ORIGINS = ("magic", "panel")

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

    def __call__(self, event: Event) -> None:
        if self._closed or self._broken:
            return
        payload = event.to_dict()
        if self.run_id is None:
            # TaskStarted, the first event of every run, carries the run's id.
            self.run_id = payload.get("run_id") or uuid.uuid4().hex[:12]
        try:
            if self._comm is None:
                self._comm = _open_comm(self._header())
            self._comm.send({**self._header(), "event": payload})
        except Exception:  # the mirror must never break the task
            self._broken = True
            log.warning("codeact: could not send events to JupyterLab", exc_info=True)

    def close(self) -> None:
        if self._closed:
            return
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

    def _header(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "origin": self.origin, "cell_id": self.cell_id}


def _open_comm(data: dict[str, Any]):
    from comm import create_comm

    return create_comm(target_name=TARGET, data=data)


def executing_cell_id() -> str | None:
    """The id of the cell being executed, which JupyterLab sends as ``cellId`` in the
    execute request's metadata; None elsewhere (or outside a kernel)."""
    parent = _parent_request()
    metadata = parent.get("metadata") if isinstance(parent, dict) else None
    cell_id = metadata.get("cellId") if isinstance(metadata, dict) else None
    return cell_id if isinstance(cell_id, str) and cell_id else None


def _parent_request() -> dict:
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
