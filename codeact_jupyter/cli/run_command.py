"""``codeact run NOTEBOOK TASK``: the notebook's cells run in a fresh kernel, then the task
with the magic's loop, in that kernel; the notebook is written with the task cell, a cell
per step, the answer cell and the run's trace. Runs the notebook already holds reproduce
from their record without the model (trace/rerun.py), this task's own included: ``--again``
asks the model again, and the new run takes the old run's place. The answer goes to stdout, progress to
stderr. Exit status: 0 the task ended with an answer; 1 it did not (turn limit, replay out
of replies, a backend error; the reason is on stderr); 2 bad usage; 130 stopped (Ctrl-C).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .options import add_model_options, settings_of

EXIT_ANSWERED, EXIT_NO_ANSWER, EXIT_USAGE, EXIT_STOPPED = 0, 1, 2, 130


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="codeact run", description=__doc__.split("\n\n")[0].strip(),
                                epilog="Exit status: 0 answered, 1 no answer (reason on stderr), "
                                       "2 bad usage, 130 stopped.")
    p.add_argument("notebook", help="the .ipynb whose cells run first (its folder is the kernel's)")
    p.add_argument("task", help="what to do; - reads it from stdin")
    p.add_argument("-o", "--output", help="where to write the notebook (default: NOTEBOOK with "
                   "-codeact before .ipynb, beside it); may be NOTEBOOK itself")
    p.add_argument("--again", action="store_true", help="ask the model again when the notebook "
                   "already holds a run of this task (a report that wants a fresh answer each "
                   "time): the new run replaces the old run's cells, keeping those edited since")
    add_model_options(p)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    source = Path(args.notebook).expanduser()
    task = sys.stdin.read() if args.task == "-" else args.task
    if not task.strip():
        return _usage("the task is empty: say what to do (or pipe it in with -).")
    if not source.is_file():
        return _usage(f"notebook not found: {source}")
    import nbformat

    try:
        nb = nbformat.read(source, as_version=4)
    except Exception as exc:
        return _usage(f"{source} is not a notebook nbformat can read ({exc}).")
    output = Path(args.output).expanduser() if args.output else source.with_name(f"{source.stem}-codeact.ipynb")
    problem = _output_problem(output)
    if problem:  # said before anything runs: the task's work must have somewhere to go
        return _usage(problem)
    args.kernel = args.kernel or notebook_kernel(nb)
    from ..trace.rerun import recorded_run
    from .notebook_out import add_run, replaced_cells

    recorded = recorded_run(nb, task.strip())
    replacing = replaced_cells(nb, recorded) if recorded is not None and args.again else None
    outcome, stopped = _run(nb, task.strip(), args, source.resolve(),
                            skip=set(replacing.indices) if replacing else set(),
                            ask=recorded is None or args.again)
    if outcome is None:
        return EXIT_STOPPED
    if outcome.record.get("reproduced"):
        sys.stderr.write(f"codeact: the notebook holds this task's run {recorded.run_id}; its cells ran "
                         "again and the model was not asked (--again asks it).\n")
    else:
        at = replacing.remove_from(nb) if replacing else None
        add_run(nb, task.strip(), outcome.events, outcome.record, at=at)
    _write_whole(nb, output)
    sys.stderr.write(f"codeact: wrote {output}\n")
    if outcome.answered:
        print(outcome.record["answer"])
        return EXIT_ANSWERED
    sys.stderr.write(f"codeact: no answer: {outcome.reason}\n")
    return EXIT_STOPPED if stopped or outcome.record.get("done_reason") == "stopped" else EXIT_NO_ANSWER


def _run(nb, task: str, args, source: Path, skip: set[int], ask: bool):
    """Run it; Ctrl-C once stops the task (the kernel is interrupted, what ran is kept and
    written), twice gives up at once. Returns (outcome or None, whether Ctrl-C was pressed).
    The kernel's session names the notebook, so its task cells find their runs' records;
    cells in ``skip`` (a run being replaced) do not run; ``ask`` False: the notebook's
    record of this task is its outcome (trace/rerun.py)."""
    import asyncio
    import os
    import signal

    from .headless import TaskOutcome, run_task
    from .kernel import HeadlessKernel
    from .progress import Lines, RunProgress

    lines = Lines()
    progress = RunProgress(args.max_turns or 10, lines)
    presses = []

    async def go():
        env = dict(os.environ, JPY_SESSION_NAME=str(source))
        async with HeadlessKernel(str(source.parent), args.kernel, env=env) as kernel:
            loop = asyncio.get_running_loop()
            main_task = asyncio.current_task()

            def on_sigint():
                presses.append(1)
                if len(presses) == 1:
                    lines.line("codeact: stopping the task (Ctrl-C again to quit at once)")
                    asyncio.ensure_future(kernel.interrupt())
                else:
                    main_task.cancel()

            loop.add_signal_handler(signal.SIGINT, on_sigint)
            try:
                await kernel.run_cells(nb, lambda f: lines.line(
                    f"cell {f.index + 1} raised {f.error} (the task still runs)"), skip=skip)
                if presses:  # stopped while the notebook's own cells ran: no task
                    raise asyncio.CancelledError
                if not ask:
                    return TaskOutcome(reproduced_record(nb, task))
                return await run_task(kernel, task, settings_of(args), progress)
            finally:
                loop.remove_signal_handler(signal.SIGINT)

    try:
        return asyncio.run(go()), bool(presses)
    except asyncio.CancelledError:
        lines.done()
        sys.stderr.write("codeact: stopped before the task ended; nothing written.\n")
        return None, True
    except RuntimeError as exc:  # the kernel could not start or load codeact
        lines.done()
        sys.stderr.write(f"codeact: {exc}\n")
        raise SystemExit(EXIT_NO_ANSWER)


def _output_problem(output: Path) -> str | None:
    if output.is_dir():
        return f"-o {output} is a folder; name the notebook to write, e.g. {output / 'out.ipynb'}."
    if not output.parent.is_dir():
        return (f"the folder of -o {output} does not exist: create {output.parent} first "
                "(nothing was run).")
    return None


def _write_whole(nb, output: Path) -> None:
    """Write the notebook whole or not at all: a Ctrl-C or a full disk while writing leaves
    the file as it was, never half written."""
    import os
    import tempfile

    import nbformat

    fd, temporary = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def reproduced_record(nb, task: str) -> dict:
    """The outcome of a task the notebook already holds, from its record."""
    from ..trace.rerun import recorded_run

    trace = recorded_run(nb, task).trace
    return {"run_id": trace.get("run_id"), "answer": trace.get("answer"),
            "answer_cut": trace.get("answer_cut"), "done_reason": trace.get("done_reason"),
            "error": trace.get("error"), "trace": trace, "reproduced": True}


def notebook_kernel(nb) -> str | None:
    """The kernel the notebook names, where it is installed here (else the default)."""
    name = (nb.metadata.get("kernelspec") or {}).get("name")
    if not name:
        return None
    from jupyter_client.kernelspec import KernelSpecManager

    return name if name in KernelSpecManager().find_kernel_specs() else None


def _usage(message: str) -> int:
    sys.stderr.write(f"codeact run: {message}\n")
    return EXIT_USAGE
