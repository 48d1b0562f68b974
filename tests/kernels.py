"""Driving a real ipykernel the way a front end does (jupyter_client), for tests."""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager

from jupyter_client.manager import start_new_kernel


@contextmanager
def running_kernel(**env: str):
    km, kc = start_new_kernel(kernel_name="python3", env={**os.environ, **env})
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        # Also for a kernel a test killed: the manager's sockets must be closed, or the
        # garbage collector later blocks in zmq's Context.term, inside whichever test runs.
        km.shutdown_kernel(now=True)


def run_cell(kc, code: str, timeout: float = 180) -> tuple[dict, str]:
    """Run a cell like a front end; return the reply and everything it printed or displayed."""
    texts: list[str] = []

    def on_output(msg):
        content = msg["content"]
        data = content.get("data") or {}
        texts.append(content.get("text") or data.get("text/markdown") or data.get("text/plain", "")
                     or "\n".join(content.get("traceback", [])))

    reply = kc.execute_interactive(code, timeout=timeout, output_hook=on_output)
    return reply["content"], "".join(texts)


def run_json(kc, code: str) -> dict:
    """Run code whose last printed line is JSON; return it."""
    reply, text = run_cell(kc, code)
    assert reply["status"] == "ok", text
    return json.loads(text.strip().splitlines()[-1])


def until(condition, within: float = 10.0) -> bool:
    """Wait for ``condition()`` to hold; False if it still does not after ``within`` s."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def gone(pid: int, within: float = 10.0) -> bool:
    """Has process ``pid`` ended (a zombie waiting for its reaper counts as ended)?"""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def cell_text(cell, tracebacks: bool = True) -> str:
    """What a notebook cell shows, as text: streams, Markdown or plain results, and errors
    (the whole traceback, or ``ename: evalue`` with ``tracebacks=False``)."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append("\n".join(out.traceback) if tracebacks else f"{out.ename}: {out.evalue}")
        elif "data" in out:
            parts.append(out.data.get("text/markdown") or out.data.get("text/plain", ""))
    return "\n".join(parts)
