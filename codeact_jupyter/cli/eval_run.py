"""One eval task, one repeat: a fresh kernel in a folder of its own, the setup cells, the
task (headless.run_task), the verdict (checking.py), and the result row."""
from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from .headless import run_task
from .kernel import HeadlessKernel, call_code
from .results import HARNESS_ERROR
from .suite import EvalTask

ANSWER_CHARS = 500  # of the answer, kept in the row


def setup_notebook(task: EvalTask):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = nbformat.read(task.setup_notebook, as_version=4) if task.setup_notebook else new_notebook()
    nb.cells += [new_code_cell(code) for code in task.setup]
    return nb


def spec_of(task: EvalTask) -> dict:
    return {"expected": task.expected, "tolerance": task.tolerance, "checker": task.checker,
            "setup": list(task.setup), "failing_cell": task.failing_cell}


async def run_one(task: EvalTask, repeat: int, settings: dict, notebooks: Path | None,
                  kernel_name: str | None = None, action_mode: str = "code") -> dict:
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix=f"codeact-eval-{task.id}-")
    row = {"id": task.id, "category": task.category, "repeat": repeat}
    try:
        nb = setup_notebook(task)
        async with HeadlessKernel(workdir, kernel_name) as kernel:
            kernel_ready = time.monotonic()
            failures = []
            await kernel.run_cells(nb, failures.append)
            setup_done = time.monotonic()
            unexpected = [f for f in failures if task.failing_cell is None
                          or f.index != _cell_index(nb, task) ]
            if unexpected:
                first = unexpected[0]
                return _row(row, started, success=False, done_reason="setup_error",
                            reason=f"setup cell {first.index + 1} failed: {first.error} (a fault of the task, not the model)")
            outcome = await run_task(kernel, task.prompt, settings, action_mode=action_mode, tools=task.tools)
            task_done = time.monotonic()
            answer = outcome.record.get("answer")
            check = await kernel.call(call_code("codeact_jupyter.cli.checking", "check_in_kernel",
                                                {"spec": spec_of(task), "answer": answer}))
            verdicts = check.of_kind("check")
            result = verdicts[-1]["result"] if verdicts else {
                "passed": False, "reason": f"the checker could not run: {check.error or 'no verdict'}"}
        if notebooks is not None:
            _write(nb, task, outcome, notebooks / f"{task.id}-r{repeat}.ipynb")
        record = outcome.record
        if record.get("done_reason") == "error" and not record.get("turns"):
            # The backend failed before the model said anything (a missing model file, an
            # unreachable server): the setup's fault, not the model's.
            return _row(row, started, success=False, done_reason=HARNESS_ERROR, reason=outcome.reason,
                        backend=record.get("backend"))
        reason = result["reason"]
        if not outcome.answered and not result["passed"]:
            reason = f"{outcome.reason}; {reason}"
        return _row(row, started, success=bool(result["passed"]), reason=reason,
                    done_reason=record.get("done_reason"), turns=record.get("turns"),
                    steps=record.get("steps"), errors=record.get("errors"),
                    prompt_tokens=record.get("prompt_tokens"),
                    generated_tokens=record.get("generated_tokens"),
                    kernel_seconds=round(kernel_ready - started, 3),
                    setup_seconds=round(setup_done - kernel_ready, 3),
                    task_seconds=round(task_done - setup_done, 3),
                    answer=(answer or "")[:ANSWER_CHARS] if answer is not None else None,
                    backend=record.get("backend"))
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except Exception as exc:  # the kernel could not start, codeact could not load in it...:
        # one run fails, with the reason; the others go on
        return _row(row, started, success=False, done_reason=HARNESS_ERROR,
                    reason=f"{type(exc).__name__}: {exc}" if not isinstance(exc, RuntimeError) else str(exc))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _cell_index(nb, task: EvalTask) -> int:
    """The notebook index of the task's failing setup cell (setup cells come last)."""
    return len(nb.cells) - len(task.setup) + task.failing_cell - 1


def _write(nb, task: EvalTask, outcome, path: Path) -> None:
    import nbformat

    from .notebook_out import add_run

    path.parent.mkdir(parents=True, exist_ok=True)
    add_run(nb, task.prompt, outcome.events, outcome.record, origin="eval")
    nbformat.write(nb, path)


def _row(row: dict, started: float, **fields) -> dict:
    base = {"success": False, "reason": "", "done_reason": None, "turns": 0, "steps": 0,
            "errors": 0, "prompt_tokens": None, "generated_tokens": None,
            "kernel_seconds": None, "setup_seconds": None, "task_seconds": None,
            "answer": None, "backend": None}
    base.update(fields)
    return {**row, **base, "wall_seconds": round(time.monotonic() - started, 3)}
