"""Which files a step opened for writing, from Python's audit events (``open``).

An audit hook cannot be removed once added, so there is one per process, added at the
first step, and it does nothing unless a step is being recorded on the thread that runs
it. Writes that bypass Python's ``open`` (a subprocess, a C library writing on its own)
are not seen; the list says "where known".
"""
from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_installed = False
_recording: list[str] | None = None  # the paths of the step being recorded
_thread: int | None = None


def _on_audit(event: str, args: tuple) -> None:
    if _recording is None or event != "open" or threading.get_ident() != _thread:
        return
    try:
        path, mode, flags = args
        if isinstance(path, int):
            return  # a file descriptor: already open
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITE_FLAGS)
        if writes:
            path = os.path.abspath(os.fsdecode(path))
            if path not in _recording:
                _recording.append(path)
    except Exception:  # the audit hook must never break the step
        pass


@contextmanager
def recording_writes():
    """Within the block, paths opened for writing on this thread are collected in the list
    it yields."""
    global _installed, _recording, _thread
    if not _installed:
        sys.addaudithook(_on_audit)
        _installed = True
    outer = (_recording, _thread)
    paths: list[str] = []
    _recording, _thread = paths, threading.get_ident()
    try:
        yield paths
    finally:
        _recording, _thread = outer
