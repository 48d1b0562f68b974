"""The `%%codeact` loop's overhead per turn in a real kernel, display and JupyterLab bridge
included, against raw `run_cell` of the same steps in the same kernel.

The magic's cell runs N trivial steps from a replay file; the raw cell runs the same code
with `get_ipython().run_cell` in a loop. Each is timed from the execute request to the
kernel going idle, interleaved, medians. With the extension announced (compact cell,
comm) and without (complete cell, no comm). Target: at most 1 ms per turn.

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    for mirrored in (True, False):
        kernel = Kernel()
        try:
            raws, loops = [], []
            for repeat in range(args.repeats + 1):  # the first round warms up
                steps = codes(args.turns, f"r{repeat}")
                raw = f"for _c in {json.dumps(steps)}:\n    get_ipython().run_cell(_c, store_history=True)"
                replies = [f"Step {i}.\n<execute>\n{c}\n</execute>" for i, c in enumerate(codes(args.turns, f"l{repeat}"))]
                path = Path(folder.name) / f"bench-{repeat}.json"
                path.write_text(json.dumps(replies + ["Done."]), encoding="utf-8")
                if mirrored:
                    kernel.announce_mirror()
                loop_s, _ = kernel.run(f"%%codeact --backend replay --model {path} "
                                       f"--max-turns {args.turns + 1}\nbench")
                raw_s, _ = kernel.run(raw)
                if repeat:
                    raws.append(raw_s)
                    loops.append(loop_s)
        finally:
            kernel.close()
        raw_ms = statistics.median(raws) / args.turns * 1000
        loop_ms = statistics.median(loops) / args.turns * 1000
        label = "JupyterLab extension (compact cell, comm)" if mirrored else "no extension (complete cell, no comm)"
        print(f"{label}: {args.turns} turns, {args.repeats} repeats (medians)")
        print(f"  raw run_cell:      {raw_ms:.3f} ms per step")
        print(f"  through %%codeact: {loop_ms:.3f} ms per turn")
        print(f"  overhead per turn: {loop_ms - raw_ms:.3f} ms (target <= 1 ms)")
    folder.cleanup()


if __name__ == "__main__":
    main()
