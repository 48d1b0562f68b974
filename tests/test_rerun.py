"""Re-running a notebook reproduces its runs without asking the model again (README,
"Re-running a notebook"): `codeact run` on its own output, nbclient re-executing a notebook
that holds a run, and the explicit ways to ask again. The chat server counts the requests:
a re-run that asked the model would show up there."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from chat_server import ChatServer
from nbclient import NotebookClient

STEP = "I'll add them.\n<execute>\ntotal = sum(prices)\nprint('total is', total)\n</execute>"
ANSWER = "The prices add up to **60**."


def codeact(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codeact_jupyter.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, OPENAI_API_KEY="k"))


@pytest.fixture
def notebook(tmp_path):
    path = tmp_path / "prices.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("prices = [10, 20, 30]")]), path)
    return path


def task_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("%%codeact")]


def text_of(cell) -> str:
    data = lambda o: o.get("data") or {}
    return "".join(o.get("text", "") + str(data(o).get("text/markdown", data(o).get("text/plain", "")))
                   for o in cell.outputs)


def test_codeact_run_on_its_own_output_asks_the_model_only_for_the_new_task(tmp_path, notebook):
    with ChatServer([STEP, ANSWER, "<execute>\nprint(max(prices))\n</execute>", "The largest is 30."]) as server:
        first = codeact("run", str(notebook), "add up the prices", "--base-url", server.base_url,
                        "-m", "scripted", "-o", str(notebook), cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        assert len(server.requests) == 2
        second = codeact("run", str(notebook), "find the largest price", "--base-url", server.base_url,
                         "-m", "scripted", "-o", str(notebook), cwd=tmp_path)
        assert second.returncode == 0, second.stderr
        assert len(server.requests) == 4  # the second task's two turns; the first task asked nothing
    nb = nbformat.read(notebook, as_version=4)
    assert [c.source for c in task_cells(nb)] == ["%%codeact add up the prices", "%%codeact find the largest price"]
    steps = [c for c in nb.cells if c.metadata.get("codeact", {}).get("step")]
    assert [c.source for c in steps] == ["total = sum(prices)\nprint('total is', total)", "print(max(prices))"]
    assert [c.source for c in nb.cells if c.cell_type == "markdown"] == [ANSWER, "The largest is 30."]
    # The first task's cell says it reproduced its run; its step cell ran again as a cell.
    assert "the model was not asked again" in text_of(task_cells(nb)[0])
    assert steps[0].outputs[0].text == "total is 60\n"


def test_the_same_task_again_reproduces_and_again_asks_the_model_in_the_old_runs_place(tmp_path, notebook):
    with ChatServer([STEP, ANSWER, STEP, "Now they add up to **60** again."]) as server:
        base = ["--base-url", server.base_url, "-m", "scripted", "-o", str(notebook)]
        assert codeact("run", str(notebook), "add up the prices", *base, cwd=tmp_path).returncode == 0
        nbformat.write(nbformat.read(notebook, as_version=4), notebook)
        nb = nbformat.read(notebook, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell("print('after the run')"))
        nbformat.write(nb, notebook)
        same = codeact("run", str(notebook), "add up the prices", *base, cwd=tmp_path)
        assert same.returncode == 0, same.stderr
        assert same.stdout == ANSWER + "\n" and "--again asks it" in same.stderr
        assert len(server.requests) == 2
        fresh = codeact("run", str(notebook), "add up the prices", "--again", *base, cwd=tmp_path)
        assert fresh.returncode == 0, fresh.stderr
        assert fresh.stdout == "Now they add up to **60** again.\n"
        assert len(server.requests) == 4
    nb = nbformat.read(notebook, as_version=4)
    # One run of the task, where the first one was, and the user's cell still after it.
    assert [c.source for c in nb.cells] == ["prices = [10, 20, 30]", "%%codeact add up the prices",
                                            "total = sum(prices)\nprint('total is', total)",
                                            "Now they add up to **60** again.", "print('after the run')"]


def test_nbclient_re_executing_a_notebook_that_holds_a_run_asks_nothing(tmp_path, notebook):
    """nbclient keeps the trace as an output of the task cell (no extension): running the
    notebook again runs the recorded steps in the task cell and keeps the trace there."""
    with ChatServer([STEP, ANSWER]) as server:
        nb = nbformat.read(notebook, as_version=4)
        nb.cells += [nbformat.v4.new_code_cell("%load_ext codeact_jupyter"),
                     nbformat.v4.new_code_cell(f"%%codeact --base-url {server.base_url} -m scripted add up the prices"),
                     nbformat.v4.new_code_cell("print(total * 2)")]
        run = lambda: NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}}).execute()
        run()
        nbformat.write(nb, notebook)
        assert len(server.requests) == 2
        nb = nbformat.read(notebook, as_version=4)
        run()
        nbformat.write(nb, notebook)
        run()  # and once more: the record survived the first re-run
        assert len(server.requests) == 2
    task = nb.cells[2]
    assert len(task_cells(nb)) == 1 and len(nb.cells) == 4
    output = text_of(task)
    assert "reproduced run" in output and "its 1 recorded step run again here" in output
    assert "total is 60" in output and ANSWER in output
    assert any("application/vnd.codeact.trace+json" in (o.get("data") or {}) for o in task.outputs)
    assert nb.cells[3].outputs[0].text == "120\n"  # the reproduced step defined total


def test_nbclient_re_executing_codeact_runs_output_runs_its_step_cells_and_asks_nothing(tmp_path, notebook):
    with ChatServer([STEP, ANSWER]) as server:
        assert codeact("run", str(notebook), "add up the prices", "--base-url", server.base_url,
                       "-m", "scripted", "-o", "out.ipynb", cwd=tmp_path).returncode == 0
        nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
        nb.cells.insert(0, nbformat.v4.new_code_cell("%load_ext codeact_jupyter"))
        NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
        assert len(server.requests) == 2
    assert len(task_cells(nb)) == 1 and len(nb.cells) == 5
    assert "its 1 step cell and the answer cell run as cells of their own" in text_of(task_cells(nb)[0])
    assert nb.cells[3].outputs[0].text == "total is 60\n"


def test_an_edited_task_or_again_asks_the_model(tmp_path, notebook):
    with ChatServer([STEP, ANSWER, STEP, ANSWER, STEP, ANSWER]) as server:
        nb = nbformat.read(notebook, as_version=4)
        nb.cells += [nbformat.v4.new_code_cell("%load_ext codeact_jupyter"),
                     nbformat.v4.new_code_cell(f"%%codeact --base-url {server.base_url} -m scripted add up the prices")]
        run = lambda: NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}}).execute()
        run()
        nbformat.write(nb, notebook)
        nb.cells[2].source = nb.cells[2].source.replace("add up", "sum")  # edited since its run
        run()
        assert len(server.requests) == 4
        nbformat.write(nb, notebook)
        nb.cells[2].source = nb.cells[2].source.replace("%%codeact", "%%codeact --again")
        run()
        assert len(server.requests) == 6


def test_a_follow_up_after_a_reproduced_run_continues_the_recorded_conversation(tmp_path, notebook):
    """Run All reproduces the run from its record, asking nothing; `-c` then continues it:
    the model is sent the recorded transcript (its own reply included), then the follow-up."""
    with ChatServer([STEP, ANSWER, "The largest is 30."]) as server:
        nb = nbformat.read(notebook, as_version=4)
        nb.cells += [nbformat.v4.new_code_cell("%load_ext codeact_jupyter"),
                     nbformat.v4.new_code_cell(f"%%codeact --base-url {server.base_url} -m scripted add up the prices")]
        run = lambda: NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}}).execute()
        run()
        nbformat.write(nb, notebook)
        nb = nbformat.read(notebook, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(
            f"%%codeact -c --base-url {server.base_url} -m scripted and the largest price?"))
        run()  # the first task reproduced, the follow-up asked
        assert len(server.requests) == 3
        sent = server.requests[2]["messages"]
    assert [m["content"] for m in sent[2:4]] == [STEP, "Observation:\ntotal is 60\n[defined: total (int)]"]
    assert sent[4]["content"] == ANSWER
    assert sent[-1]["content"].rstrip().endswith("and the largest price?")
    assert "Follow-up" in text_of(nb.cells[-1])
