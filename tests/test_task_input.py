"""What the user types after %%codeact reaches the model as typed, in every front end.

Questions are the most natural tasks, and IPython's input rules used to eat them: a line
ending in `?` asked for help on its last word ("Object 'there' not found.").
"""
import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

import codeact_jupyter
from kernels import cell_text as outputs_text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (cell as typed, with {model} for the replay options; the task the model must receive)
TASKS = [
    ("%%codeact {model} how many rows are there?", "how many rows are there?"),
    ("%%codeact {model} what is the mean of data?", "what is the mean of data?"),
    ("%codeact {model} how many rows are there?", "how many rows are there?"),
    ("%codeact {model} what is the mean of data?", "what is the mean of data?"),
    ("%codeact {model} is it data??", "is it data??"),
    ("%%codeact {model} is it data??", "is it data??"),
    ("%%codeact {model} ?why does a leading question mark matter", "?why does a leading question mark matter"),
    ("%%codeact {model} !ls lists what?", "!ls lists what?"),
    ("%%codeact {model} %timeit is a magic, what does it do?", "%timeit is a magic, what does it do?"),
    ("%%codeact {model} what's 50% of total?", "what's 50% of total?"),
    ("%%codeact {model} add {{x}} and $x: what do I get?", "add {x} and $x: what do I get?"),
    ("%codeact {model} add {{x}} and $x?", "add {x} and $x?"),
    ("%%codeact {model} list the files in C:\\temp\\", "list the files in C:\\temp\\"),
    ("%codeact {model} first part \\\n    second part?", "first part second part?"),
    ("x = 1\n%codeact {model} what is x?\ny = 2", "what is x?"),
    ("if True:\n    %codeact {model} what is in df?", "what is in df?"),
    ("result = %codeact {model} what is x?", "what is x?"),
    ("\n\n%%codeact {model} after blank lines?\n\n", "after blank lines?"),
    ("%%codeact {model} what is x?\n   \n", "what is x?"),
    # With a body, the first line and the body both belong to the task.
    ("%%codeact {model} what is x?\nand why?", "what is x?\nand why?"),
    ("%%codeact {model}\nhow many rows are there?", "how many rows are there?"),
]


@pytest.mark.parametrize("cell, task", TASKS)
def test_the_task_reaches_the_model_as_typed(ip, replay, cell, task):
    path = replay(["It runs."])
    ip.user_ns["x"] = 5
    result = ip.run_cell(cell.format(model=f"--model {path}"), store_history=True)
    assert result.error_before_exec is None and result.error_in_exec is None
    run = codeact_jupyter.last_run()
    assert run.task == task
    assert run.answer == "It runs."
    assert run.messages[1]["content"].endswith(f"Task: {task}")


def test_a_help_request_still_shows_help(ip, capsys):
    before = codeact_jupyter.last_run()
    for cell, expected in (("%%codeact?", "%codeact [--backend BACKEND]"),
                           ("%codeact?", "%codeact [--backend BACKEND]"),
                           ("%codeact??", "def codeact(self, line")):
        ip.run_cell(cell)
        assert expected in capsys.readouterr().out, cell
    assert codeact_jupyter.last_run() is before  # no task ran


def test_help_starts_with_the_usage_not_a_stray_double_colon(ip):
    doc = ip.find_line_magic("codeact").__doc__
    assert doc.startswith("%codeact [--backend BACKEND]")
    assert "::" not in doc
    usage = doc.split("\n\n")[0].splitlines()
    assert all(line.startswith("         [") for line in usage[1:])  # aligned under the first [
    assert "0: no limit" in doc and "`--` ends them" in doc


def test_other_cell_magics_keep_their_bodies(ip, tmp_path):
    target = tmp_path / "notes.txt"
    ip.run_cell(f"%%writefile {target}\n%codeact not a task?\n", store_history=True)
    assert target.read_text() == "%codeact not a task?\n"


def test_a_codeact_line_inside_a_string_is_text(ip):
    ip.run_cell('text = """\n%codeact not a task?\n"""', store_history=True)
    assert ip.user_ns["text"] == "\n%codeact not a task?\n"




def test_questions_run_in_a_notebook(tmp_path, replay):
    path = replay(["<execute>\nprint(len(rows))\n</execute>", "There are **3** rows."])
    model = f"--backend replay --model {path}"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext codeact_jupyter\nrows = [1, 2, 3]\ndata = [1.0, 2.0]"),
        nbformat.v4.new_code_cell(f"%%codeact {model} how many rows are there?"),
        nbformat.v4.new_code_cell(f"%codeact {model} what is the mean of data?"),
        nbformat.v4.new_code_cell(f"%%codeact {model} what is the mean of data??\n"),
        nbformat.v4.new_code_cell("%%codeact?"),
    ])
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell in nb.cells[1:4]:
        shown = outputs_text(cell)
        assert "There are **3** rows." in shown, cell.source
        assert "not found" not in shown and "Docstring" not in shown
        assert not any(o.output_type == "error" for o in cell.outputs)


def test_help_in_a_kernel_has_no_stray_double_colon():
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        kc.execute_interactive("%load_ext codeact_jupyter", timeout=60)
        reply = kc.execute_interactive("%%codeact?", timeout=60)
        page = reply["content"]["payload"][0]["data"]["text/plain"]
        docstring = page.split("Docstring:", 1)[1]
        assert "::" not in docstring.split("\n\n")[0]
        assert "%codeact [--backend BACKEND]" in docstring
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_question_runs_in_terminal_ipython(replay):
    path = replay(["Three rows."])
    out = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor",
         "--ext=codeact_jupyter", "--CodeActMagics.backend=replay",
         "-c", f"%codeact --model {path} how many rows are there?"],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "Three rows." in out.stdout, out.stdout + out.stderr
    assert "not found" not in out.stdout + out.stderr
