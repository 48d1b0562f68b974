"""A real JupyterLab for browser tests: `jupyter lab` on 127.0.0.1 with a temporary root
directory, token, settings and workspaces, the extension built from this source tree, and
headless Chromium driven by Playwright (pytest-playwright's `page` fixture). The
`notebook7` fixture is the same with Jupyter Notebook 7 (`pip install notebook`), which
loads the same prebuilt extension.

Needs: the extension built (`cd labextension && jlpm install && jlpm build`, or
`pip install .`), and Chromium at /usr/bin/chromium (or CODEACT_CHROMIUM).
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
# Real-time collaboration changes how every notebook opens and runs: its tests run in their
# own environment (.ci/collaboration installs jupyter-collaboration), and only there.
collect_ignore = [] if importlib.util.find_spec("jupyter_collaboration") else ["test_collaboration.py"]
BUILT_EXTENSION = REPO / "codeact_jupyter" / "labextension"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("CODEACT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `apt-get install -y chromium`, "
                    "or set CODEACT_CHROMIUM to its path.")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS,
            "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lab:
    """A running `jupyter lab` and helpers to drive it from a Playwright page."""

    def __init__(self, root: Path, settings_dir: Path, port: int, token: str):
        self.root, self.settings_dir = root, settings_dir
        self.url = f"http://127.0.0.1:{port}"
        self.token = token

    # Files and settings, written before a page opens them.

    def write_notebook(self, name: str, cells: list) -> str:
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, self.root / name)
        return name

    def write_replies(self, name: str, replies: list[str]) -> Path:
        path = self.root / name
        path.write_text(json.dumps(replies), encoding="utf-8")
        return path

    def set_settings(self, **values) -> None:
        """The extension's user settings (the settings registry reads them at page load)."""
        folder = self.settings_dir / "codeact-jupyter"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "plugin.jupyterlab-settings").write_text(json.dumps(values), encoding="utf-8")

    # The page.

    page_path = "lab/tree"  # where a notebook opens: JupyterLab's tree, Notebook 7's "notebooks"

    def open(self, page, name: str) -> None:
        reset = "&reset" if self.page_path == "lab/tree" else ""
        page.goto(f"{self.url}/{self.page_path}/{name}?token={self.token}{reset}")
        page.wait_for_function(
            """name => {
                const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                const kernel = w && w.sessionContext && w.sessionContext.session
                    && w.sessionContext.session.kernel;
                return w && w.context.path === name && kernel && kernel.status === 'idle'
                    && w.content.widgets.length > 0;
            }""", arg=name, timeout=60_000)

    def saved_notebook(self, page, name: str) -> dict:
        """Save the open notebook from the browser and read the file as the user gets it."""
        page.evaluate("() => window.jupyterapp.shell.currentWidget.context.save()")
        return json.loads((self.root / name).read_text(encoding="utf-8"))

    def cells(self, page) -> list[dict]:
        return page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.toJSON().cells")

    def run_command(self, page, command: str, args: dict | None = None) -> None:
        """Start a JupyterLab command without waiting for it (a cell may run for long)."""
        page.evaluate("([c, a]) => { void window.jupyterapp.commands.execute(c, a); }",
                      [command, args or {}])

    def wait_idle(self, page, timeout: float = 60_000) -> None:
        page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
            timeout=timeout)

    def kernel_output(self, page, code: str) -> str:
        """Run code in the notebook's kernel (not in a cell) and return what it printed."""
        return page.evaluate(
            """async code => {
                const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
                const future = kernel.requestExecute({ code, store_history: false });
                let text = '';
                future.onIOPub = msg => {
                    if (msg.header.msg_type === 'stream') { text += msg.content.text; }
                    if (msg.header.msg_type === 'error') {
                        text += msg.content.ename + ': ' + msg.content.evalue;
                    }
                };
                await future.done;
                return text;
            }""", code)

    def screenshot(self, page, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        page.screenshot(path=str(path))
        return path


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    yield from _serve(tmp_path_factory, "jupyterlab", "LabApp")


@pytest.fixture(scope="session")
def notebook7(tmp_path_factory):
    server = _serve(tmp_path_factory, "notebook", "JupyterNotebookApp")
    for app in server:
        app.page_path = "notebooks"
        yield app


def _serve(tmp_path_factory, module: str, app: str):
    if not (BUILT_EXTENSION / "package.json").exists():
        pytest.fail("The JupyterLab extension is not built: run `cd labextension && jlpm install "
                    "&& jlpm build` (or `pip install .`) first.")
    base = tmp_path_factory.mktemp(module)
    root, settings_dir, workspaces, extensions = (base / d for d in
                                                  ("root", "settings", "workspaces", "labextensions"))
    for folder in (root, settings_dir, workspaces, extensions):
        folder.mkdir()
    # No "get notified about news?" toast over the page.
    notification = settings_dir / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8")
    # This tree's build comes first, before any installed copy of the extension.
    (extensions / "codeact-jupyter").symlink_to(BUILT_EXTENSION, target_is_directory=True)
    port, token = _free_port(), os.urandom(16).hex()
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
           "IPYTHONDIR": str(base / "ipython"),
           "JUPYTER_CONFIG_DIR": str(base / "config"),
           "JUPYTER_RUNTIME_DIR": str(base / "runtime")}
    env.pop("OPENAI_API_KEY", None)
    command = [sys.executable, "-m", module, "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
               f"--IdentityProvider.token={token}",
               f"--{app}.user_settings_dir={settings_dir}",
               f"--{app}.workspaces_dir={workspaces}",
               f"--{app}.extra_labextensions_path={extensions}",
               f"--{app}.expose_app_in_browser=True"]
    # The server config the package installs (etc/jupyter), as a user's server reads it.
    shipped = REPO / "jupyter-config" / "jupyter_server_config.d"
    shutil.copytree(shipped, base / "config" / "jupyter_server_config.d")
    if app != "LabApp":
        # Notebook 7 takes an extension's metadata from the last folder that holds it, and
        # JupyterLab's server extension, loaded beside it, serves /lab/extensions/ from its
        # own paths: both look in this tree's build first and skip installed copies.
        from jupyter_core.paths import jupyter_path

        config = base / "config"
        config.mkdir(exist_ok=True)
        paths = [str(extensions)] + [p for p in jupyter_path("labextensions")
                                     if not (Path(p) / "codeact-jupyter").exists()]
        (config / "jupyter_server_config.json").write_text(
            json.dumps({name: {"labextensions_path": paths} for name in (app, "LabApp")}),
            encoding="utf-8")
    if app == "LabApp":
        command += ["--LabApp.news_url=None",
                    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log_path = base / f"{module}.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                  cwd=root, start_new_session=True)
    try:
        _wait_ready(server, f"http://127.0.0.1:{port}/api/status", token, log_path)
        yield Lab(root, settings_dir, port, token)
    finally:
        _stop(server)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(log_path, ARTIFACTS / log_path.name)


def _wait_ready(server: subprocess.Popen, url: str, token: str, log_path: Path) -> None:
    deadline = time.monotonic() + 90
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the Jupyter server exited with {server.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)  # polling for the server to listen, not waiting a fixed time
    _stop(server)
    pytest.fail(f"the Jupyter server did not answer within 90 s:\n{log_path.read_text()}")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
