"""What a run's trace costs a notebook: 20 three-step runs added to a 30-cell notebook, as
`codeact run` and the extension keep them, the bytes the traces add against the bytes of
the cells they describe (task, step and answer cells). Two shapes: independent tasks (each
sends the notebook context) and one conversation of follow-ups (the panel's thread: each
sends the whole conversation so far). "whole" stores every trace as run_trace builds it;
"lean" shares long message texts through the notebook's table (trace/lean.py).

    python bench/bench_trace_size.py [--runs 20] [--cells 30]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def replies(run: int) -> list[str]:
    return [f"Step {k} of task {run}.\n<execute>\nr{run}_{k} = sum(range({run * 10 + k}))\nprint(r{run}_{k})\n</execute>"
            for k in (1, 2, 3)] + [f"Task {run} is done: the sums are printed above."]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cells", type=int, default=30)
    args = parser.parse_args()

    import nbformat
    from IPython.testing.globalipapp import start_ipython

    from codeact_jupyter.agent.conversation import forget_conversations
    from codeact_jupyter.agent.settings import TaskSettings
    from codeact_jupyter.agent.task import run_task
    from codeact_jupyter.backends.base import BackendConfig
    from codeact_jupyter.cli.in_kernel import record_of
    from codeact_jupyter.cli.notebook_out import CELL_KEY, add_run
    from codeact_jupyter.trace.lean import TEXTS_KEY

    shell = start_ipython()
    shell.run_cell("%load_ext codeact_jupyter")
    sources = [f"# cell {i}: load part {i} of the data\npart_{i} = [{i} * k for k in range(20)]\n"
               f"print('part', {i}, 'sum', sum(part_{i}))" for i in range(args.cells)]
    folder = Path(tempfile.mkdtemp())
    lines = [f"{args.runs} three-step runs added to a {args.cells}-cell notebook (bytes of the saved .ipynb)",
             f"{'shape':<14}{'trace':<7}{'cells added':>13}{'traces added':>14}{'traces/cells':>14}"]
    quiet = contextlib.redirect_stdout(io.StringIO())  # the cells' and steps' own printing
    quiet.__enter__()
    for shape in ("independent", "conversation"):
        shell.run_cell("%reset -f")
        forget_conversations()
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
        for source in sources:
            shell.run_cell(source, store_history=True)
        base = len(nbformat.writes(nb))
        whole = []  # the full traces, to write the same notebook the old way
        for run in range(args.runs):
            path = folder / f"{shape}-{run}.json"
            path.write_text(json.dumps(replies(run)), encoding="utf-8")
            events = []
            settings = TaskSettings(backend="replay", backend_config=BackendConfig(model=str(path)))
            done = run_task(shell, f"compute the sums for task {run}", settings,
                            [lambda e: events.append(e.to_dict())],
                            conversation="last" if shape == "conversation" and run else None)
            record = record_of(done)
            whole.append(record["trace"])
            add_run(nb, record["trace"]["task"], events, record, follows=done.follows)
        lean_size = len(nbformat.writes(nb))
        traces = [c for c in nb.cells if CELL_KEY in c.metadata]
        lean_traces = len(nbformat.writes(nb)) - len(nbformat.writes(_without_traces(nb, CELL_KEY, TEXTS_KEY)))
        cells_added = lean_size - base - lean_traces
        for cell, trace in zip(traces, whole):
            cell.metadata[CELL_KEY] = trace
        nb.metadata.pop(TEXTS_KEY, None)
        whole_traces = len(nbformat.writes(nb)) - len(nbformat.writes(_without_traces(nb, CELL_KEY, TEXTS_KEY)))
        for name, size in (("whole", whole_traces), ("lean", lean_traces)):
            lines.append(f"{shape:<14}{name:<7}{cells_added:>13,}{size:>14,}{size / cells_added:>14.2f}")
    quiet.__exit__(None, None, None)
    print("\n".join(lines))


def _without_traces(nb, cell_key: str, texts_key: str):
    import copy

    bare = copy.deepcopy(nb)
    for cell in bare.cells:
        cell.metadata.pop(cell_key, None)
    bare.metadata.pop(texts_key, None)
    return bare


if __name__ == "__main__":
    main()
