"""When a replayed step does not do what it did in the recording.

The replies after a step were written for that step's recorded output. If the step
succeeded then and fails now (a package missing, a file not there), playing them on would
show canned words about results that do not exist ("The plot above shows..."), so the
replay stops with one message saying where and why, and what to do.

The other way round (failed then, succeeds now) the replay goes on with a notice: the
replies that follow were written to recover from the failure, and re-running recovery
code over a success shows nothing false. A skipped or interrupted step is the user's
decision, not a divergence, and is never compared.
"""
from __future__ import annotations

import os
import re

from ..base import BackendError

FAILED = ("error", "timeout")
# Import names whose package on PyPI has another name.
PACKAGE_OF = {"sklearn": "scikit-learn", "PIL": "pillow", "cv2": "opencv-python",
              "yaml": "pyyaml", "bs4": "beautifulsoup4", "skimage": "scikit-image",
              "dateutil": "python-dateutil"}
EXAMPLE_PACKAGES = {"pandas", "matplotlib"}


class ReplayDiverged(BackendError):
    """A replayed step failed where the recording's step succeeded: the task ends."""


def check_step(number: int, recorded: str | None, status: str, outputs: list[dict],
               bundled: bool = False) -> str | None:
    """Compare a step with its recording: raise :class:`ReplayDiverged`, return a notice,
    or return None when there is nothing to say."""
    if recorded is None or recorded not in ("ok",) + FAILED:
        return None
    if recorded == "ok" and status in FAILED:
        raise ReplayDiverged(diverged_message(number, status, outputs, bundled))
    if recorded in FAILED and status == "ok":
        return (f"Step {number} succeeded where the recording's step failed; the replay goes on, "
                "though its next replies were written to recover from that failure.")
    return None


def diverged_message(number: int, status: str, outputs: list[dict], bundled: bool) -> str:
    error = _error_output(outputs)
    if status == "timeout":
        failed = "ran past the time limit and was stopped"
    elif error:
        failed = f"failed with {error_line(error)}"
    else:
        failed = "failed"
    hint = _hint(error, bundled) if status == "error" and error else ""
    return (f"The replayed run diverged at step {number}: the recording's step succeeded, here it "
            f"{failed}. {hint}{' ' if hint else ''}The replies after this step were written for "
            "the recording's output, so the replay stops here.")


def error_line(error: dict) -> str:
    value = str(error.get("evalue") or "").strip().splitlines()
    return f"{error.get('ename', 'Error')}: {value[0]}" if value else str(error.get("ename", "Error"))


def _error_output(outputs: list[dict]) -> dict | None:
    errors = [o for o in outputs if o.get("output_type") == "error"]
    return errors[-1] if errors else None


def _hint(error: dict, bundled: bool) -> str:
    name, value = error.get("ename", ""), str(error.get("evalue", ""))
    if name == "ModuleNotFoundError":
        found = re.search(r"No module named '([^']+)'|import of (\S+) halted", value)
        if found:
            module = (found.group(1) or found.group(2)).split(".")[0]
            package = PACKAGE_OF.get(module, module)
            hint = (f"Install {package} in this kernel's environment (`%pip install {package}` "
                    "in a cell) and run the task again.")
            if bundled and module in EXAMPLE_PACKAGES:
                hint += (' The bundled demos need the example packages: '
                         'pip install "codeact-jupyter[examples]".')
            return hint
    if name == "FileNotFoundError":
        found = re.search(r"No such file or directory: '([^']+)'", value)
        if found:
            return (f"The recording had {found.group(1)} where it ran; this kernel runs in "
                    f"{os.getcwd()} and finds no such file. Create it (earlier cells of the notebook "
                    "may do that) or run the notebook from the folder that holds it.")
    if name == "NameError":
        found = re.search(r"name '([^']+)' is not defined", value)
        if found:
            return (f"The recording had `{found.group(1)}` defined before this step: run the "
                    "notebook's earlier cells first.")
    # No "above": in JupyterLab the traceback is in the step's cell, below this message.
    return "The step's traceback is in its output."
