"""``%codeact verify``: the notebook's cells, the agent's steps included, run in a fresh
kernel; failures, changed outputs and hidden state are reported; the live kernel and the
notebook on disk are left alone. Real kernels (nbclient), driven by the replay backend."""
import os
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from codeact_jupyter.trace.build import CELL_KEY
from codeact_jupyter.verify.command import verify_notebook
from kernels import cell_text, gone, running_kernel

STEPS = [
    "<execute>\nclean = sorted(raw)\nprint(clean)\n</execute>",
    "The sorted values are 1, 2, 3.",
]


def execute(nb, folder, timeout=180):
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    return nb


@pytest.fixture
def analysis(tmp_path, replay):
    """A notebook whose agent step used `raw`; saved as run, replay file gone."""
    replies = replay(STEPS)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext codeact_jupyter"),
        nbformat.v4.new_code_cell("raw = [3, 1, 2]"),
        nbformat.v4.new_code_cell(f"%%codeact --backend replay --model {replies}\nsort raw"),
        nbformat.v4.new_code_cell("print(len(clean))"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    execute(nb, tmp_path)
    replies.unlink()
    return nb


def verify_in_kernel(tmp_path, notebook_name, extra=""):
    """``%codeact verify`` as a user runs it, in a kernel of its own that has a variable
    of its own; returns what it printed and whether that variable survived."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext codeact_jupyter\nmine = 'untouched'"),
        nbformat.v4.new_code_cell(f"%codeact verify {notebook_name} {extra}"),
        nbformat.v4.new_code_cell("print(mine)"),
    ])
    execute(nb, tmp_path, timeout=300)
    return cell_text(nb.cells[1]), cell_text(nb.cells[2]).strip()


def test_verify_finds_a_variable_whose_cell_was_deleted_after_the_run(analysis, tmp_path):
    del analysis.cells[1]  # the user deletes the cell that defined raw: hidden state
    path = tmp_path / "analysis.ipynb"
    nbformat.write(analysis, path)
    before = path.read_bytes()
    shown, live = verify_in_kernel(tmp_path, "analysis.ipynb")
    assert "verify: [1/3] cell 1" in shown  # progress as it goes
    assert "FAILS  cell 2 (step 1 of run" in shown
    assert "NameError: name 'raw' is not defined" in shown
    assert ("uses `raw`, which no cell above defines: it existed when the run ran, and is gone "
            "now (deleted, or its cell was removed or edited after the run).") in shown
    assert "FAILS  cell 3: NameError: name 'clean' is not defined" in shown
    assert "1 of 3 cells reproduce." in shown
    assert live == "untouched"  # the live kernel kept its state
    assert path.read_bytes() == before  # and the notebook on disk is as it was


def test_verify_passes_a_clean_notebook(analysis, tmp_path):
    nbformat.write(analysis, tmp_path / "clean.ipynb")
    shown, live = verify_in_kernel(tmp_path, "clean.ipynb")
    assert "4 code cells run in a fresh kernel." in shown
    assert "Everything reproduces." in shown
    assert "FAILS" not in shown and "DIFFERS" not in shown and "HIDDEN" not in shown
    assert live == "untouched"


def test_verify_reports_an_output_that_changed_and_a_name_defined_out_of_order(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print(total)"),
        nbformat.v4.new_code_cell("total = 5\nprint(total * 2)"),
    ])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="5\n")]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="11\n")]
    report = verify_notebook(nb, progress=lambda line: None, cwd=str(tmp_path))
    assert report.failures == [
        "cell 1: NameError: name 'total' is not defined\n    cell 1 uses `total`, which no cell "
        "above defines: only cell 2, below it, defines it (run out of order?)."]
    assert report.differences == ["cell 2: output differs: saved '11', now '10'."]
    assert not report.ok


def test_verify_runs_step_cells_jupyterlab_inserted_and_not_the_task(tmp_path):
    """In JupyterLab the steps are cells of their own (metadata.codeact) and the trace is in
    the task cell's metadata: the steps run, the task (which would call a model) does not."""
    task = nbformat.v4.new_code_cell("%%codeact --backend llama\nmake x", metadata={
        CELL_KEY: {"run_id": "r1", "messages": [], "steps": [{"step": 1, "code": "x = 2", "status": "ok"}]}})
    step = nbformat.v4.new_code_cell("x = 2\nx * 21", metadata={"codeact": {"run_id": "r1", "step": 1, "status": "ok"}},
                                     execution_count=3)
    step.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=3)]
    nb = nbformat.v4.new_notebook(cells=[task, step, nbformat.v4.new_code_cell("%codeact verify")])
    report = verify_notebook(nb, progress=lambda line: None, cwd=str(tmp_path))
    assert report.cells == 1 and report.ok and report.reproduced == 1
    assert report.notes == ["cell 3 is a %codeact command: skipped."]


def test_a_cell_that_runs_too_long_is_interrupted_and_the_rest_still_runs(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import time\ntime.sleep(60)"),
        nbformat.v4.new_code_cell("print('after')"),
    ])
    lines = []
    report = verify_notebook(nb, progress=lines.append, cwd=str(tmp_path), cell_timeout=2)
    assert report.failures == ["cell 1: ran past 2 s and was interrupted."]
    assert report.reproduced == 1 and report.cells == 2
    assert "verify: [2/2] cell 2" in lines


