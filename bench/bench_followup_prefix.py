"""How much of a task's first prompt a local model reads, over a 10-task session on one notebook.

A real IPython shell with the extension loaded, the llama backend (the model host, as in a
kernel), and a notebook document that grows by a few cells (code and printed output, as the
JupyterLab extension sends it) before each task. Each task goes through ``runner.run_task``,
exactly as ``%%codeact`` runs it. Printed per task:

* evaluated: prompt tokens the model read at the task's first turn (the rest came from its
  KV cache), prompt: the whole first prompt;
* new: tokens of the cells added since the last task plus the task's text;
* ratio: evaluated / new (the issue's target for follow-ups: <= 1.2);
* message: tokens of the whole new user message (new cells and task, plus its framing and
  the new variables' summaries), and evaluated / message;
* ttft: seconds from the task's start to its first streamed text; model: of which from the
  first turn's start (the model reading its prompt and writing one token).

Two sessions: ``follow-up`` (tasks 2+ continue the conversation, ``%%codeact -c``) and
``fresh`` (every task new, on the same notebook: the notebook context keeps its beginning,
so the prompt's shared prefix is reused too, but the variables and the task are read again).

    python bench/bench_followup_prefix.py [--model tiny|smollm2|gemma3|PATH] [--tasks 10]
        [--mode follow-up|fresh|both] [--initial 8] [--rows 6] [--threads N]

Benchmarks print figures; nothing here asserts a timing.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from codeact_jupyter.context.cells import cells_from_document, render_cell  # noqa: E402
from codeact_jupyter.events import TextDelta, TurnStarted  # noqa: E402

TASKS = ["find the month with the highest revenue", "now show it as a bar chart",
         "which region sold the most?", "compare it with last year",
         "add a column with the margin", "sort by margin, highest first",
         "how many rows have a negative margin?", "drop those rows",
         "what is the average margin now?", "summarise what we found"]


OUTPUT_ROWS = 6  # rows of the table each round's first cell prints (--rows)


def new_cells(round_: int) -> list[dict]:
    """Cells a user adds between two tasks: code with printed output, and a note."""
    rows = "\n".join(f"{m:>3}  {1000 + 37 * m * (round_ + 1):>6}  {round_ * 3 + m % 4:>3}"
                     for m in range(1, OUTPUT_ROWS + 1))
    return [
        {"cell_type": "code", "execution_count": 2 * round_ + 1,
         "source": f"part_{round_} = sales[sales.month <= {round_ + 6}]\nprint(part_{round_}.head(6))",
         "outputs": [{"output_type": "stream", "name": "stdout",
                      "text": f"month revenue units\n{rows}\n"}]},
        {"cell_type": "markdown", "source": f"Round {round_}: the first {round_ + 6} months look steady."},
        {"cell_type": "code", "execution_count": 2 * round_ + 2,
         "source": f"total_{round_} = {1000 * (round_ + 1)}\ntotal_{round_} * 1.2",
         "outputs": [{"output_type": "execute_result", "execution_count": 2 * round_ + 2,
                      "data": {"text/plain": str(1200.0 * (round_ + 1))}, "metadata": {}}]},
    ]


def model_path(name: str, folder: Path) -> Path:
    if name == "tiny":
        from tiny_gguf import write_tiny_gguf

        return write_tiny_gguf(folder / "tiny.gguf", context_length=8192)
    if name in ("smollm2", "gemma3"):
        import real_models

        return getattr(real_models, name)()
    return Path(name)


def add_cells(shell, notebook: dict, round_: int) -> list[dict]:
    """The round's cells, run in the kernel (so their variables exist) and added."""
    cells = new_cells(round_)
    for cell in cells:
        if cell["cell_type"] == "code":
            with contextlib.redirect_stdout(io.StringIO()):
                shell.run_cell(cell["source"].replace(f"sales[sales.month <= {round_ + 6}]",
                                                      f"list(range({round_ + 6}))")
                               .replace(f"print(part_{round_}.head(6))", f"print(part_{round_})"))
    notebook["cells"] = notebook["cells"] + cells
    return cells


