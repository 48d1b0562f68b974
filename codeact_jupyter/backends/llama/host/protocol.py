"""The wire between the kernel and its model host: one JSON object per line.

Requests (kernel to host) carry an ``id`` and an ``op``; the host answers each with messages
of the same ``id``, the last of which has ``"end": true``. A ``cancel`` names the request to
stop and gets no answer of its own: the request it names ends early, as usual.

Lines are read with ``os.read`` into our own buffer, never through a buffered file object:
an interrupt (the user's Stop) that lands mid-read then loses nothing, since bytes not yet
read are still in the pipe and bytes read are still in the buffer.
"""
from __future__ import annotations

import json
import os
import select
import time
from typing import Any

CHUNK = 1 << 16


def encode(message: dict[str, Any]) -> bytes:
    # ensure_ascii keeps lone surrogates (a broken task text) encodable as \udXXX escapes.
    return (json.dumps(message, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class LineReader:
    """Splits what arrives on ``fd`` into decoded messages. ``read()`` returns the next
    message, or None at end of file (the other side is gone)."""

    def __init__(self, fd: int):
        self.fd = fd
        self._buffer = bytearray()
        self._eof = False

    def read(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next message; None at end of file. With a ``timeout`` (seconds), raise
        TimeoutError when no whole message came in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                return json.loads(line)
            if self._eof:
                return None
            if deadline is not None and os.name != "nt":  # select() takes no pipes on Windows
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    raise TimeoutError("no message in time")
            data = os.read(self.fd, CHUNK)
            if not data:
                self._eof = True
            self._buffer += data
