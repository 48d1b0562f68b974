"""Shared fixtures: a real IPython shell with the extension loaded, and replay files.

The scripted (replay) model is the project's own feature, not a mock: tests drive the real
loop, the real shell and real kernels with it.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # tests also run from a source tree that is not installed
    sys.path.insert(0, str(ROOT))
# Kernels started by the tests import the same source tree.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)


@pytest.fixture(scope="session")
def _ip():
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython()
    ip.run_cell("%load_ext codeact_jupyter")
    return ip


@pytest.fixture
def ip(_ip):
    """The real IPython shell, with a clean user namespace for each test."""
    _ip.run_cell("%reset -f")
    _ip.run_cell("%config CodeActMagics.backend = 'replay'")
    yield _ip
    for name in ("backend", "model", "base_url", "api_key", "max_turns", "timeout", "confirm"):
        _ip.config.CodeActMagics.pop(name, None)
    magics = _ip.magics_manager.registry["CodeActMagics"]
    for name, trait in magics.traits(config=True).items():
        setattr(magics, name, trait.default())


@pytest.fixture
def replay(tmp_path):
    """Write replies to a replay file and return its path: ``replay(["...", "..."])``."""
    def write(replies, name="replies.json"):
        path = tmp_path / name
        path.write_text(json.dumps(replies), encoding="utf-8")
        return path
    return write


@pytest.fixture(scope="session", autouse=True)
def _free_models_in_this_process():
    """Free a model that engine tests loaded in this process while llama_cpp still stands
    (at interpreter exit its __del__ would run after the library's globals are gone)."""
    yield
    model = sys.modules.get("codeact_jupyter.backends.llama.model")
    if model is not None:
        model.unload()


@pytest.fixture
def forget_cells(ip):
    """The shell's history outlives a test: blank the cells stored by this one, so that later
    tests' contexts (and their redaction counts) never see its fake secrets."""
    history = ip.history_manager
    start = len(history.input_hist_raw)
    yield
    for entries in (history.input_hist_raw, history.input_hist_parsed):
        entries[start:] = [""] * (len(entries) - start)
