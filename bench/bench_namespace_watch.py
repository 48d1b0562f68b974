"""What watching the namespace costs (undo's RunTracker, the "defined: …" lines), with a big
namespace and a small one, against the same code run as a plain cell, in one run.

The big namespace is the fault suite's: 30 DataFrames of 200k cells, a 200 MB array, a dict
of a million items and 5,000 small variables. Per step: a trivial step through the executor
with the watcher, over ``run_cell`` of the same code. Per task: a one-step task through
``run_task`` (replay backend; context, redaction, watcher, trace) over that plain cell.
Targets (big namespace): <= 5 ms a step, <= 50 ms a task; the small one must not get worse.

    python bench/bench_namespace_watch.py [--steps 30] [--small-only]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from IPython.testing.globalipapp import start_ipython  # noqa: E402

from codeact_jupyter.agent.settings import TaskSettings  # noqa: E402
from codeact_jupyter.agent.task import run_task  # noqa: E402
from codeact_jupyter.backends.base import BackendConfig  # noqa: E402
from codeact_jupyter.kernel.executor import KernelExecutor  # noqa: E402
from codeact_jupyter.undo.records import RunTracker  # noqa: E402

BIG = """
import numpy as np, pandas as pd
frames = {f"df{i}": pd.DataFrame(np.random.rand(20_000, 10), columns=list("abcdefghij")) for i in range(30)}
globals().update(frames)
del frames
arr = np.ones(25_000_000)  # 200 MB
lookup = {i: i for i in range(1_000_000)}
globals().update({f"v{i}": i for i in range(5_000)})
"""


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def per_step(ip, steps: int) -> tuple[float, float]:
    plain, watched = [], []
    tracker = RunTracker(ip, "bench", "bench")
    executor = KernelExecutor(ip, watcher=tracker)
    for i in range(steps):
        code = f"step_value = {i}"
        start = time.perf_counter()
        ip.run_cell(code, store_history=True)
        plain.append(time.perf_counter() - start)
        start = time.perf_counter()
        executor.execute(code, step=i + 1)
        watched.append(time.perf_counter() - start)
    executor.close()
    tracker.finish()
    return median_ms(plain), median_ms(watched)


def per_task(ip, repeats: int, folder: Path) -> tuple[float, float]:
    replies = folder / "one-step.json"
    replies.write_text(json.dumps(["<execute>\nstep_value = 1\n</execute>", "Done."]))
    settings = TaskSettings(backend="replay", backend_config=BackendConfig(model=str(replies)))
    plain, tasks = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        ip.run_cell("step_value = 1", store_history=True)
        plain.append(time.perf_counter() - start)
        start = time.perf_counter()
        run_task(ip, "bench", settings, [])
        tasks.append(time.perf_counter() - start)
    return median_ms(plain), median_ms(tasks)


def measure(ip, label: str, steps: int, folder: Path) -> None:
    devnull, real = open("/dev/null", "w"), sys.stdout
    sys.stdout = devnull
    try:
        per_step(ip, 3)  # warm up
        cell, step = per_step(ip, steps)
        cell_task, task = per_task(ip, max(5, steps // 3), folder)
    finally:
        sys.stdout = real
    print(f"{label}: a step {step:.2f} ms vs the plain cell {cell:.2f} ms: +{step - cell:.2f} ms "
          f"(target <= 5 ms)")
    print(f"{label}: a one-step task {task:.1f} ms vs the plain cell {cell_task:.2f} ms: "
          f"+{task - cell_task:.1f} ms (target <= 50 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--small-only", action="store_true")
    args = parser.parse_args()
    ip = start_ipython()
    with tempfile.TemporaryDirectory() as folder:
        ip.run_cell("small_df = __import__('pandas').DataFrame({'a': range(100)})\nitems = [1, 2, 3]")
        measure(ip, "small namespace", args.steps, Path(folder))
        if not args.small_only:
            ip.run_cell(BIG)
            measure(ip, "big namespace  ", args.steps, Path(folder))


if __name__ == "__main__":
    main()
