"""The shipped quickstart opens clean in JupyterLab: nothing is marked unsaved before the
user does anything (a notebook that opens dirty asks "save changes?" about changes nobody
made). Real JupyterLab, headless Chromium."""
from __future__ import annotations

import json
import platform
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart.ipynb"


def test_the_shipped_quickstart_opens_with_nothing_unsaved(lab, page):
    # As examples/open-quickstart copies it: with the version of Python its kernel runs.
    nb = json.loads(QUICKSTART.read_text(encoding="utf-8"))
    nb["metadata"]["language_info"]["version"] = platform.python_version()
    (lab.root / "clean-quickstart.ipynb").write_text(json.dumps(nb, indent=1), encoding="utf-8")
    lab.open(page, "clean-quickstart.ipynb")
    page.wait_for_timeout(2000)  # the kernel's info and the extension's own work arrive
    changed = page.evaluate("""() => {
        const w = window.jupyterapp.shell.currentWidget;
        return { dirty: w.context.model.dirty, notebook: w.context.model.toJSON() };
    }""")
    opened = changed["notebook"]
    assert changed["dirty"] is False, (nb["metadata"], opened["metadata"])
