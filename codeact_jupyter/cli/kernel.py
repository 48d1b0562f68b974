"""A fresh kernel driven by the ``codeact`` command: the notebook's cells run through
nbclient (so their outputs are recorded as Jupyter would), then calls into
:mod:`.in_kernel` whose comm messages (protocol.py) come back as they are sent.

Async, so that ``codeact eval`` drives several kernels from one process.
"""
from __future__ import annotations

import json
import queue
from dataclasses import dataclass, field
from typing import Callable

from .protocol import TARGET

POLL = 1.0  # seconds between checks that the kernel still lives
LOAD = "%load_ext codeact_jupyter"  # before the cells, so errors of cells are recorded for the context


@dataclass
class CellFailure:
    index: int
    error: str  # "NameError: name 'x' is not defined"


@dataclass
class Reply:
    """What one call into the kernel sent back over the comm, and how the request ended."""

    messages: list[dict] = field(default_factory=list)
    status: str = "ok"
    error: str | None = None

    def of_kind(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m.get("kind") == kind]


class HeadlessKernel:
    """``async with HeadlessKernel(cwd, kernel_name) as kernel:`` a kernel of our own,
    shut down on leaving (also on cancellation)."""

    def __init__(self, cwd: str, kernel_name: str | None = None, env: dict | None = None):
        self.cwd = cwd
        self.kernel_name = kernel_name or "python3"
        self.env = env
        self.km = None
        self.kc = None

    async def __aenter__(self) -> "HeadlessKernel":
        import os
        import subprocess

        from jupyter_client.kernelspec import NoSuchKernel
        from jupyter_client.manager import AsyncKernelManager

        self.km = AsyncKernelManager(kernel_name=self.kernel_name)
        # The kernel's own chatter (its start-up warnings) is not ours to show. An in-memory
        # history: parallel kernels never share (or lock) one SQLite file.
        try:
            await self.km.start_kernel(cwd=self.cwd, env=self.env or dict(os.environ),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       extra_arguments=["--HistoryManager.hist_file=:memory:"])
        except NoSuchKernel:
            raise RuntimeError(f"No kernel named {self.kernel_name!r} is installed here "
                               "(`jupyter kernelspec list` shows those that are); pick one "
                               "with --kernel.") from None
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            await self.kc.wait_for_ready(timeout=120)
            loaded = await self.call(LOAD)
            if loaded.status != "ok":
                raise RuntimeError(f"codeact_jupyter could not be loaded in the kernel "
                                   f"{self.kernel_name!r} ({loaded.error}). Install codeact-jupyter "
                                   "in that kernel's environment, or pick another with --kernel.")
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        if self.km is not None:
            try:
                await self.km.shutdown_kernel(now=True)
            finally:
                self.km = None

    async def interrupt(self) -> None:
        if self.km is not None:
            await self.km.interrupt_kernel()

    async def run_cells(self, nb, on_failure: Callable[[CellFailure], None] | None = None,
                        skip: set[int] = frozenset()) -> None:
        """Run the notebook's code cells in order (but those whose index is in ``skip``),
        recording their outputs in ``nb``; a cell that fails is recorded too and the rest
        still run (the task may be about it)."""
        from nbclient import NotebookClient

        client = NotebookClient(nb, km=self.km, allow_errors=True, timeout=None,
                                resources={"metadata": {"path": self.cwd}})
        client.kc = self.kc
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip() or index in skip:
                continue
            await client.async_execute_cell(cell, index)
            error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
            if error is not None and on_failure is not None:
                on_failure(CellFailure(index, f"{error.get('ename')}: {error.get('evalue')}"))

    async def call(self, code: str, on_message: Callable[[dict], None] | None = None) -> Reply:
        """Run ``code`` unrecorded (no history, no execution count, no input) and gather
        the comm messages it sends, each passed to ``on_message`` as it arrives."""
        reply = Reply()
        comms: set[str] = set()

        def hook(msg: dict) -> None:
            kind, content = msg["header"]["msg_type"], msg["content"]
            if kind == "comm_open" and content.get("target_name") == TARGET:
                comms.add(content["comm_id"])
            elif kind == "comm_msg" and content.get("comm_id") in comms:
                data = content.get("data") or {}
                reply.messages.append(data)
                if on_message is not None:
                    on_message(data)
            elif kind == "error":
                reply.error = f"{content.get('ename')}: {content.get('evalue')}"

        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False)
        while True:
            try:
                msg = await self.kc.get_iopub_msg(timeout=POLL)
            except queue.Empty:
                if not await self.km.is_alive():  # a step killed it: no idle will come
                    reply.status, reply.error = "error", "the kernel died"
                    return reply
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            hook(msg)
            if msg["header"]["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        reply.status = "error" if reply.error else "ok"
        await self._drop_shell_reply(msg_id)
        return reply


    async def _drop_shell_reply(self, msg_id: str) -> None:
        """Read the request's reply off the shell channel, so replies never pile up there."""
        while True:
            try:
                msg = await self.kc.get_shell_msg(timeout=POLL)
            except queue.Empty:
                return
            if msg["parent_header"].get("msg_id") == msg_id:
                return


def call_code(module: str, function: str, request: dict) -> str:
    """The code of an execute request that calls ``module.function(json)``, leaving no name
    behind in the user's namespace."""
    payload = json.dumps(json.dumps(request))
    return (f"__import__({module!r}, fromlist=['_']).{function}({payload})")
