"""``codeact eval [SUITE]``: every task of a suite in a fresh kernel of its own, N at a time,
scored (docs/eval.md). Rows go to OUT/results.jsonl as tasks finish; a run interrupted (Ctrl-C,
SIGTERM, a kill) resumes with the same command, skipping what is there. At the end:
OUT/report.md, and the summary table on stdout. Exit status 0 when the runs finished
(whatever the score), 2 bad usage or no run reaching the model (no kernel, no model file, no
server: said on stderr), 130 interrupted."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .options import add_model_options, positive_int, settings_of
from .results import drop_harness_errors, read_rows

SETTINGS_FILE = "settings.json"
# What must be the same for results in one --out folder to be comparable.
SAME = ("suite", "backend", "model", "base_url", "max_turns", "timeout", "grammar", "action_mode",
        "profile")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="codeact eval", description=__doc__.split("\n\n")[0].strip())
    p.add_argument("suite", nargs="?", help="a folder of task files (default: the built-in suite)")
    p.add_argument("-j", "--jobs", type=positive_int, default=os.cpu_count() or 1,
                   help="kernels at a time (default: the number of cores)")
    p.add_argument("--tasks", help="only tasks whose id or category matches these comma-separated "
                   "glob patterns, e.g. 'wrangle-*,tools'")
    p.add_argument("--repeat", type=positive_int, default=1, help="runs per task (default 1)")
    p.add_argument("--out", default="codeact-eval", help="folder for results.jsonl, report.md and "
                   "the notebooks of the runs (default: ./codeact-eval); resumed if it holds results")
    p.add_argument("--oracle", action="store_true", help="replay each task's reference solution "
                   "(calibrates the suite: it must score 100%%)")
    p.add_argument("--action-mode", choices=("code", "tools", "json", "text"), default="code",
                   help="how the model acts (docs/eval.md): code (<execute> blocks), tools (it "
                   "calls a declared python tool: --actions tools), json or text (one call of a "
                   "task's tool per reply; the tool-composition tasks only)")
    p.add_argument("--list", action="store_true", help="list the selected tasks and exit")
    add_model_options(p)
    return p


def main(argv: list[str]) -> int:
    from .suite import SuiteError, load_suite

    args = parser().parse_args(argv)
    try:
        suite = load_suite(args.suite)
    except SuiteError as exc:
        sys.stderr.write(f"codeact eval: {exc}\n")
        return 2
    tasks = suite.select(args.tasks)
    if args.action_mode not in ("code", "tools"):
        tasks = [t for t in tasks if t.tools]
    if not tasks:
        sys.stderr.write(f"codeact eval: no task matches {args.tasks!r} in {suite.root}.\n")
        return 2
    if args.list:
        for task in tasks:
            print(f"{task.id}\t{task.category}")
        return 0
    out = Path(args.out).expanduser().resolve()
    if out.exists() and not out.is_dir():
        sys.stderr.write(f"codeact eval: --out {args.out} is a file; name a folder for the results.\n")
        return 2
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        sys.stderr.write(f"codeact eval: cannot make the folder {out}: {exc.strerror or exc}.\n")
        return 2
    settings = settings_of(args)
    if args.oracle:
        settings.update(backend="replay", model=str(write_oracle(tasks, out / "oracle", args.action_mode)))
    described = {"suite": str(suite.root), **settings, "action_mode": args.action_mode}
    drop_harness_errors(out)  # earlier runs that never reached the model are run again
    from .endpoint import endpoint_of, unreachable

    url = endpoint_of(settings)
    down = unreachable(url) if url else None
    if down:  # said before any kernel starts: an outage is not a score
        sys.stderr.write(f"codeact eval: {down}. Start the server (or fix --base-url), then run "
                         "the same command again; nothing was run.\n")
        return 2
    problem = check_same(out, described)
    if problem:
        sys.stderr.write(f"codeact eval: {problem}\n")
        return 2
    from .eval_pool import run_pool

    code = run_pool(tasks, args.repeat, settings, out, args.jobs, args.kernel, args.action_mode)
    if code == 0:
        from .results import REPORT, Summary

        keys = {(t.id, r) for t in tasks for r in range(1, args.repeat + 1)}
        rows = [r for r in read_rows(out) if (r["id"], r["repeat"]) in keys]
        summary = Summary(rows)
        (out / REPORT).write_text(summary.report(f"codeact eval: {suite.root.name}", described), encoding="utf-8")
        print(summary.headline())
        print()
        print(summary.table(), end="")
        sys.stderr.write(f"codeact eval: results in {out / 'results.jsonl'}, report in {out / REPORT}\n")
    return code


def write_oracle(tasks, folder: Path, action_mode: str = "code") -> Path:
    """A replay per task (folder/ID.json): its reference steps, then its answer; in a tool
    mode, the tool calls those steps make, one per reply."""
    folder.mkdir(parents=True, exist_ok=True)
    for task in tasks:
        from ..backends.replay.file import dump_script

        replies = task.oracle_replies()
        # Each reference step must run cleanly (a replay stops where one fails), which keeps
        # the oracle honest; a tool call's status is the tool's, not checked here.
        statuses: list[str | None] = ["ok"] * (len(replies) - 1) + [None]
        if action_mode == "tools":  # each step as a call of the python tool
            from ..agent.replies import parse_reply
            from ..agent.tool_calls import ToolCall, as_text

            replies = [as_text(ToolCall("oracle", "python", json.dumps({"code": parse_reply(r).code})))
                       for r in replies[:-1]] + replies[-1:]
        elif action_mode != "code":
            from .action_modes import oracle_actions

            replies = oracle_actions(task, action_mode) + replies[-1:]
            statuses = [None] * len(replies)
        (folder / f"{task.id}.json").write_text(dump_script(replies, statuses, task=task.prompt),
                                                encoding="utf-8")
    return folder


def check_same(out: Path, described: dict) -> str | None:
    """Results in one folder must come from the same suite and model; the first run writes
    what it was, later runs (resuming) must match it."""
    path = out / SETTINGS_FILE
    if not path.exists() or not read_rows(out):  # nothing scored yet: these settings hold
        path.write_text(json.dumps(described, indent=1), encoding="utf-8")
        return None
    before = json.loads(path.read_text(encoding="utf-8"))
    differ = [k for k in SAME if before.get(k) != described.get(k)]
    if differ:
        shown = ", ".join(f"{k}: {before.get(k)!r} then, {described.get(k)!r} now" for k in differ)
        return (f"{out} holds results of another evaluation ({shown}). Pass another --out, "
                "or delete that folder to start again.")
    return None
