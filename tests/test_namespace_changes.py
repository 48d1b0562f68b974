"""Each step says what it changed in the kernel: the model reads it, last_run() keeps it,
the display shows it. A real IPython shell driven by the replay backend."""
import json

import codeact_jupyter
from codeact_jupyter.backends.base import BackendConfig
from codeact_jupyter.events import Observation
from codeact_jupyter.agent.task import run_task
from codeact_jupyter.agent.settings import TaskSettings


def run(ip, path, task="do it"):
    events = []
    settings = TaskSettings(backend="replay", backend_config=BackendConfig(model=str(path)))
    return run_task(ip, task, settings, [events.append]), events


def step(code: str) -> str:
    return f"<execute>\n{code}\n</execute>"


def test_the_model_reads_which_names_a_step_defined_changed_and_deleted(ip, replay):
    ip.run_cell("import pandas as pd\n"
                "df = pd.DataFrame({'product': list('abcde'), 'price': [5, 3, 9, 1, 7]})\n"
                "tmp = 'scratch'\nkept = [1, 2]\nrate = 0.2")
    path = replay([
        step("top3 = df.nlargest(3, 'price')['price']\n"
             "df.loc[0, 'price'] = 50\n"
             "rate = 0.25\n"
             "del tmp"),
        step("kept.append(3)\nprint(len(kept))"),
        step("print('nothing new')"),
        "Done.",
    ])
    record, events = run(ip, path)
    first, second, third = record.steps
    assert first.observation == ("Observation:\n[The code ran successfully and printed nothing.]\n"
                                 "[defined: top3 (Series, 3 rows); changed: df (in place), "
                                 "rate (float); deleted: tmp]")
    assert second.observation == "Observation:\n3\n[changed: kept (in place)]"
    assert third.observation == "Observation:\nnothing new"  # no line when nothing changed
    assert record.messages[3]["content"] == first.observation  # exactly what the model read
    # The record holds names and type descriptions, never values; it is JSON.
    assert first.changes.to_dict() == {
        "defined": [{"name": "top3", "kind": "Series, 3 rows", "in_place": False}],
        "changed": [{"name": "df", "kind": "DataFrame, 5×2", "in_place": True},
                    {"name": "rate", "kind": "float", "in_place": False}],
        "deleted": ["tmp"], "written": []}
    assert "scratch" not in json.dumps([s.changes.to_dict() for s in record.steps])
    assert not third.changes
    observations = [e for e in events if isinstance(e, Observation)]
    assert observations[0].changes == first.changes.to_dict()  # what views receive
    assert observations[2].changes is None


def test_content_changes_are_seen_below_the_size_bound_and_size_changes_above_it(ip, replay):
    ip.run_cell("import numpy as np\n"
                "small = np.zeros(10)\nbig = np.zeros(1_000_000)\nbigger = list(range(300_000))\n"
                "table = {'a': 1}\nseen = {1, 2}\nsame = [1, 2]")
    path = replay([
        step("small[3] = 1\nbig[3] = 1\nbigger.append(1)\ntable['a'] = 2\nseen.discard(1); seen.add(5)\n"
             "same.sort()"),
        "Done.",
    ])
    record, _ = run(ip, path)
    changed = {c["name"]: c for c in record.steps[0].changes.to_dict()["changed"]}
    assert set(changed) == {"small", "bigger", "table", "seen"}  # big: too large to fingerprint
    assert all(c["in_place"] for c in changed.values())
    assert changed["small"]["kind"] == "ndarray, 10 float64"


def test_the_shells_own_names_are_not_reported(ip, replay):
    path = replay([step("x = 6 * 7\nx"), step("x + 1"), "Done."])
    record, _ = run(ip, path)
    assert record.steps[0].observation == "Observation:\n42\n[defined: x (int)]"
    # The second step set _, __, _N, _iN and Out: none of them is the user's.
    assert record.steps[1].observation == "Observation:\n43"


