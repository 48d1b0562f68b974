"""The quickstart as a user meets it: README's command opens a scratch copy in JupyterLab,
the notebook runs end to end in a real kernel, and the checkout stays as it was."""
from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from kernels import cell_text

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "open-quickstart"
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"
TOKEN = "quickstart-test"

# Put in front of the notebook: pandas and matplotlib cannot be imported, as with the wheel
# installed without its [examples] extra.
WITHOUT_EXAMPLE_PACKAGES = """
import importlib.abc, sys
class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pandas", "matplotlib"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NotInstalled())
"""


def shipped_as_copied() -> dict:
    """The shipped notebook as the script copies it: with the Python version its kernel
    reports, so that JupyterLab opens it clean (tests/ui/test_quickstart_opens_clean.py)."""
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    nb["metadata"]["language_info"]["version"] = platform.python_version()
    return nb


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout



def cell_text_line(cell) -> str:
    return cell_text(cell, tracebacks=False)


def task_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith("%%codeact"))


def execute(path: Path) -> nbformat.NotebookNode:
    """Run a notebook in a real kernel whose working folder is the notebook's, as JupyterLab
    does, and save it with its outputs, as JupyterLab's autosave would."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, path)
    return nb


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab_env(tmp_path, monkeypatch):
    """Where the script puts its copy, and JupyterLab's own files kept out of ~."""
    for name in ("JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "JUPYTER_RUNTIME_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("CODEACT_QUICKSTART_DIR", str(tmp_path / "codeact-quickstart"))
    return tmp_path / "codeact-quickstart"


def test_readme_command_opens_a_scratch_copy_and_running_it_leaves_the_checkout_clean(lab_env):
    before = git_status()
    port = free_port()
    lab = subprocess.Popen(
        ["bash", str(SCRIPT), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={TOKEN}", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        listing = None
        deadline = time.monotonic() + 60
        while listing is None and time.monotonic() < deadline and lab.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={TOKEN}",
                                            timeout=2) as response:
                    listing = response.read().decode()
            except OSError:
                time.sleep(0.3)
        assert lab.poll() is None, f"jupyter lab exited (as root it needs --allow-root):\n{lab.stdout.read()}"
        assert listing is not None, "jupyter lab did not answer within 60 s"
        # The server serves the scratch folder, which holds the copy it opened.
        assert '"name": "quickstart.ipynb"' in listing
        assert json.loads((lab_env / "quickstart.ipynb").read_text()) == shipped_as_copied()
    finally:
        lab.terminate()
        lab.wait(timeout=30)

    # The user runs every cell there, and JupyterLab saves the notebook with its outputs.
    nb = execute(lab_env / "quickstart.ipynb")
    shown = cell_text_line(task_cell(nb))
    assert "The plot above shows their monthly revenue" in shown
    assert "diverged" not in shown
    assert any("image/png" in out.get("data", {}) for out in task_cell(nb).outputs)  # the plot
    assert (lab_env / "data.csv").is_file()
    assert git_status() == before  # no data.csv, no checkpoints, no outputs in the checkout


def test_a_second_run_keeps_the_users_copy(lab_env):
    lab_env.mkdir(parents=True)
    (lab_env / "quickstart.ipynb").write_text("my edits", encoding="utf-8")
    env = dict(os.environ, PATH=f"{fake_jupyter(lab_env.parent)}{os.pathsep}{os.environ['PATH']}")
    out = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, check=True)
    assert "keeping your copy" in out.stdout
    assert (lab_env / "quickstart.ipynb").read_text(encoding="utf-8") == "my edits"
    # jupyter lab starts in the copy's folder, with --allow-root only when run as root.
    args, cwd = (lab_env.parent / "jupyter-called").read_text().splitlines()
    assert Path(cwd).resolve() == lab_env.resolve()
    assert args.split() == ["lab", *(["--allow-root"] if os.getuid() == 0 else []), "quickstart.ipynb"]


def test_a_scratch_folder_inside_the_checkout_is_refused(monkeypatch):
    monkeypatch.setenv("CODEACT_QUICKSTART_DIR", str(ROOT / "examples"))
    out = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True)
    assert out.returncode == 2
    assert "is inside the checkout" in out.stderr


def fake_jupyter(folder: Path) -> Path:
    """A stand-in for `jupyter` that records how it was called, for the checks that need no
    real server."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "jupyter"
    script.write_text(f'#!/bin/sh\necho "$*" > {folder / "jupyter-called"}\npwd >> {folder / "jupyter-called"}\n')
    script.chmod(0o755)
    return bin_dir


def test_without_the_example_packages_the_demo_stops_at_step_one_and_says_what_to_install(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(WITHOUT_EXAMPLE_PACKAGES))
    path = tmp_path / "quickstart.ipynb"
    nbformat.write(nb, path)
    shown = cell_text_line(task_cell(execute(path)))
    assert ("The replayed run diverged at step 1: the recording's step succeeded, here it failed "
            "with ModuleNotFoundError: No module named 'pandas'. Install pandas in this kernel's "
            "environment (`%pip install pandas` in a cell) and run the task again. The bundled demos "
            'need the example packages: pip install "codeact-jupyter[examples]".') in shown
    assert "The plot above shows" not in shown  # no canned answer over broken steps
    assert "Now the three most expensive" not in shown  # nor the replies after the failed step


def test_the_checkout_notebook_has_no_outputs_to_leak():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb.cells if c.cell_type == "code")


def test_the_quickstart_replays_from_its_own_saved_trace_with_no_model(tmp_path):
    """The shipped demo holds no secret: its steps reach the model and the trace exactly as
    written, nothing is said to be withheld, and the trace the run saved replays to the end."""
    from codeact_jupyter.trace.build import MIME
    import json

    path = tmp_path / "quickstart.ipynb"
    nbformat.write(nbformat.read(NOTEBOOK, as_version=4), path)
    nb = execute(path)
    cell = task_cell(nb)
    assert "withheld" not in cell_text_line(cell)
    trace = next(out["data"][MIME] for out in cell.outputs if MIME in out.get("data", {}))
    shipped = json.loads((ROOT / "codeact_jupyter" / "replays" / "quickstart.json").read_text())
    shipped_code = [r["text"].split("<execute>\n", 1)[1].rsplit("\n</execute>", 1)[0]
                    for r in shipped["replies"] if "<execute>" in r["text"]]
    assert [step["code"] for step in trace["steps"]] == shipped_code
    assert trace["redactions"] == {}

    cell.source = f"%%codeact --backend replay --model quickstart.ipynb#{trace['run_id']}\n{shipped['task']}"
    nbformat.write(nb, path)
    shown = cell_text_line(task_cell(execute(path)))
    assert "diverged" not in shown and "KeyError" not in shown
    assert "The plot above shows their monthly revenue" in shown
