"""Running a verification plan in a fresh kernel (nbclient), away from the live one.

nbclient runs in a thread of its own with its own event loop, so the live kernel's loop
is never touched, and the calling thread stays free to print progress and to take the
user's Stop (an interrupt): the fresh kernel is then interrupted and shut down, and the
cells not yet run are reported as such (the verification returns; nothing is raised). Each cell has a time limit, and so has the whole.

Every wait is bounded, also for a cell that ignores SIGINT: past a cell's limit (or the
whole's, or on Stop) the kernel is interrupted, then shut down, then killed, within
``ESCALATE`` seconds a stage; no fresh kernel outlives the verification. Its own log lines
(``[IPKernelApp] WARNING ...``) go nowhere: the report is about the notebook.
"""
from __future__ import annotations

import asyncio
import queue
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from .plan import Planned

NOT_RUN = "not run"
ESCALATE = 2.0  # seconds between interrupt, shutdown and kill of a kernel that does not stop


@dataclass
class Outcome:
    planned: Planned
    status: str  # "ok", "error", "timeout", "not run"
    outputs: list[dict] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _Shared:
    cancel: threading.Event = field(default_factory=threading.Event)
    messages: "queue.Queue[str | None]" = field(default_factory=queue.Queue)
    loop: asyncio.AbstractEventLoop | None = None
    client: object = None
    error: BaseException | None = None


def run_cells(cells: list[Planned], kernel_name: str, cwd: str, cell_timeout: float,
              max_seconds: float, progress: Callable[[str], None]) -> list[Outcome]:
    outcomes = [Outcome(p, NOT_RUN) for p in cells]
    shared = _Shared()
    worker = threading.Thread(target=_work, name="codeact-verify", daemon=True,
                              args=(shared, outcomes, kernel_name, cwd, cell_timeout,
                                    time.monotonic() + max_seconds))
    worker.start()
    try:
        while True:
            try:  # a timeout, so that an interrupt is taken at once
                message = shared.messages.get(timeout=0.2)
            except queue.Empty:
                continue
            if message is None:
                break
            progress(message)
    except KeyboardInterrupt:  # the user's Stop: end here, report what ran
        progress("verify: stopping; the fresh kernel is shut down.")
        _stop(shared)
        worker.join(ESCALATE)  # the kernel is gone by now: the worker only tidies up
        return outcomes
    worker.join()
    if shared.error is not None:
        raise shared.error
    return outcomes


def _work(shared: _Shared, outcomes, kernel_name, cwd, cell_timeout, deadline) -> None:
    try:
        asyncio.run(_run(shared, outcomes, kernel_name, cwd, cell_timeout, deadline))
    except BaseException as exc:  # shown to the user by the calling thread
        shared.error = exc
    finally:
        shared.messages.put(None)


async def _run(shared: _Shared, outcomes: list[Outcome], kernel_name, cwd, cell_timeout, deadline):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    shared.loop = asyncio.get_running_loop()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(o.planned.source) for o in outcomes])
    client = shared.client = NotebookClient(
        nb, timeout=int(max(1, cell_timeout)), kernel_name=kernel_name, allow_errors=True,
        interrupt_on_timeout=True, resources={"metadata": {"path": cwd}})
    shared.messages.put(f"verify: starting a fresh {kernel_name} kernel in {cwd}")
    async with client.async_setup_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        for index, outcome in enumerate(outcomes):
            if shared.cancel.is_set():
                return
            if time.monotonic() > deadline:
                shared.messages.put("verify: time is up; the remaining cells are not run.")
                return
            shared.messages.put(f"verify: [{index + 1}/{len(outcomes)}] {outcome.planned.label}")
            started = time.monotonic()
            cell = nb.cells[index]
            # nbclient interrupts a cell past its limit; a cell that ignores the interrupt is
            # ended here, a little later, by taking the kernel down (the rest is not run).
            bound = min(cell_timeout + 2 * ESCALATE, max(0.0, deadline - time.monotonic()) + ESCALATE)
            try:
                await asyncio.wait_for(client.async_execute_cell(cell, index), bound)
            except (asyncio.TimeoutError, CellTimeoutError):
                outcome.status, outcome.seconds = "timeout", time.monotonic() - started
                shared.messages.put("verify: a cell did not stop when interrupted; the fresh kernel "
                                    "is shut down and the remaining cells are not run.")
                await _take_down(client.km)
                return
            except DeadKernelError:
                if shared.cancel.is_set():
                    return  # the user's Stop took the kernel down: this cell counts as not run
                outcome.seconds = time.monotonic() - started
                if outcome.seconds >= cell_timeout:  # nbclient gave up on a cell deaf to interrupts
                    outcome.status = "timeout"
                    shared.messages.put("verify: a cell did not stop when interrupted; the fresh "
                                        "kernel is shut down and the remaining cells are not run.")
                    await _take_down(client.km)
                    return
                outcome.status, outcome.outputs = "error", [_died()]
                shared.messages.put("verify: the fresh kernel died; the remaining cells are not run.")
                return
            if shared.cancel.is_set():
                return  # interrupted by the user's Stop: this cell counts as not run
            outcome.seconds = time.monotonic() - started
            outcome.outputs = [dict(o) for o in cell.get("outputs", [])]
            errors = [o for o in outcome.outputs if o.get("output_type") == "error"]
            if errors and errors[-1].get("ename") == "KeyboardInterrupt" and outcome.seconds >= cell_timeout:
                outcome.status = "timeout"
            else:
                outcome.status = "error" if errors else "ok"


def _stop(shared: _Shared) -> None:
    """The user's Stop: interrupt the fresh kernel, and take it down if that does not end
    the cell within ESCALATE seconds."""
    shared.cancel.set()
    client, loop = shared.client, shared.loop
    km = getattr(client, "km", None)
    if km is None or loop is None or not loop.is_running():
        return
    try:
        asyncio.run_coroutine_threadsafe(_call(km.interrupt_kernel), loop).result(ESCALATE)
    except Exception:
        pass
    try:
        asyncio.run_coroutine_threadsafe(_take_down(km), loop).result(3 * ESCALATE)
    except Exception:  # the loop is stuck: kill the process from here
        _kill_now(km)


async def _take_down(km) -> None:
    """Shut the kernel down, then kill it if it is still there; bounded by 2 × ESCALATE."""
    try:
        await asyncio.wait_for(_call(km.shutdown_kernel, now=True), ESCALATE)
    except Exception:
        pass
    _kill_now(km)


def _kill_now(km) -> None:
    """SIGKILL the kernel's process if it still runs (a no-op once it is gone)."""
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    try:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(ESCALATE)
    except Exception:
        pass


async def _call(method, *args, **kwargs) -> None:
    result = method(*args, **kwargs)
    if asyncio.iscoroutine(result):
        await result


def _died() -> dict:
    return {"output_type": "error", "ename": "DeadKernelError",
            "evalue": "the kernel died while running this cell", "traceback": []}
