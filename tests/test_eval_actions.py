"""`--action-mode json|text` (the CodeAct paper's comparison): tool-composition tasks where
the model calls one tool per reply instead of writing code."""
from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

from codeact_jupyter.cli.action_modes import parse_action, step_code
from codeact_jupyter.trace.stored import traces_in

TOOLS = ["get_price", "exchange_rate"]


@pytest.mark.parametrize("mode, reply, action", [
    ("json", '{"tool": "get_price", "args": ["drill"]}', ("get_price", ["drill"])),
    ("json", 'First the rate.\n```json\n{"tool": "exchange_rate", "args": ["USD", "EUR"]}\n```',
     ("exchange_rate", ["USD", "EUR"])),
    ("json", '{"tool": "get_price", "args": "drill"}', 'The "args" of a tool call must be a JSON list: {"tool": "NAME", "args": [...]}.'),
    ("json", '{"tool": "buy", "args": []}', "There is no tool 'buy'. The tools are: get_price, exchange_rate."),
    ("json", '{"tool": "get_price", "args": [}', 'Your tool call is not valid JSON. Write {"tool": "NAME", "args": [ARG1, ...]}.'),
    ("json", "Answer: 7", None),
    ("text", "get_price, drill", ("get_price", ["drill"])),
    ("text", "exchange_rate, 'USD', EUR", ("exchange_rate", ["USD", "EUR"])),
    ("text", "Answer: 7", None),
])
def test_actions_are_parsed_into_single_tool_calls(mode, reply, action):
    assert parse_action(reply, mode, TOOLS) == action


def test_a_call_becomes_a_step_that_prints_the_result():
    assert step_code(("exchange_rate", ["USD", "EUR"])) == "print(repr(exchange_rate('USD', 'EUR')))"


def codeact_eval(*args, cwd):
    return subprocess.run([sys.executable, "-m", "codeact_jupyter.cli", "eval", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=240)


def test_the_oracle_scores_100_in_json_mode_and_code_never_runs_in_text_mode(tmp_path):
    oracle = codeact_eval("--oracle", "--action-mode", "json", "--max-turns", "20", "--tasks",
                          "tools-basket-eur,tools-in-stock", "-j", "2", "--out", "json", cwd=tmp_path)
    assert oracle.returncode == 0, oracle.stderr
    assert "Success: 2/2 = 100.0%" in oracle.stdout
    nb = nbformat.read(tmp_path / "json" / "notebooks" / "tools-basket-eur-r1.ipynb", as_version=4)
    trace = traces_in(nb)[0].trace  # whole: lean storage put back (trace/lean.py)
    assert trace["messages"][0]["content"].startswith("You solve the user's task with the tools below.")
    assert "- get_price(item): Unit price of a catalogue item in US dollars" in trace["messages"][0]["content"]
    assert trace["messages"][2]["content"] == '{"tool": "get_price", "args": ["hammer"]}'  # the model's own action
    assert trace["steps"][0]["code"] == "print(repr(get_price('hammer')))"
    assert trace["messages"][3]["content"] == "Observation:\n15.75"

    replies = tmp_path / "replies"
    replies.mkdir()
    (replies / "tools-budget-drills.json").write_text(json.dumps([
        "<execute>\nsneaky = 600 * exchange_rate('EUR', 'USD') // get_price('drill')\n</execute>",
        "get_price, drill", "exchange_rate, EUR, USD", "Answer: 7"]))
    text = codeact_eval("-b", "replay", "-m", str(replies), "--action-mode", "text", "--tasks",
                        "tools-budget-drills", "--out", "text", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    row = json.loads((tmp_path / "text" / "results.jsonl").read_text())
    assert row["success"] and row["steps"] == 3
    nb = nbformat.read(tmp_path / "text" / "notebooks" / "tools-budget-drills-r1.ipynb", as_version=4)
    steps = [c for c in nb.cells if c.metadata.get("codeact", {}).get("step")]
    assert steps[0].source.startswith('print("Code cannot run here. To act, call exactly one tool')
    assert [s.source for s in steps[1:]] == ["print(repr(get_price('drill')))",
                                             "print(repr(exchange_rate('EUR', 'USD')))"]


def test_json_and_text_modes_select_the_tool_tasks_only(tmp_path):
    listed = codeact_eval("--action-mode", "json", "--list", cwd=tmp_path)
    ids = [line.split("\t")[0] for line in listed.stdout.splitlines()]
    assert len(ids) >= 10 and all(i.startswith("tools-") for i in ids)


def test_in_tools_mode_every_task_runs_through_the_python_tool_and_the_oracle_scores_100(tmp_path):
    oracle = codeact_eval("--oracle", "--action-mode", "tools", "--tasks", "tools-basket-eur,debug-off-by-one",
                          "-j", "2", "--out", "tools", cwd=tmp_path)
    assert oracle.returncode == 0, oracle.stderr
    assert "= 100.0%" in oracle.stdout
    nb = nbformat.read(tmp_path / "tools" / "notebooks" / "tools-basket-eur-r1.ipynb", as_version=4)
    trace = traces_in(nb)[0].trace  # whole: a lean trace shares its texts through the notebook
    assert trace["messages"][0]["content"].startswith("You are a data and coding assistant")
    assert "calling the `python` tool" in trace["messages"][0]["content"]
    assert trace["messages"][2]["content"].startswith('<tool_call>\n{"name": "python", "arguments": {"code": ')
    assert trace["messages"][3]["content"].startswith("<tool_response>\n")
    assert trace["settings"]["actions"] == "tools"
