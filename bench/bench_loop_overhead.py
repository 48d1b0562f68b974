"""The loop's overhead per turn, against raw ``run_cell`` of the same code, in one run.

Replay backend, trivial steps: what is left is our parsing, observation formatting, event
plumbing and output capture. Target: at most 1 ms per turn over raw.

    python bench/bench_loop_overhead.py [--turns 200] [--repeats 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from IPython.testing.globalipapp import start_ipython  # noqa: E402

from codeact_jupyter.backends.replay.backend import ReplayBackend  # noqa: E402
from codeact_jupyter.kernel.executor import KernelExecutor  # noqa: E402
from codeact_jupyter.agent.loop import CodeActLoop  # noqa: E402
from codeact_jupyter.agent.run import Run  # noqa: E402
from codeact_jupyter.agent.settings import TaskSettings  # noqa: E402


def codes(turns: int) -> list[str]:
    return [f"x_{i} = {i}\nprint(x_{i})" for i in range(turns)]


def raw(ip, turns: int) -> float:
    start = time.perf_counter()
    for code in codes(turns):
        ip.run_cell(code, store_history=True)
    return time.perf_counter() - start


def through_loop(ip, turns: int) -> float:
    replies = [f"Step {i}.\n<execute>\n{code}\n</execute>" for i, code in enumerate(codes(turns))]
    replies.append("Done.")
    run = Run(run_id="bench", task="bench")
    loop = CodeActLoop(ReplayBackend.from_replies(replies), KernelExecutor(ip),
                       TaskSettings(backend="replay", max_turns=turns + 1), run)
    loop.start_messages("The notebook has no earlier cells.")
    start = time.perf_counter()
    for _ in loop.events():
        pass
    elapsed = time.perf_counter() - start
    assert len(run.steps) == turns and run.answer == "Done."
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    ip = start_ipython()
    devnull = open("/dev/null", "w")
    real_stdout, sys.stdout = sys.stdout, devnull  # the steps print; the terminal is not measured
    try:
        raw(ip, 20), through_loop(ip, 20)  # warm up
        raws, loops = [], []
        for _ in range(args.repeats):  # interleaved, so drift hits both alike
            raws.append(raw(ip, args.turns))
            loops.append(through_loop(ip, args.turns))
    finally:
        sys.stdout = real_stdout
    raw_ms = statistics.median(raws) / args.turns * 1000
    loop_ms = statistics.median(loops) / args.turns * 1000
    print(f"turns per run: {args.turns}, repeats: {args.repeats} (medians)")
    print(f"raw run_cell:        {raw_ms:.3f} ms per step")
    print(f"through the loop:    {loop_ms:.3f} ms per turn")
    print(f"overhead per turn:   {loop_ms - raw_ms:.3f} ms (target <= 1 ms)")
    print(f"ratio loop / raw:    {loop_ms / raw_ms:.2f}")


if __name__ == "__main__":
    main()
