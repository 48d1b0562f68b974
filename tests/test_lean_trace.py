"""A lean trace keeps what was sent, exactly: stored in a notebook, the texts its traces
share are kept once (trace/lean.py), and reading the notebook gives every trace back
whole, byte for byte, for replay, verify and re-running."""
from __future__ import annotations

import json

import nbformat

from codeact_jupyter.agent.conversation import forget_conversations
from codeact_jupyter.agent.settings import TaskSettings
from codeact_jupyter.agent.task import run_task
from codeact_jupyter.backends.base import BackendConfig
from codeact_jupyter.cli.in_kernel import record_of
from codeact_jupyter.cli.notebook_out import CELL_KEY, add_run
from codeact_jupyter.trace.build import run_trace
from codeact_jupyter.trace.lean import TEXTS_KEY
from codeact_jupyter.trace.stored import traces_in


def test_a_conversations_traces_are_stored_once_and_read_back_whole(ip, replay, tmp_path):
    forget_conversations()
    ip.run_cell("prices = [10, 20, 30]\n" + "\n".join(f"# a long comment line {i} about the data" for i in range(20)))
    nb = nbformat.v4.new_notebook()
    whole = []
    for n in range(3):
        path = replay([f"<execute>\nt{n} = sum(prices) + {n}\nprint(t{n})\n</execute>", f"Total {n} is {60 + n}."],
                      name=f"r{n}.json")
        events = []
        run = run_task(ip, f"task {n}", TaskSettings(backend="replay", backend_config=BackendConfig(model=str(path))),
                       [lambda e: events.append(e.to_dict())], conversation="last" if n else None)
        record = record_of(run)
        whole.append(run_trace(run))
        add_run(nb, f"task {n}", events, record, follows=run.follows)
    nbformat.write(nb, tmp_path / "lean.ipynb")
    saved = json.loads((tmp_path / "lean.ipynb").read_text())
    stored = [c["metadata"][CELL_KEY] for c in saved["cells"] if CELL_KEY in c["metadata"]]
    # The follow-ups refer to the messages before them, and the system prompt is kept once.
    assert stored[2]["earlier"] == {"run_id": stored[1]["run_id"], "count": len(whole[1]["messages"])}
    assert "earlier" not in stored[0]
    system = whole[0]["messages"][0]["content"]
    assert json.dumps(saved).count(system.split("\n")[0]) == 1
    assert len(json.dumps(stored)) < len(json.dumps(whole)) / 2
    # The settings are a shared text (here each run's differ: its own replay file); an
    # observation is the message that sent it.
    assert set(stored[0]["settings"]) == {"ref"} and stored[0]["settings"]["ref"] in saved["metadata"][TEXTS_KEY]
    assert stored[0]["steps"][0]["observation"] == {"message": 3}
    assert stored[0]["steps"][0]["changes"] == {"defined": [{"name": "t0", "kind": "int"}]}
    # Read back, each is the whole trace, messages exactly as sent.
    read = [t.trace for t in traces_in(saved)]
    for got, sent in zip(read, whole):
        assert got["messages"] == sent["messages"]
        assert got["steps"] == sent["steps"] and got["answer"] == sent["answer"]
        assert got["settings"] == sent["settings"]


def test_a_trace_whose_earlier_run_is_gone_still_holds_its_own_task(ip, replay):
    forget_conversations()
    nb = nbformat.v4.new_notebook()
    for n in range(2):
        path = replay([f"Answer {n}: " + "words " * 60], name=f"a{n}.json")
        events = []
        run = run_task(ip, f"question {n}", TaskSettings(backend="replay", backend_config=BackendConfig(model=str(path))),
                       [lambda e: events.append(e.to_dict())], conversation="last" if n else None)
        add_run(nb, f"question {n}", events, record_of(run), follows=run.follows)
    del nb.cells[0:2]  # the first run's task and answer cells, trace included
    [trace] = [t.trace for t in traces_in(nb)]
    assert "whose trace is no longer in the notebook" in trace["messages"][0]["content"]
    assert trace["messages"][-1]["content"].startswith("Answer 1: ")  # its own reply, whole
    assert trace["answer"].startswith("Answer 1: ")
    assert TEXTS_KEY in nb.metadata
