"""The memory undo holds, and its bound: seven runs of ``arr = arr + 1`` on a 200 MB array
(the fault suite's case), each keeping the array it replaced so that undo can put it back.
Prints the process's resident memory after each run and what undo says it keeps, with the
default ``CodeActMagics.undo_memory`` and with a smaller one.

    python bench/bench_undo_memory.py [--mb 200] [--runs 7]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from IPython.testing.globalipapp import start_ipython  # noqa: E402

from codeact_jupyter.agent.task import run_task  # noqa: E402
from codeact_jupyter.events import Notice  # noqa: E402
from codeact_jupyter.magics.codeact import resolve_settings  # noqa: E402
from codeact_jupyter.undo.records import history_of  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def series(ip, replies: Path, runs: int, budget: int | None) -> None:
    if budget is not None:
        ip.run_line_magic("config", f"CodeActMagics.undo_memory = {budget}")
    history_of(ip).records.clear()
    ip.run_cell(f"import numpy as np\narr = np.ones({ip.user_ns['_bench_mb']} * 131072)")
    start = rss_mb()
    label = f"undo_memory = {budget} MB" if budget is not None else "default undo_memory"
    said = []
    for _ in range(runs):
        events = []
        run_task(ip, "add one", resolve_settings(ip, {"backend": "replay", "model": str(replies)}), [events.append])
        said = [e.text for e in events if isinstance(e, Notice) and e.text.startswith("undo")]
    lines = [f"{label}: RSS {start:,.0f} -> {rss_mb():,.0f} MB after {runs} runs; "
             f"{sum(r.undoable for r in history_of(ip).records)} runs undoable"]
    lines += [f"    the last task said: {line}" for line in said]
    print("\n".join(lines), file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    ip = start_ipython()
    ip.run_line_magic("load_ext", "codeact_jupyter")
    ip.user_ns["_bench_mb"] = args.mb
    ip.run_line_magic("config", "CodeActMagics.undo_depth = 10")
    with tempfile.TemporaryDirectory() as folder:
        replies = Path(folder) / "add-one.json"
        replies.write_text(json.dumps(["<execute>\narr = arr + 1\n</execute>", "Done."]))
        real, sys.stdout = sys.stdout, open("/dev/null", "w")
        try:
            series(ip, replies, args.runs, None)
            ip.run_cell("del arr")
            series(ip, replies, args.runs, args.mb * 2)
        finally:
            sys.stdout = real

if __name__ == "__main__":
    main()
