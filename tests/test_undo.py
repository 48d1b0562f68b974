"""``%codeact undo`` in a real kernel: the namespace goes back to how it was before a run,
and what cannot be restored is said plainly. Runs are driven by the replay backend."""
import json

import pytest
from kernels import run_cell, run_json, running_kernel

# Every user name with its object's identity (names starting with _ are the test's own).
SNAPSHOT = ("import json as _json\n"
            "print(_json.dumps({k: id(v) for k, v in globals().items() if not k.startswith('_') "
            "and k not in ('In', 'Out', 'exit', 'quit', 'get_ipython', 'open')}))")


@pytest.fixture
def kc():
    with running_kernel() as (_, kc):
        reply, text = run_cell(kc, "%load_ext codeact_jupyter")
        assert reply["status"] == "ok", text
        yield kc


@pytest.fixture
def task(kc, tmp_path):
    """Run a task whose replies are these steps; returns the run's id."""
    count = iter(range(1000))

    def run(*steps: str) -> str:
        path = tmp_path / f"replies-{next(count)}.json"
        path.write_text(json.dumps([f"<execute>\n{s}\n</execute>" for s in steps] + ["Done."]))
        reply, text = run_cell(kc, f"%codeact --backend replay --model {path} go")
        assert reply["status"] == "ok", text
        return value(kc, "__import__('codeact_jupyter').last_run().run_id")
    return run


def value(kc, expression: str):
    """An expression's value in the kernel (JSON), leaving no name behind."""
    return run_json(kc, f"print(__import__('json').dumps({expression}))")


def undo(kc, run_id: str = "") -> str:
    reply, text = run_cell(kc, f"%codeact undo {run_id}")
    assert reply["status"] == "ok", text
    return text


def test_undo_removes_created_names_restores_rebound_and_deleted_ones(kc, task):
    run_cell(kc, "a = 1\nb = [1, 2]\nc = 'deleted by the run'\nuntouched = {'k': 1}")
    before = run_json(kc, SNAPSHOT)
    run_id = task("a = 2\nnew = 5", "del c\nb = b + [3]\nalias = untouched")
    during = run_json(kc, SNAPSHOT)
    assert set(during) == {"a", "b", "new", "alias", "untouched"}

    shown = undo(kc)
    assert shown.splitlines()[0] == f"Undid run {run_id} ('go')."
    assert "removed (the run created them): new, alias" in shown
    assert "restored to what they were before the run: a, b, c" in shown
    assert "could not restore" not in shown
    # Name by name: the same names, bound to the very objects they had before.
    after = run_json(kc, SNAPSHOT)
    assert after == before
    assert value(kc, "[a, b, c]") == [1, [1, 2], "deleted by the run"]
    assert "was already undone" in undo(kc, run_id)


def test_a_dataframe_changed_in_place_is_reported(kc, task):
    run_cell(kc, "import pandas as pd\ndf = pd.DataFrame({'x': [1, 2, 3]})\nlog = []")
    before = run_json(kc, SNAPSHOT)
    task("df.loc[0, 'x'] = 99", "log.append('step 2')\ndf = df.head(2)")
    shown = undo(kc)
    assert "could not restore: df was changed in place by step 1" in shown
    assert "could not restore: log was changed in place by step 2" in shown
    assert "restored to what they were before the run: df" in shown
    # df is its own object again (3 rows), but that object still holds the change.
    assert run_json(kc, SNAPSHOT) == before
    assert value(kc, "[len(df), int(df.x[0]), log]") == [3, 99, ["step 2"]]


def test_objects_are_released_when_runs_age_out(kc, task):
    run_cell(kc, "%config CodeActMagics.undo_depth = 2\n"
                 "import gc, weakref\nclass Big: pass\nobj = Big()\nref = weakref.ref(obj)")
    alive = "[gc.collect(), ref() is not None][1]"
    first = task("obj = None")  # the run keeps the Big object, to give it back on undo
    assert value(kc, alive) is True
    task("x = 1")
    assert value(kc, alive) is True  # still one of the last two runs
    task("y = 2")
    assert value(kc, alive) is False  # aged out: freed
    assert "too old to undo: only the last 2 runs" in undo(kc, first)


def test_undo_walks_back_and_a_run_is_undone_alone_only_when_no_later_run_changed_its_names(kc, task):
    run_cell(kc, "a = 0")
    first = task("a = 1")
    second = task("a = a + 1\nb = 'second'")
    third = task("z = 'third'")
    refused = undo(kc, first)
    assert refused.startswith(f"Run {first} was not undone: a later run changed the same names "
                              f"(run {second} changed a). Undo the later runs first")
    assert value(kc, "a") == 2  # nothing was touched

    assert undo(kc, second).startswith(f"Undid run {second}")  # the third run is left alone
    assert value(kc, "[a, 'b' in globals(), z]") == [1, False, "third"]
    assert undo(kc).startswith(f"Undid run {third}")  # the latest not yet undone
    assert undo(kc).startswith(f"Undid run {first}")
    assert value(kc, "[a, 'z' in globals()]") == [0, False]
    assert undo(kc) == "Nothing to undo: every codeact run in this kernel has been undone.\n"
    assert "No run nosuchrun in this kernel" in undo(kc, "nosuchrun")


def test_names_changed_after_the_run_are_left_and_files_are_listed_not_deleted(kc, task, tmp_path):
    out = tmp_path / "result.txt"
    task(f"u = 'run'\nv = 'run'\nopen({str(out)!r}, 'w').write('data')")
    run_cell(kc, "u = 'mine'")
    shown = undo(kc)
    assert "removed (the run created them): v" in shown
    assert "left as they are (changed again after the run): u" in shown
    assert f"files the run wrote (not deleted): {out}" in shown
    assert out.read_text() == "data"
    assert value(kc, "[u, 'v' in globals()]") == ["mine", False]



