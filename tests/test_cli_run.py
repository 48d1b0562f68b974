"""`codeact run` end to end, as a user runs it from a shell: a subprocess, a notebook on
disk, the replay backend or a real OpenAI-compatible server; the written notebook read back
with nbformat."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from chat_server import ChatServer

from codeact_jupyter.trace.stored import traces_in



def codeact(*args: str, cwd: Path, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codeact_jupyter.cli", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=dict(os.environ, OPENAI_API_KEY="k"))


@pytest.fixture
def notebook(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Prices"),
        nbformat.v4.new_code_cell("prices = [10, 20, 30]\nprint('loaded', len(prices))"),
        nbformat.v4.new_code_cell("1 / 0"),  # a failing cell: the run goes on, as a notebook would
    ])
    path = tmp_path / "prices.ipynb"
    nbformat.write(nb, path)
    return path


STEP = "I'll add them.\n<execute>\ntotal = sum(prices)\nprint('total is', total)\n</execute>"


def test_run_writes_the_notebook_with_step_answer_and_trace(tmp_path, notebook, replay):
    model = replay([STEP, "The prices add up to **60**."])
    result = codeact("run", str(notebook), "add up the prices", "--backend", "replay", "--model", str(model),
                     "-o", "out.ipynb", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "The prices add up to **60**.\n"
    assert "step 1 ok" in result.stderr and "total = sum(prices)" in result.stderr
    assert "cell 3 raised ZeroDivisionError" in result.stderr
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    nbformat.validate(nb)
    kinds = [c.cell_type for c in nb.cells]
    assert kinds == ["markdown", "code", "code", "code", "code", "markdown"]
    setup, failing, task, step, answer = nb.cells[1:]
    assert setup.outputs[0].text == "loaded 3\n" and setup.execution_count == 1
    assert failing.outputs[0].ename == "ZeroDivisionError"
    assert task.source == "%%codeact add up the prices"
    trace = task.metadata["codeact_trace"]
    assert trace["format"] == "codeact-jupyter trace" and trace["done_reason"] == "answered"
    assert trace["steps"][0]["code"] == "total = sum(prices)\nprint('total is', total)"
    assert trace["steps"][0]["observation"] == {"message": 3}  # lean: the message that sent it
    # Read back whole: the observation as sent, and the model saw the notebook's cells, the
    # failure included.
    trace = traces_in(nb)[0].trace
    assert trace["steps"][0]["observation"] == "Observation:\ntotal is 60\n[defined: total (int)]"
    assert "1 / 0" in trace["messages"][1]["content"] and "ZeroDivisionError" in trace["messages"][1]["content"]
    assert step.source == "total = sum(prices)\nprint('total is', total)"
    assert step.outputs[0].text == "total is 60\n"
    assert step.execution_count == 3  # numbered on from the notebook's cells
    assert step.metadata["codeact"] == {"run_id": trace["run_id"], "step": 1, "status": "ok",
                                        "changes": "defined: total (int)"}  # JupyterLab's line under it
    assert answer.source == "The prices add up to **60**."
    assert answer.metadata["codeact"] == {"run_id": trace["run_id"], "role": "answer"}
    assert nb.metadata["codeact"]["tasks"][0]["reason"] == "answered"
    # The written notebook carries the run where the trace store finds it: it replays.
    again = codeact("run", str(notebook), "add up the prices", "-b", "replay", "-m",
                    f"out.ipynb#{trace['run_id']}", "-o", "again.ipynb", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == result.stdout


def test_the_default_output_sits_beside_the_notebook_and_the_task_can_come_from_stdin(tmp_path, notebook, replay):
    model = replay(["<execute>\nprint(max(prices))\n</execute>", "The largest is 30."])
    task = "find the largest price\nand say it in words"
    result = codeact("run", str(notebook), "-", "-b", "replay", "-m", str(model), cwd=tmp_path, stdin=task)
    assert result.returncode == 0, result.stderr
    written = nbformat.read(notebook.with_name("prices-codeact.ipynb"), as_version=4)
    assert written.cells[3].source == "%%codeact find the largest price\nand say it in words"
    assert written.cells[3].metadata["codeact_trace"]["task"] == task


@pytest.mark.parametrize("replies, options, reason", [
    ([STEP], [], "the replay ran out of replies"),
    ([STEP, STEP, "Done."], ["--max-turns", "2"], "the turn limit was reached"),
])
def test_a_task_without_an_answer_exits_1_with_the_reason(tmp_path, notebook, replay, replies, options, reason):
    model = replay(replies)
    result = codeact("run", str(notebook), "add up the prices", "-b", "replay", "-m", str(model), *options,
                     "-o", "out.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"codeact: no answer: {reason}" in result.stderr
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)  # what ran is kept
    assert nb.cells[-1].metadata["codeact"]["step"] >= 1


def test_a_backend_error_exits_1_and_says_why(tmp_path, notebook):
    result = codeact("run", str(notebook), "anything", "-b", "replay", "-m", str(tmp_path / "missing.json"),
                     "-o", "out.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    assert "Replay file not found" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["run", "nowhere.ipynb", "task"], "notebook not found"),
    (["run", "{nb}", "  "], "the task is empty"),
    (["run", "{nb}"], "required"),
    (["walk"], "unknown command"),
    (["run", "{nb}", "task", "-o", "nodir/out.ipynb"], "the folder of -o nodir/out.ipynb does not exist"),
    (["run", "{nb}", "task", "-o", "."], "is a folder"),
])
def test_bad_usage_exits_2(tmp_path, notebook, args, message):
    result = codeact(*[a.format(nb=notebook) for a in args], cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr


def test_run_against_an_openai_compatible_server(tmp_path, notebook):
    replies = ["<execute>\ndoubled = [p * 2 for p in prices]\nprint(doubled)\n</execute>",
               "Doubled: 20, 40, 60."]
    with ChatServer(replies) as server:
        result = codeact("run", str(notebook), "double the prices", "--base-url", server.base_url,
                         "--model", "scripted", "-o", "out.ipynb", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Doubled: 20, 40, 60.\n"
    assert server.requests[1]["messages"][-1]["content"] == ("Observation:\n[20, 40, 60]\n"
                                                            "[defined: doubled (list, 3 items)]")
    trace = traces_in(nbformat.read(tmp_path / "out.ipynb", as_version=4))[0].trace
    assert trace["settings"]["backend"] == "openai" and trace["settings"]["model"] == "scripted"
    assert trace["turns"][0]["prompt_tokens"] > 0  # the server's figures reach the trace


def test_progress_arrives_while_the_task_runs(tmp_path, notebook, replay):
    """Events flow from the kernel as they happen: step 1's line is on stderr while
    step 2 still runs."""
    model = replay(["<execute>\nprint('quick')\n</execute>",
                    "<execute>\nimport time\ntime.sleep(4)\n</execute>", "Done."])
    proc = subprocess.Popen([sys.executable, "-m", "codeact_jupyter.cli", "run", str(notebook), "go",
                             "-b", "replay", "-m", str(model), "-o", "out.ipynb"],
                            cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    seen = None
    for line in proc.stderr:
        if line.startswith("step 1 ok"):
            seen = time.monotonic()
            break
    rest = proc.communicate(timeout=120)
    ended = time.monotonic()
    assert proc.returncode == 0, rest
    assert seen is not None and ended - seen > 2.5


def test_ctrl_c_stops_the_task_and_keeps_what_ran(tmp_path, notebook, replay):
    model = replay(["<execute>\nstarted = True\nprint('working')\nimport time\ntime.sleep(60)\n</execute>",
                    "Never sent."])
    proc = subprocess.Popen([sys.executable, "-m", "codeact_jupyter.cli", "run", str(notebook), "go",
                             "-b", "replay", "-m", str(model), "-o", "out.ipynb"],
                            cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    for line in proc.stderr:  # the task has started; its step starts at once
        if line.startswith("codeact: replay"):
            break
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    step = nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[4]
    assert step.metadata["codeact"]["status"] == "interrupted"
    assert step.outputs[0].text == "working\n"


def test_a_terminal_gets_a_bar_below_the_step_lines_and_a_pipe_only_lines():
    import io

    from codeact_jupyter.cli.progress import Lines, RunProgress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    events = [{"type": "task_started", "backend": "replay · r.json"}, {"type": "turn_started", "turn": 1},
              {"type": "thinking", "turn": 1, "text": "a" * 1200, "chars": 1200, "cut": False},
              {"type": "code_action", "step": 1, "code": "x = 1"},
              {"type": "observation", "step": 1, "code": "x = 1", "status": "ok"},
              {"type": "turn_started", "turn": 2}, {"type": "done", "reason": "answered", "turns": 2}]
    for stream, bar in ((Terminal(), True), (io.StringIO(), False)):
        progress = RunProgress(4, Lines(stream))
        for event in events:
            progress(event)
        text = stream.getvalue()
        assert "codeact: replay · r.json\n" in text and "step 1 ok 0.0s  x = 1\n" in text
        assert "thought for 1,200 characters\n" in text
        assert ("[######..................] turn 2/4" in text) is bar
        assert ("\r\033[K" in text) is bar


def test_the_command_starts_without_loading_heavy_libraries(tmp_path):
    check = ("import sys\nfrom importlib.metadata import EntryPoint\n"
             "EntryPoint('codeact', 'codeact_jupyter.cli:entry', 'console_scripts').load()\n"
             "import codeact_jupyter.cli.run_command, codeact_jupyter.cli.eval_command\n"
             "heavy = {'nbclient', 'nbformat', 'jupyter_client', 'zmq', 'pandas', 'numpy', 'yaml', 'IPython'}\n"
             "print(sorted(heavy & set(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=tmp_path)
    assert loaded.stdout == "[]\n", loaded.stderr
    helped = codeact("eval", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "--action-mode" in helped.stdout


def test_ctrl_c_while_the_notebooks_own_cells_run_stops_before_the_task(tmp_path, replay):
    """Stopped during the notebook's cells: the task never starts (its model is not asked)
    and nothing half done is written."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('setup', flush=True)\nimport time\ntime.sleep(60)")])
    nbformat.write(nb, tmp_path / "slow.ipynb")
    model = replay(["<execute>\nopen('task-ran', 'w').write('yes')\n</execute>", "Done."])
    proc = subprocess.Popen([sys.executable, "-m", "codeact_jupyter.cli", "run", "slow.ipynb", "go",
                             "-b", "replay", "-m", str(model), "-o", "out.ipynb"],
                            cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    time.sleep(8)  # the kernel has started and is in the slow cell
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopped before the task ended; nothing written" in err
    assert not (tmp_path / "task-ran").exists() and not (tmp_path / "out.ipynb").exists()


def test_an_endpoint_that_never_answers_is_said_with_the_commands_own_option(tmp_path, notebook):
    """The in-kernel advice (`%config CodeActMagics.request_timeout = 300`) reads, for the
    command, as its option `--request-timeout 300`."""
    from chat_server import Fault

    with ChatServer(["hello"], fault=Fault.keep_alive_forever(interval=0.1)) as server:
        result = codeact("run", str(notebook), "say hello", "--base-url", server.base_url, "-m", "scripted",
                         "--request-timeout", "0.5", "-o", "out.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    assert "`--request-timeout 300`" in result.stderr and "%config" not in result.stderr
