"""The `%%codeact` loop's overhead per turn in a real kernel, display and JupyterLab bridge
included, against raw `run_cell` of the same steps in the same kernel.

The magic runs N trivial steps from a replay file; the raw loop runs the same code with
`get_ipython().run_cell`. Both are timed inside the kernel (perf_counter around the call;
what the client does with the messages is not counted), interleaved; the machine is
shared, so the minimum of the repeats is the figure (the median is printed beside it).
With the extension announced (compact cell, comm) and without (complete cell, no comm).
Target: at most 1 ms per turn.

    python bench/bench_kernel_overhead.py [--turns 100] [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kernel_session import Kernel  # noqa: E402


def codes(turns: int, tag: str) -> list[str]:
    return [f"x_{tag}_{i} = {i}\nprint(x_{tag}_{i})" for i in range(turns)]


def seconds(messages: list[dict]) -> float:
    text = "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")
    return float(text.split("SECONDS")[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--step-timeout", type=float, default=None,
                        help="--timeout of the magic (0: no watchdog thread per step)")
    args = parser.parse_args()
    timeout = "" if args.step_timeout is None else f" --timeout {args.step_timeout}"
    folder = tempfile.TemporaryDirectory()
    for mirrored in (True, False):
        kernel = Kernel()
        try:
            raws, loops = [], []
            for repeat in range(args.repeats + 1):  # the first round warms up
                steps = codes(args.turns, f"r{repeat}")
                raw = (f"import time as _t\n_t0 = _t.perf_counter()\nfor _c in {json.dumps(steps)}:\n"
                       "    get_ipython().run_cell(_c, store_history=True)\n"
                       "print('SECONDS', _t.perf_counter() - _t0)")
                replies = [f"Step {i}.\n<execute>\n{c}\n</execute>" for i, c in enumerate(codes(args.turns, f"l{repeat}"))]
                path = Path(folder.name) / f"bench-{repeat}.json"
                path.write_text(json.dumps(replies + ["Done."]), encoding="utf-8")
                if mirrored:
                    kernel.announce_mirror()
                loop_s = seconds(kernel.run(
                    "import time as _t\n_t0 = _t.perf_counter()\n"
                    f"get_ipython().run_cell_magic('codeact', '--backend replay --model {path} "
                    f"--max-turns {args.turns + 1}{timeout}', 'bench')\n"
                    "print('SECONDS', _t.perf_counter() - _t0)")[1])
                raw_s = seconds(kernel.run(raw)[1])
                if repeat:
                    raws.append(raw_s)
                    loops.append(loop_s)
        finally:
            kernel.close()
        per = 1000 / args.turns
        raw_ms, loop_ms = min(raws) * per, min(loops) * per
        raw_med, loop_med = statistics.median(raws) * per, statistics.median(loops) * per
        label = "JupyterLab extension (compact cell, comm)" if mirrored else "no extension (complete cell, no comm)"
        print(f"{label}: {args.turns} turns, {args.repeats} repeats (min; median)")
        print(f"  raw run_cell:      {raw_ms:.3f} ms per step ({raw_med:.3f})")
        print(f"  through %%codeact: {loop_ms:.3f} ms per turn ({loop_med:.3f})")
        print(f"  overhead per turn: {loop_ms - raw_ms:.3f} ms ({loop_med - raw_med:.3f}) (target <= 1 ms)")
    folder.cleanup()


if __name__ == "__main__":
    main()
