"""The full oracle run of the built-in eval suite: every task's reference solution
replayed in a fresh kernel, at -j 1 and at -j 2. Prints tasks per minute, the success rate
(it must be 100%: anything less is a fault of the suite or the harness) and, per task, the
harness's overhead (kernel start plus setup cells) against the time spent in the task
(the model's turns and the steps) and in the check.

    python bench/bench_eval_oracle.py [--jobs 1 2] [--tasks PATTERN]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(jobs: int, tasks: str | None, out: Path) -> tuple[float, list[dict]]:
    args = [sys.executable, "-m", "codeact_jupyter.cli", "eval", "--oracle", "-j", str(jobs), "--out", str(out)]
    if tasks:
        args += ["--tasks", tasks]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"codeact eval failed ({done.returncode}):\n{done.stderr}")
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return seconds, rows


def mean(rows: list[dict], key: str) -> float:
    return statistics.mean(r[key] for r in rows if r.get(key) is not None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--tasks", help="a --tasks pattern (default: the whole suite)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start")
    print("| -j | tasks | passed | wall s | tasks/min | kernel start s | setup s | task s | check+write s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for jobs in args.jobs:
        with tempfile.TemporaryDirectory() as tmp:
            seconds, rows = run(jobs, args.tasks, Path(tmp) / "out")
        passed = sum(r["success"] for r in rows)
        rest = statistics.mean(r["wall_seconds"] - r["kernel_seconds"] - r["setup_seconds"] - r["task_seconds"]
                               for r in rows)
        print(f"| {jobs} | {len(rows)} | {passed} | {seconds:.1f} | {60 * len(rows) / seconds:.1f} | "
              f"{mean(rows, 'kernel_seconds'):.2f} | {mean(rows, 'setup_seconds'):.2f} | "
              f"{mean(rows, 'task_seconds'):.2f} | {rest:.2f} |")
        if passed != len(rows):
            failed = [f"{r['id']}: {r['reason']}" for r in rows if not r["success"]]
            sys.exit("The oracle must score 100%; failed:\n" + "\n".join(failed))
    print("\nPer task: kernel start + setup is the harness's overhead; task is the loop with its "
          "steps (a replay answers at once, so this is all step time); check+write is the checker and "
          "writing the run's notebook.")


if __name__ == "__main__":
    main()
