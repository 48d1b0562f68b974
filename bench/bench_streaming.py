"""What a long streamed reply costs on the wire: bytes published on iopub (displays and
the JupyterLab comm) per byte of the model's reply, in a real kernel, replay backend.

Two front ends: one with the JupyterLab extension (it announces itself: compact cell and
comm), one without (nbclient, VS Code: complete cell, no comm). Two paces: as fast as the
replay goes, and paced like a model that writes (the live updates then weigh most).
Target: at most 3 bytes per byte of reply.

    python bench/bench_streaming.py [--kib 50] [--delay 0.0005]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kernel_session import Kernel, wire_bytes  # noqa: E402

PACED = """\
import dataclasses
from codeact_jupyter.magics.codeact import resolve_settings
from codeact_jupyter.agent.task import run_task
from codeact_jupyter.magics.views import task_views
_s = resolve_settings(get_ipython(), {{"backend": "replay", "model": {path!r}}})
_s = dataclasses.replace(_s, backend_config=dataclasses.replace(
    _s.backend_config, extras={{**_s.backend_config.extras, "replay_delay": {delay}}}))
_v = task_views(get_ipython())
try:
    run_task(get_ipython(), "write a long answer", _s, _v.sinks)
finally:
    _v.close()
"""


def long_answer(kib: int) -> str:
    words = ("The **quarterly** figures rise in *every* region; see `df.groupby('region')`. "
             "Caf\u00e9 r\u00e9sum\u00e9 \u2014 na\u00efve.\n\n")
    return (words * (kib * 1024 // len(words) + 1))[: kib * 1024]


def measure(kernel: Kernel, code: str, reply_bytes: int) -> str:
    _, messages = kernel.run(code)
    kinds = Counter(m["msg_type"] for m in messages)
    total = sum(wire_bytes(m) for m in messages)
    comm = sum(wire_bytes(m) for m in messages if m["msg_type"].startswith("comm_"))
    return (f"{total / reply_bytes:5.2f} bytes per reply byte  ({total / 1024:,.0f} KiB: "
            f"{comm / 1024:,.0f} KiB comm; messages {dict(kinds)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kib", type=int, default=50, help="size of the answer")
    parser.add_argument("--delay", type=float, default=0.0005,
                        help="paced run: seconds per 8-character chunk")
    args = parser.parse_args()
    answer = long_answer(args.kib)
    reply_bytes = len(answer.encode("utf-8"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.json"
        path.write_text(json.dumps([answer]), encoding="utf-8")
        fast = f"%%codeact --backend replay --model {path}\nwrite a long answer"
        paced = PACED.format(path=str(path), delay=args.delay)
        print(f"reply: {reply_bytes:,} bytes; paced at {args.delay * 1000:.2f} ms per 8 characters")
        for mirrored in (False, True):
            kernel = Kernel()
            try:
                if mirrored:
                    kernel.announce_mirror()
                label = "JupyterLab extension" if mirrored else "no extension        "
                print(f"{label} fast:  {measure(kernel, fast, reply_bytes)}")
                if mirrored:
                    kernel.announce_mirror()
                print(f"{label} paced: {measure(kernel, paced, reply_bytes)}")
            finally:
                kernel.close()
    print("target: <= 3 bytes per reply byte")


if __name__ == "__main__":
    main()