def session(shell, settings, tasks: int, follow_up: bool, count_tokens, initial: int) -> list[dict]:
    from codeact_jupyter.agent.task import run_task

    notebook = {"cells": [], "active_cell": None}
    for round_ in range(100, 100 + initial):  # the notebook before the first task
        add_cells(shell, notebook, round_)
    rows = []
    for number in range(tasks):
        cells = add_cells(shell, notebook, number)
        task = TASKS[number % len(TASKS)]
        rendered = [render_cell(c) for c in cells_from_document({"cells": cells})]
        new = count_tokens("\n\n".join(rendered)) + count_tokens(task)
        first_text: list[float] = []
        turn_start: list[float] = []
        started = time.perf_counter()

        def sink(event, first_text=first_text, turn_start=turn_start):
            if isinstance(event, TurnStarted) and not turn_start:
                turn_start.append(time.perf_counter())
            if isinstance(event, TextDelta) and not first_text:
                first_text.append(time.perf_counter())

        run = run_task(shell, task, settings, [sink], notebook=notebook,
                       conversation="last" if follow_up and number else None)
        if run.error or not run.stats:
            raise SystemExit(f"task {number + 1} failed: {run.error}")
        stats = run.stats[0]
        message = next(m["content"] for m in reversed(run.messages) if m["role"] == "user")
        first = first_text[0] if first_text else float("nan")
        rows.append({"task": number + 1, "prompt": stats.prompt_tokens,
                     "evaluated": stats.evaluated_tokens, "new": new,
                     "message": count_tokens(message), "ttft": first - started,
                     "model": first - turn_start[0]})
    return rows


def report(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    print(f"{'task':>4} {'prompt':>7} {'evaluated':>9} {'new':>5} {'ratio':>6} {'message':>7} "
          f"{'ratio':>6} {'ttft s':>7} {'model s':>7}")
    for row in rows:
        print(f"{row['task']:>4} {row['prompt']:>7} {row['evaluated']:>9} {row['new']:>5} "
              f"{row['evaluated'] / row['new']:>6.2f} {row['message']:>7} "
              f"{row['evaluated'] / row['message']:>6.2f} {row['ttft']:>7.3f} {row['model']:>7.3f}")
    later = rows[1:]
    evaluated, new = sum(r["evaluated"] for r in later), sum(r["new"] for r in later)
    message = sum(r["message"] for r in later)
    ttft, model = (statistics.median(r[key] for r in later) for key in ("ttft", "model"))
    print(f"tasks 2+: evaluated / (new cells + task) = {evaluated} / {new} = {evaluated / new:.2f}; "
          f"evaluated / new message = {evaluated / message:.2f}")
    print(f"time to first token, median of tasks 2+: {ttft:.3f} s vs task 1 {rows[0]['ttft']:.3f} s "
          f"({ttft / rows[0]['ttft']:.0%}); the model's part {model:.3f} s vs {rows[0]['model']:.3f} s "
          f"({model / rows[0]['model']:.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="tiny (generated), smollm2, gemma3, or a .gguf path")
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--mode", choices=["follow-up", "fresh", "both"], default="both")
    parser.add_argument("--max-tokens", type=int, default=8, help="tokens per reply (kept short)")
    parser.add_argument("--rows", type=int, default=6, help="rows of printed output per round")
    parser.add_argument("--initial", type=int, default=8,
                        help="rounds of cells (3 each) in the notebook before the first task")
    parser.add_argument("--threads", type=int, default=0, help="llama threads (0: physical cores)")
    args = parser.parse_args()
    global OUTPUT_ROWS
    OUTPUT_ROWS = args.rows

    from IPython.testing.globalipapp import start_ipython

    from codeact_jupyter import unload_model
    from codeact_jupyter.backends.llama.backend import LlamaBackend
    from codeact_jupyter.magics.codeact import resolve_settings

    shell = start_ipython()
    shell.run_cell("%load_ext codeact_jupyter")
    shell.run_cell("%config CodeActMagics.redact = True")
    with tempfile.TemporaryDirectory() as folder:
        path = model_path(args.model, Path(folder))
        shell.run_cell(f"%config CodeActMagics.threads = {args.threads}")
        settings = resolve_settings(shell, {"backend": "llama", "model": str(path), "max_turns": 1})
        settings = settings.__class__(**{**settings.__dict__, "backend_config": settings.backend_config.__class__(
            **{**settings.backend_config.__dict__, "max_tokens": args.max_tokens})})
        backend = LlamaBackend(settings.backend_config)  # the model loads before task 1
        print(f"{backend.describe()} · {args.initial * 3} cells, then {args.tasks} tasks with 3 "
              f"cells added before each ({args.rows} rows of printed output per round)")
        modes = ["follow-up", "fresh"] if args.mode == "both" else [args.mode]
        for mode in modes:
            from codeact_jupyter.context.window import reset_windows

            reset_windows()
            shell.run_cell("%reset -f")
            unload_model()  # each session starts with a cold KV cache
            backend = LlamaBackend(settings.backend_config)
            rows = session(shell, settings, args.tasks, mode == "follow-up", backend.count_tokens,
                           args.initial)
            report(f"{mode} tasks", rows)
        unload_model()


if __name__ == "__main__":
    main()
