"""Runs eval tasks N kernels at a time from one process (asyncio: the kernels are the
processes that work), appends each result as it comes, and shows progress. Ctrl-C or
SIGTERM cancels what runs (its kernels are shut down) and keeps what finished."""
from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from .eval_run import run_one
from .progress import Lines, bar
from .results import HARNESS_ERROR, append_row, read_rows

EXIT_OK, EXIT_SETUP, EXIT_INTERRUPTED = 0, 2, 130
# Runs in a row that never reached the model (refused, timed out) before eval stops: the
# endpoint is down, and the rest would only wait and fail the same way.
OUTAGE_RUNS = 3


def settings_for(task, settings: dict) -> dict:
    """A replay ``--model`` that is a folder holds one replay per task: FOLDER/ID.json."""
    model = settings.get("model")
    if settings.get("backend") == "replay" and model and Path(model).is_dir():
        return {**settings, "model": str(Path(model) / f"{task.id}.json")}
    return settings


def run_pool(tasks, repeats: int, settings: dict, out: Path, jobs: int, kernel_name: str | None,
             action_mode: str = "code") -> int:
    done = {(r["id"], r["repeat"]) for r in read_rows(out)}
    todo = [(t, r) for r in range(1, repeats + 1) for t in tasks if (t.id, r) not in done]
    lines = Lines()
    total = len(tasks) * repeats
    if len(todo) < total:
        lines.line(f"codeact eval: {total - len(todo)} of {total} runs already in {out}; running the other {len(todo)}")
    state = {"finished": total - len(todo), "passed": 0, "running": 0}
    setup_errors: list[str] = []  # reasons of this invocation's runs that never reached the model
    in_a_row = [0]  # such runs since the last one that reached the model
    outage: list[str] = []

    def show() -> None:
        lines.set_bar(bar(state["finished"], total, f"{state['finished']}/{total} · "
                          f"{state['passed']} passed · {state['running']} running"))

    async def one(task, repeat, gate: asyncio.Semaphore) -> None:
        async with gate:
            state["running"] += 1
            show()
            try:
                row = await run_one(task, repeat, settings_for(task, settings), out / "notebooks", kernel_name,
                                    action_mode)
            finally:
                state["running"] -= 1
            append_row(out, row)
            if row["done_reason"] == HARNESS_ERROR:
                setup_errors.append(row["reason"])
                in_a_row[0] += 1
                if in_a_row[0] >= OUTAGE_RUNS and not outage:
                    outage.append(row["reason"])
                    stop_all()
            else:
                in_a_row[0] = 0
            state["finished"] += 1
            state["passed"] += bool(row["success"])
            mark = "PASS" if row["success"] else "FAIL"
            why = "" if row["success"] else f": {row['reason']}"
            lines.line(f"{mark} {task.id} r{repeat} {row['turns'] or 0} turns "
                       f"{row['wall_seconds']:.1f}s{why}")
            show()

    runs: list[asyncio.Future] = []

    def stop_all() -> None:
        for run in runs:
            if not run.done() and run is not asyncio.current_task():
                run.cancel()

    async def everything() -> bool:
        gate = asyncio.Semaphore(jobs)
        runs.extend(asyncio.ensure_future(one(t, r, gate)) for t, r in todo)
        loop = asyncio.get_running_loop()
        stopped = []

        def stop() -> None:
            stopped.append(1)
            stop_all()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        try:
            results = await asyncio.gather(*runs, return_exceptions=True)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result
        return bool(stopped)

    show()
    stopped = asyncio.run(everything())
    lines.done()
    if outage:
        sys.stderr.write(f"codeact eval: stopped: {OUTAGE_RUNS} runs in a row could not reach the model "
                         f"({outage[0]}). Nothing of this is scored; fix it and run the same command "
                         "again (those runs run again).\n")
        return EXIT_SETUP
    if stopped:
        sys.stderr.write(f"codeact eval: interrupted; {state['finished']} of {total} runs are in {out}. "
                         "Run the same command again to finish.\n")
        return EXIT_INTERRUPTED
    if todo and len(setup_errors) == len(todo):
        sys.stderr.write(f"codeact eval: no run reached the model: {setup_errors[0]}\n"
                         "Nothing was scored; fix this and run the same command again.\n")
        return EXIT_SETUP
    return EXIT_OK
