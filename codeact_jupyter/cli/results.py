"""``results.jsonl`` (one line per task and repeat, appended as each finishes, so an
interrupted eval resumes where it stopped) and the summary: success rate with a 95%
confidence interval, mean turns, tokens and time, a table per category."""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from statistics import mean, stdev

RESULTS = "results.jsonl"
REPORT = "report.md"
# Two-sided 95% Student t quantiles for 1..10 degrees of freedom (no scipy needed).
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228]


def read_rows(out: Path) -> list[dict]:
    """The rows already written. A last line cut by a kill is dropped from the file too,
    so the next row starts on a line of its own."""
    path = out / RESULTS
    if not path.exists():
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        path.write_bytes(data)
    rows = []
    for line in data.decode("utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


HARNESS_ERROR = "harness_error"  # the run never reached the model: not done, run again


def drop_harness_errors(out: Path) -> int:
    """Take the runs that failed before reaching the model (no kernel, no model file, no
    server) out of the results, so that running the command again runs them; how many."""
    rows = read_rows(out)
    kept = [r for r in rows if r.get("done_reason") != HARNESS_ERROR]
    if len(kept) < len(rows):
        (out / RESULTS).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept),
                                   encoding="utf-8")
    return len(rows) - len(kept)


def append_row(out: Path, row: dict) -> None:
    with open(out / RESULTS, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def wilson(passed: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a success rate (sound at 0% and 100% too)."""
    if total == 0:
        return 0.0, 0.0
    p = passed / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def repeat_interval(rows: list[dict]) -> tuple[float, float] | None:
    """With two repeats or more: a t interval of the mean of the per-repeat success rates."""
    by_repeat: dict[int, list[bool]] = {}
    for row in rows:
        by_repeat.setdefault(row["repeat"], []).append(bool(row["success"]))
    rates = [sum(v) / len(v) for v in by_repeat.values() if v]
    if len(rates) < 2:
        return None
    half = _T95[min(len(rates) - 1, len(_T95)) - 1] * stdev(rates) / math.sqrt(len(rates))
    return max(0.0, mean(rates) - half), min(1.0, mean(rates) + half)


@dataclass
class Summary:
    rows: list[dict]

    @property
    def passed(self) -> int:
        return sum(bool(r["success"]) for r in self.rows)

    @property
    def rate(self) -> float:
        return self.passed / len(self.rows) if self.rows else 0.0

    def figures(self, rows: list[dict] | None = None) -> dict:
        rows = self.rows if rows is None else rows
        return {"runs": len(rows), "passed": sum(bool(r["success"]) for r in rows),
                "rate": sum(bool(r["success"]) for r in rows) / len(rows) if rows else 0.0,
                "turns": _mean(rows, "turns"), "steps": _mean(rows, "steps"),
                "errors": _mean(rows, "errors"), "prompt_tokens": _mean(rows, "prompt_tokens"),
                "generated_tokens": _mean(rows, "generated_tokens"),
                "seconds": _mean(rows, "wall_seconds")}

    def categories(self) -> dict[str, dict]:
        names = sorted({r["category"] for r in self.rows})
        return {name: self.figures([r for r in self.rows if r["category"] == name]) for name in names}

    def table(self) -> str:
        """The Markdown table printed at the end and put in the report."""
        head = "| category | runs | passed | success | turns | steps | errors | tokens in/out | seconds |\n" \
               "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        lines = [_line(name, f) for name, f in self.categories().items()]
        lines.append(_line("**all**", self.figures()))
        return head + "\n".join(lines) + "\n"

    def headline(self) -> str:
        low, high = wilson(self.passed, len(self.rows))
        text = (f"Success: {self.passed}/{len(self.rows)} = {100 * self.rate:.1f}% "
                f"(95% Wilson interval {100 * low:.1f}–{100 * high:.1f}%)")
        spread = repeat_interval(self.rows)
        if spread is not None:
            repeats = len({r["repeat"] for r in self.rows})
            text += f"; over {repeats} repeats: 95% t interval {100 * spread[0]:.1f}–{100 * spread[1]:.1f}%"
        return text

    def report(self, title: str, settings: dict) -> str:
        failures = [r for r in self.rows if not r["success"]]
        parts = [f"# {title}\n", "| setting | value |\n| --- | --- |\n" + "".join(
            f"| {k} | {v} |\n" for k, v in settings.items() if v not in (None, "")),
            self.headline() + "\n", self.table()]
        if failures:
            parts.append("## Failures\n\n| task | repeat | done | reason |\n| --- | ---: | --- | --- |\n" + "".join(
                f"| {r['id']} | {r['repeat']} | {r.get('done_reason')} | {_cell(r.get('reason'))} |\n"
                for r in sorted(failures, key=lambda r: (r["id"], r["repeat"]))))
        return "\n".join(parts)


def _line(name: str, f: dict) -> str:
    tokens = "–" if f["prompt_tokens"] is None else f"{f['prompt_tokens']:.0f}/{f['generated_tokens'] or 0:.0f}"
    return (f"| {name} | {f['runs']} | {f['passed']} | {100 * f['rate']:.1f}% | {_num(f['turns'])} | "
            f"{_num(f['steps'])} | {_num(f['errors'])} | {tokens} | {_num(f['seconds'])} |")


def _mean(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return mean(values) if values else None


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _cell(text) -> str:
    return str(text or "").replace("|", "\\|").replace("\n", " ")[:300]