def test_a_name_a_step_deleted_is_traced_to_that_step_by_its_recorded_changes(tmp_path):
    """Static reading cannot see `globals().pop(...)`; the step's recorded namespace changes
    (Step.changes, kept in the trace) can."""
    trace = {"run_id": "r2", "messages": [], "steps": [
        {"step": 1, "code": "globals().pop('tmp')", "status": "ok",
         "changes": {"defined": [], "changed": [], "deleted": ["tmp"], "written": []}}]}
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("tmp = 1"),
        nbformat.v4.new_code_cell("%%codeact tidy up", metadata={CELL_KEY: trace}),
        nbformat.v4.new_code_cell("print(tmp)"),
    ])
    report = verify_notebook(nb, progress=lambda line: None, cwd=str(tmp_path))
    assert report.failures == [
        "cell 3: NameError: name 'tmp' is not defined\n    cell 3 uses `tmp`, which no cell above "
        "defines: cell 2 (step 1 of run r2) deletes it first."]


def test_stop_ends_a_verification_and_its_fresh_kernel(tmp_path):
    """The user's Stop (a kernel interrupt) ends `%codeact verify` at once, not after the
    slow cell, and the fresh kernel it started is shut down."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time\ntime.sleep(120)"),
                                         nbformat.v4.new_code_cell("print('never')")])
    nbformat.write(nb, tmp_path / "slow.ipynb")
    with running_kernel() as (km, kc):
        kc.execute_interactive(f"%load_ext codeact_jupyter\nimport os; os.chdir({str(tmp_path)!r})", timeout=60)
        pid = km.provisioner.process.pid
        seen, children = [], []

        def interrupt_once_running(msg):
            text = msg["content"].get("text", "")
            seen.append(text)
            if "verify: [1/2]" in text and not children:
                time.sleep(2)  # the fresh kernel is running the slow cell
                children.extend(child_pids(pid))
                km.interrupt_kernel()

        started = time.monotonic()
        reply = kc.execute_interactive("%codeact verify slow.ipynb", timeout=90,
                                       output_hook=interrupt_once_running)
        assert time.monotonic() - started < 60  # not the 120 s of the cell
        assert reply["content"]["status"] == "ok"  # a clean end, as a stopped task has
        shown = "".join(seen)
        assert "verify: stopping; the fresh kernel is shut down." in shown
        assert "2 cells were not run" in shown and "FAILS" not in shown
        assert children, "the fresh kernel was not a child of the kernel"
        assert all(gone(child, within=30) for child in children)


def child_pids(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


IGNORES_SIGINT = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(120)"


def test_a_cell_that_ignores_interrupts_cannot_keep_verify_past_its_limits(tmp_path):
    """nbclient's interrupt does nothing to this cell: verify takes the fresh kernel down
    within a few seconds of the limit, and no kernel is left behind."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(IGNORES_SIGINT),
                                         nbformat.v4.new_code_cell("print('after')")])
    before = set(child_pids(os.getpid()))
    lines = []
    started = time.monotonic()
    report = verify_notebook(nb, progress=lines.append, cwd=str(tmp_path), cell_timeout=2, max_seconds=4)
    assert time.monotonic() - started < 30  # the kernel's start, 2 s, and the escalation
    assert report.failures == ["cell 1: ran past 2 s and was interrupted."]
    assert report.not_run == 1
    assert "verify: a cell did not stop when interrupted" in "\n".join(lines)
    assert all(gone(pid, within=10) for pid in set(child_pids(os.getpid())) - before)


def test_the_report_holds_no_kernel_log_lines_and_no_codeact_annotations(tmp_path, capfd):
    """The fresh kernel's own warnings go nowhere; the figure descriptions codeact adds to a
    step's outputs are not outputs of the code, and a fresh kernel has none."""
    step = nbformat.v4.new_code_cell("print('plotted')", execution_count=1)
    step.outputs = [nbformat.v4.new_output("stream", name="stdout", text="plotted\n"),
                    nbformat.v4.new_output("display_data", data={"text/plain": "[What the model read:]"},
                                           metadata={"codeact": {"role": "figure descriptions"}})]
    report = verify_notebook(nbformat.v4.new_notebook(cells=[step]), progress=print, cwd=str(tmp_path))
    assert report.ok and report.reproduced == 1, report.text()
    shown = capfd.readouterr()
    assert "IPKernelApp" not in shown.out + shown.err


def test_a_named_notebook_runs_in_its_own_folder(ip, tmp_path, capsys):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "data.csv").write_text("a\n1\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(open('data.csv').read().split()[1])")])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.cells[0].execution_count = 1
    nbformat.write(nb, folder / "nb.ipynb")
    ip.run_line_magic("codeact", f"verify {folder / 'nb.ipynb'}")
    shown = capsys.readouterr().out
    assert "Everything reproduces." in shown, shown
    assert f"kernel in {folder}" in shown


def test_an_unsaved_notebook_is_named_as_unsaved(ip, tmp_path, monkeypatch):
    from IPython.core.error import UsageError

    monkeypatch.chdir(tmp_path)
    ip.user_ns["__session__"] = str(tmp_path / "Untitled3.ipynb")  # what the server says; not on disk
    try:
        with pytest.raises(UsageError, match="Untitled3.ipynb is not saved yet: save the notebook first"):
            ip.run_line_magic("codeact", "verify")
    finally:
        del ip.user_ns["__session__"]


def test_verify_names_the_cells_it_runs_again_that_act_outside_the_kernel(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("with open('log.txt', 'a') as f:\n    f.write('ran\\n')"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("!echo hi"),
    ])
    lines = []
    verify_notebook(nb, progress=lines.append, cwd=str(tmp_path))
    said = next(line for line in lines if line.startswith("verify runs these again"))
    assert "cell 1 (writes a file)" in said and "cell 3 (runs a shell command)" in said
    assert "cell 2" not in said
    assert lines.index(said) < next(i for i, line in enumerate(lines) if "[1/3]" in line)  # before it runs