def test_a_name_rebound_after_the_run_is_kept_even_where_the_new_object_has_the_old_address(ip):
    """CPython gives a freed object's address to the next object of its size: undo must not
    take the user's new object for the one the run left there (an id() would)."""
    from codeact_jupyter.undo.command import _apply
    from codeact_jupyter.undo.records import RunTracker

    class Table:
        pass

    tracker = RunTracker(ip, "r-address", "make a table")
    with tracker.watch(1, "df = Table()"):
        ip.user_ns["df"] = Table()
    record = tracker.finish()
    address = id(ip.user_ns["df"])
    del ip.user_ns["df"]  # the run's object is freed (the run keeps no strong reference)...
    others = []  # ...and a new object takes its address, as CPython soon gives it out again
    while id(mine := Table()) != address and len(others) < 100_000:
        others.append(mine)
    assert id(mine) == address
    ip.user_ns["df"] = mine
    report = _apply(ip.user_ns, record)
    assert report.kept == ["df"] and report.removed == []
    assert ip.user_ns.pop("df") is mine


def test_values_the_user_set_in_loops_after_the_run_survive_undo(kc, task):
    """The fault suite's case: the run's objects are freed when the user rebinds the names
    in a loop, and CPython hands their addresses to the loop's objects."""
    run_cell(kc, "cfg = {'v': 0}")
    task("result = [1]\ncfg = {'v': 1}")
    run_cell(kc, "for chunk in range(10):\n    result = [chunk * 2]\n    cfg = {'v': chunk}")
    shown = undo(kc)
    assert "left as they are (changed again after the run): result, cfg" in shown
    assert value(kc, "[result, cfg]") == [[18], {"v": 9}]


def test_an_object_the_run_created_and_the_user_then_filled_is_kept(kc, task):
    task("fresh = []\ncounts = {}")
    run_cell(kc, "fresh.append('user data')")
    shown = undo(kc)
    assert "left as they are (their content changed after the run): fresh" in shown
    assert "removed (the run created them): counts" in shown
    assert value(kc, "[fresh, 'counts' in globals()]") == [["user data"], False]


def test_a_name_set_to_none_after_the_runs_object_was_freed_is_kept(ip):
    """A weak reference to a freed object gives None: that must not read as "the user's None
    is what the run left"."""
    from codeact_jupyter.undo.command import _apply
    from codeact_jupyter.undo.records import RunTracker

    class Model:
        pass

    tracker = RunTracker(ip, "r-none", "fit a model")
    with tracker.watch(1, "model = Model()"):
        ip.user_ns["model"] = Model()
    record = tracker.finish()
    ip.user_ns["model"] = None  # the run's Model is freed
    report = _apply(ip.user_ns, record)
    assert report.kept == ["model"] and report.removed == []
    assert ip.user_ns.pop("model") is None


def test_memory_undo_holds_is_bounded_and_said(ip, replay):
    """Seven runs that each rebind a 40 MB array: undo keeps the replaced arrays only up to
    CodeActMagics.undo_memory; the oldest runs let go first, and the task says so."""
    from codeact_jupyter import last_run
    from codeact_jupyter.events import Notice
    from codeact_jupyter.undo.records import history_of

    ip.run_cell("import numpy as np\narr = np.zeros(5_000_000)")  # 40 MB
    ip.run_line_magic("config", "CodeActMagics.undo_memory = 150")
    ip.run_line_magic("config", "CodeActMagics.undo_depth = 10")
    try:
        path = replay(["<execute>\narr = arr + 1\n</execute>", "Done."] * 7)
        notices = []
        for _ in range(7):
            events = []
            from codeact_jupyter.magics.codeact import resolve_settings
            from codeact_jupyter.agent.task import run_task
            run_task(ip, "add one", resolve_settings(ip, {"backend": "replay", "model": str(path)}), [events.append])
            notices.append([e.text for e in events if isinstance(e, Notice)])
        kept = [r for r in history_of(ip).records if r.undoable]
        assert len(kept) == 3  # 3 × 40 MB fit in 150 MB; a fourth does not
        said = notices[-1]
        assert any(line.startswith("undo: run ") and "can no longer be undone" in line
                   and "CodeActMagics.undo_memory (150 MB)" in line for line in said), said
        assert any(line.startswith("undo keeps 114 MB for the last 3 runs") for line in said), said
        assert ip.user_ns["arr"][0] == 7 and last_run().answer == "Done."
    finally:
        ip.run_line_magic("config", "CodeActMagics.undo_memory = 2048")
        ip.run_line_magic("config", "CodeActMagics.undo_depth = 5")


def test_the_panel_asks_which_earlier_runs_the_kernel_can_still_undo(kc, task):
    """After a reload the panel shows earlier runs from the notebook's records; their Undo
    is enabled only where this kernel still can, and otherwise says why."""
    run_cell(kc, "%config CodeActMagics.undo_depth = 2")
    old = task("p = 1")
    latest = task("q = 2")
    undone = task("r = 3")
    undo(kc, undone)
    states = value(kc, "__import__('codeact_jupyter.undo.command', fromlist=['_']).undo_states("
                       f"get_ipython(), [{latest!r}, {old!r}, {undone!r}, 'from-another-kernel'])")
    assert states[latest] is None
    assert "too old to undo" in states[old]
    assert states[undone] == f"Run {undone} was already undone."
    assert states["from-another-kernel"].startswith("This kernel did not run it (it has restarted since")
