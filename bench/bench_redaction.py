"""Redaction on big outputs: a step that prints 10 MB, and one that displays an 11 MB HTML
table, in a real kernel, run as a plain cell and as the one step of a ``%%codeact`` task
(replay backend: the redactor is built from the namespace, the observation and the kept
outputs are redacted, the step's outputs are shown in the cell), with no secret in the
namespace and with 50. Target: the task at most 1.5x the plain cell. Prints the figures;
asserts nothing.

    python bench/bench_redaction.py [--repeats 3]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernel_session import Kernel  # noqa: E402

CASES = {
    "print 10 MB": "print(big_text)",
    "HTML table 11 MB": "display(HTML(big_html))",
}
PREPARE = """
from IPython.display import HTML, display
big_text = "\\n".join(f"{i},product-{i % 97},{i * 7 % 1000}.{i % 100:02d},2024-{1 + i % 12:02d}-01"
                      for i in range(400_000))[:10_000_000]
big_html = '<table border="1" class="dataframe"><tbody>' + "".join(
    f"<tr><th>{i}</th><td>product-{i % 97}</td><td>{i * 7 % 1000}</td><td>2024-{1 + i % 12:02d}</td></tr>"
    for i in range(150_000))[:11_000_000] + "</tbody></table>"
"""
SECRETS = """
import secrets as _s
for _i in range({count}):
    globals()[f"service_{{_i}}_api_key"] = "sk-svc{{}}-".format(_i) + _s.token_urlsafe(24)
"""


def as_step(kernel: Kernel, code: str, folder: Path) -> float:
    path = folder / "replay.json"
    path.write_text(json.dumps([f"<execute>\n{code}\n</execute>", "Done."]), encoding="utf-8")
    elapsed, messages = kernel.run(f"%%codeact --backend replay --model {path}\nbench\n")
    shown = json.dumps([m["content"] for m in messages])
    assert "Done." in shown and "diverged" not in shown, shown[-500:]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    kernel = Kernel()
    kernel.run(PREPARE)
    figures = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for count in (0, 50):
                kernel.run(SECRETS.format(count=count))
                for name, code in CASES.items():
                    base = statistics.median(kernel.run(code)[0] for _ in range(args.repeats))
                    step = statistics.median(as_step(kernel, code, Path(folder)) for _ in range(args.repeats))
                    figures.append((name, count, base, step))
    finally:
        kernel.close() if hasattr(kernel, "close") else None
    print(f"{'output':<18} {'secrets':>7} {'plain cell':>11} {'codeact task':>13} {'ratio':>6}")
    for name, count, base, step in figures:
        print(f"{name:<18} {count:>7} {base:>10.3f}s {step:>12.3f}s {step / base:>5.2f}x")


if __name__ == "__main__":
    main()