def test_files_a_step_writes_are_listed(ip, replay, tmp_path):
    out = tmp_path / "out.csv"
    (tmp_path / "in.txt").write_text("read me")
    path = replay([step(f"open({str(tmp_path / 'in.txt')!r}).read()\n"
                        f"with open({str(out)!r}, 'w') as f:\n    f.write('a,b')"), "Done."])
    record, _ = run(ip, path)
    assert record.steps[0].changes.to_dict()["written"] == [str(out)]
    assert record.steps[0].observation.endswith(f"[defined: f (TextIOWrapper); wrote: {out}]")
    # Outside steps nothing is recorded.
    ip.run_cell(f"open({str(tmp_path / 'other.txt')!r}, 'w').close()")
    assert codeact_jupyter.last_run().steps[0].changes.written == (str(out),)


def test_the_display_shows_the_changes_under_the_step_and_the_run_id(ip, replay, capsys):
    path = replay([step("total = 3 + 4"), "Done."])
    ip.run_cell(f"%%codeact --model {path} add\n")
    shown = capsys.readouterr().out
    run_id = codeact_jupyter.last_run().run_id
    assert f"· run {run_id}]" in shown.splitlines()[0]
    assert "[Step 1: defined: total (int)]" in shown


def test_a_step_that_fails_halfway_reports_what_it_did_before_the_error(ip, replay):
    path = replay([step("half = 1\nraise ValueError('boom')"), "Done."])
    record, _ = run(ip, path)
    assert record.steps[0].status == "error"
    assert record.steps[0].observation.endswith("ValueError: boom\n[defined: half (int)]")


def test_a_secrets_line_names_it_and_says_nothing_of_its_value(ip, replay):
    path = replay([step("api_key = str(7 ** 40)\nkeys = [api_key]"), "Done."])
    record, _ = run(ip, path)
    assert record.steps[0].observation == ("Observation:\n[The code ran successfully and printed "
                                           "nothing.]\n[defined: api_key (str), keys (list, 1 item)]")


def test_the_changes_views_receive_hold_no_secret(ip, replay, tmp_path, forget_cells):
    token = "ghp_" + "Q7w2E9r4T6y1U3i8O5p0A2s7D4f9G6h1J3k8"  # fake, in GitHub's format
    ip.user_ns["folder"] = str(tmp_path)
    path = replay([step(f"open(f'{{folder}}/{token}.txt', 'w').write('x')"), "Done."])
    record, events = run(ip, path)
    [observation] = [e for e in events if isinstance(e, Observation)]
    assert token not in json.dumps(observation.changes) and token not in record.steps[0].observation
    assert "[redacted: GitHub token]" in json.dumps(observation.changes)
    ip.user_ns.pop("folder")  # the fake token stays in this test (forget_cells: its history)


def test_a_step_fingerprints_only_what_its_code_names(ip, replay, monkeypatch):
    """A step's cost follows what it can touch: the content of objects it names is hashed
    before and after, the rest of the namespace is measured by identity and size only."""
    from codeact_jupyter.kernel import namespace_changes

    ip.run_cell("import pandas as pd\nbig = pd.DataFrame({'a': range(1000)})\nother = pd.DataFrame({'a': range(10)})")
    hashed = []
    real = namespace_changes._pandas_fingerprint
    monkeypatch.setattr(namespace_changes, "_pandas_fingerprint", lambda v: hashed.append(len(v)) or real(v))
    run_, _ = run(ip, replay([step("other.loc[0, 'a'] = 99"), "Done."]))
    assert set(hashed) == {10}  # `other`, before and after; never `big`
    assert "[changed: other (in place)]" in run_.messages[-2]["content"]


def test_a_step_that_reaches_the_namespace_by_name_is_watched_whole(ip, replay):
    """``globals()['df']`` names no variable: every object is fingerprinted for that step."""
    ip.run_cell("import pandas as pd\nhidden_df = pd.DataFrame({'a': [1, 2]})")
    run_, _ = run(ip, replay([step("globals()['hidden_df'].loc[0, 'a'] = 5"), "Done."]))
    assert "[changed: hidden_df (in place)]" in run_.messages[-2]["content"]
