"""`codeact eval` end to end in a subprocess: a 5-task sample of the built-in suite run
two kernels at a time with scripted models (the oracle scores 100%, "I don't know" 0%, a
deliberate mistake fails with the checker's reason), and a run killed midway that resumes
with nothing done twice."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat

SAMPLE = "wrangle-region-table,stats-welch-t,debug-off-by-one,tools-in-stock,tools-next-workday"


def codeact_eval(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codeact_jupyter.cli", "eval", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_the_oracle_scores_100_and_i_dont_know_scores_0(tmp_path, replay):
    oracle = codeact_eval("--oracle", "--tasks", SAMPLE, "-j", "2", "--out", "oracle", cwd=tmp_path)
    assert oracle.returncode == 0, oracle.stderr
    assert "Success: 5/5 = 100.0%" in oracle.stdout
    assert "| **all** | 5 | 5 | 100.0% |" in oracle.stdout
    results = rows(tmp_path / "oracle")
    assert sorted(r["id"] for r in results) == sorted(SAMPLE.split(","))
    row = next(r for r in results if r["id"] == "debug-off-by-one")
    assert row["success"] and row["done_reason"] == "answered" and row["turns"] == 2 and row["steps"] == 1
    assert row["reason"] == "the cell runs" and row["wall_seconds"] > 0
    assert set(row) >= {"id", "success", "reason", "turns", "steps", "errors", "prompt_tokens",
                        "generated_tokens", "wall_seconds", "done_reason", "category", "repeat"}
    report = (tmp_path / "oracle" / "report.md").read_text()
    assert "Wilson interval" in report and "| debugging | 1 | 1 | 100.0% |" in report
    notebook = nbformat.read(tmp_path / "oracle" / "notebooks" / "debug-off-by-one-r1.ipynb", as_version=4)
    assert notebook.cells[-1].source == "Answer: 13"  # each run's notebook is kept
    assert notebook.cells[1].outputs[0].ename == "IndexError"  # the failing cell, as the model saw it

    idk = codeact_eval("-b", "replay", "-m", str(replay(["I don't know."])), "--tasks", SAMPLE, "-j", "2",
                       "--out", "idk", cwd=tmp_path)
    assert idk.returncode == 0, idk.stderr
    assert "Success: 0/5 = 0.0%" in idk.stdout
    reasons = {r["id"]: r["reason"] for r in rows(tmp_path / "idk")}
    assert reasons["stats-welch-t"] == "answer: expected the number 1.64, got \"I don't know\""


def test_a_deliberate_mistake_fails_with_the_checkers_reason(tmp_path):
    replies = tmp_path / "replies"
    replies.mkdir()
    (replies / "wrangle-region-table.json").write_text(json.dumps([
        "<execute>\nm = orders.merge(products, on='product')\nm['revenue'] = m['quantity'] * m['unit_price']\n"
        "by_region = m.groupby('region', as_index=False)['revenue'].sum().sort_values('revenue').reset_index(drop=True)\n"
        "print(by_region)\n</execute>",
        "Answer: north"]))
    (replies / "stats-welch-t.json").write_text(json.dumps([  # the pooled-variance t, not Welch's
        "<execute>\nimport math\nn1, n2 = len(treated), len(control)\n"
        "sp = ((n1 - 1) * treated.var(ddof=1) + (n2 - 1) * control.var(ddof=1)) / (n1 + n2 - 2)\n"
        "t = (treated.mean() - control.mean()) / math.sqrt(sp * (1 / n1 + 1 / n2))\nprint(round(t, 2))\n</execute>",
        "Answer: 1.69"]))
    result = codeact_eval("-b", "replay", "-m", str(replies), "--tasks", "wrangle-region-table,stats-welch-t",
                          "-j", "2", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reasons = {r["id"]: r["reason"] for r in rows(tmp_path / "out")}
    assert reasons["wrangle-region-table"].startswith("checker: regions in the wrong order")
    assert reasons["stats-welch-t"] == "answer: expected 1.64 (± 0.01), got 1.69"
    assert "FAIL stats-welch-t r1" in result.stderr


def test_a_run_killed_midway_resumes_with_nothing_done_twice(tmp_path):
    suite, log = tmp_path / "suite", tmp_path / "ran.log"
    suite.mkdir()
    for number in range(1, 5):
        task = {"id": f"t{number}", "category": "demo", "task": f"Say {number}.", "expected": number,
                "setup": [f"open({str(log)!r}, 'a').write('t{number}\\n')"], "solution": []}
        (suite / f"t{number}.json").write_text(json.dumps(task))
    args = [sys.executable, "-m", "codeact_jupyter.cli", "eval", str(suite), "--oracle", "-j", "1", "--out", "out"]
    first = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = tmp_path / "out"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not ((out / "results.jsonl").exists() and rows(out)):
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    done_before = [r["id"] for r in rows(out)]
    assert 1 <= len(done_before) < 4
    started_before = log.read_text().split()

    second = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert second.returncode == 0, second.stderr
    assert f"{len(done_before)} of 4 runs already in" in second.stderr
    assert sorted(r["id"] for r in rows(out)) == ["t1", "t2", "t3", "t4"]  # each once
    assert "Success: 4/4 = 100.0%" in second.stdout
    started_after = log.read_text().split()[len(started_before):]
    assert not set(started_after) & set(done_before)  # nothing finished ran again

    other = subprocess.run([*args, "--max-turns", "3"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert other.returncode == 2 and "holds results of another evaluation" in other.stderr


def test_eval_against_an_openai_compatible_server_counts_tokens_and_repeats(tmp_path):
    from chat_server import ChatServer

    step = "<execute>\nprint(int(600 * exchange_rate('EUR', 'USD') // get_price('drill')))\n</execute>"
    with ChatServer([step, "We can buy 7.\n\nAnswer: 7", step, "Answer: 8"]) as server:
        result = codeact_eval("--base-url", server.base_url, "--model", "scripted", "--tasks", "tools-budget-drills",
                              "--repeat", "2", "-j", "1", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    runs = sorted(rows(tmp_path / "out"), key=lambda r: r["repeat"])
    assert [r["success"] for r in runs] == [True, False]
    assert runs[1]["reason"] == "answer: expected 7, got 8"
    assert all(r["prompt_tokens"] > 0 and r["generated_tokens"] > 0 for r in runs)
    assert "Success: 1/2 = 50.0%" in result.stdout and "over 2 repeats: 95% t interval" in result.stdout


def test_a_line_cut_by_a_kill_is_dropped_and_the_next_row_starts_clean(tmp_path):
    from codeact_jupyter.cli.results import append_row, read_rows

    (tmp_path / "results.jsonl").write_text('{"id": "a", "repeat": 1}\n{"id": "b", "repeat": 1}\n{"id": "c", "rep')
    assert [r["id"] for r in read_rows(tmp_path)] == ["a", "b"]
    append_row(tmp_path, {"id": "c", "repeat": 1})
    assert [r["id"] for r in read_rows(tmp_path)] == ["a", "b", "c"]


def test_runs_that_never_reach_the_model_are_not_scored_and_are_run_again(tmp_path):
    """A missing model file is the setup's fault: exit 2 with the reason, no 0% score, and
    the same command runs those tasks again once the file is there."""
    tasks = "tools-in-stock,tools-next-workday"
    missing = codeact_eval("-b", "replay", "-m", "no-such-replies.json", "--tasks", tasks,
                           "-j", "2", "--out", "out", cwd=tmp_path)
    assert missing.returncode == 2, missing.stderr
    assert "no run reached the model: " in missing.stderr and "no-such-replies.json" in missing.stderr
    assert "Success:" not in missing.stdout
    assert {r["done_reason"] for r in rows(tmp_path / "out")} == {"harness_error"}

    (tmp_path / "no-such-replies.json").write_text(json.dumps(["I don't know."]))
    again = codeact_eval("-b", "replay", "-m", "no-such-replies.json", "--tasks", tasks,
                         "-j", "2", "--out", "out", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Success: 0/2 = 0.0%" in again.stdout  # scored now: the model was reached
    assert sorted(r["done_reason"] for r in rows(tmp_path / "out")) == ["answered", "answered"]


def test_bad_suites_and_outputs_exit_2_naming_the_file(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "a.yaml").write_text("id: a\ncategory: x\ntask: t\nexpected: 1\nsetup_files: [gone.py]\n")
    missing = codeact_eval(str(suite), cwd=tmp_path, timeout=60)
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"codeact eval: The setup file named by {suite / 'a.yaml'} is missing: {suite / 'gone.py'}."

    (suite / "a.yaml").write_bytes("id: a\ncategory: x\ntask: caf\xe9\nexpected: 1\n".encode("latin-1"))
    latin = codeact_eval(str(suite), cwd=tmp_path, timeout=60)
    assert latin.returncode == 2 and "Traceback" not in latin.stderr
    assert f"The task file {suite / 'a.yaml'} is not UTF-8 text" in latin.stderr

    (tmp_path / "taken").write_text("a file")
    taken = codeact_eval("--oracle", "--tasks", "tools-in-stock", "--out", "taken", cwd=tmp_path, timeout=60)
    assert taken.returncode == 2 and "Traceback" not in taken.stderr
    assert "--out taken is a file; name a folder for the results." in taken.stderr


def test_an_endpoint_where_nothing_listens_is_an_outage_not_a_score(tmp_path):
    from chat_server import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    down = codeact_eval("--base-url", url, "-m", "m", "--tasks", SAMPLE, "--out", "out", cwd=tmp_path, timeout=60)
    assert down.returncode == 2
    assert f"nothing listens at {url}" in down.stderr and "nothing was run" in down.stderr
    assert "Success:" not in down.stdout
    assert not (tmp_path / "out" / "results.jsonl").exists()  # no kernel started, nothing scored


def test_a_server_that_never_answers_stops_eval_and_the_runs_run_again_later(tmp_path):
    """Each request gives up after --request-timeout; after a few such runs in a row eval
    stops (exit 2), scores nothing, and the same command runs them once the server answers."""
    from chat_server import ChatServer, Fault, Reply

    tasks = "wrangle-region-table,stats-welch-t,debug-off-by-one,tools-in-stock,tools-next-workday,tools-*"
    stuck = [Reply("never", fault=Fault.slow(60))] * 20
    with ChatServer(stuck) as server:
        started = time.monotonic()
        hung = codeact_eval("--base-url", server.base_url, "-m", "m", "--tasks", tasks, "-j", "1",
                            "--request-timeout", "2", "--out", "out", cwd=tmp_path, timeout=200)
        took = time.monotonic() - started
    assert hung.returncode == 2, hung.stderr
    assert "3 runs in a row could not reach the model" in hung.stderr
    assert took < 120  # not 45 minutes of full request timeouts
    assert "Success:" not in hung.stdout
    with ChatServer(["I don't know."] * 50) as server:
        again = codeact_eval("--base-url", server.base_url, "-m", "m", "--tasks", SAMPLE, "-j", "2",
                             "--request-timeout", "2", "--out", "out", cwd=tmp_path, timeout=240)
    assert again.returncode == 0, again.stderr
    assert "Success: 0/5 = 0.0%" in again.stdout
