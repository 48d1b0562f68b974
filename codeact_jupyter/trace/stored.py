"""Finding the traces (trace.py) that a notebook keeps, and the notebook a reference names.

A trace lives in one of three places (docs/trace.md): a task cell's metadata
(``codeact_trace``), the notebook's metadata (``codeact_traces``, panel runs), or a
``display_data`` output of the task cell (front ends without the extension). Notebooks
are read as plain JSON dicts (``nbformat.read`` gives the same), so this module needs
nothing heavy.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import TaskError, json_kind
from .build import CELL_KEY, MIME, NOTEBOOK_KEY, VERSION

# How a --model value names a stored run: "nb.ipynb#ID", "nb.ipynb", "#ID", "cell:ID", "run:ID".
_PREFIXES = ("cell:", "run:", "#")


@dataclass(frozen=True)
class StoredTrace:
    trace: dict
    where: str  # "cell metadata", "cell output" or "notebook metadata", for messages
    cell_id: str | None = None  # the cell that keeps it (None: the notebook's metadata)
    cell_index: int | None = None  # 0-based

    @property
    def run_id(self) -> str:
        return str(self.trace.get("run_id"))


def traces_in(notebook: dict) -> list[StoredTrace]:
    """Every trace the notebook keeps, in notebook order (cells first, then panel runs),
    whole: texts shared through the notebook's table (lean.py) put back."""
    from .lean import TEXTS_KEY, unpack_all

    found = _traces_in(notebook)
    whole = unpack_all([t.trace for t in found], (notebook.get("metadata") or {}).get(TEXTS_KEY))
    return [StoredTrace(trace, t.where, t.cell_id, t.cell_index) for trace, t in zip(whole, found)]


def _traces_in(notebook: dict) -> list[StoredTrace]:
    found: list[StoredTrace] = []
    for index, cell in enumerate(notebook.get("cells") or []):
        cell_id = cell.get("id")
        trace = (cell.get("metadata") or {}).get(CELL_KEY)
        if _is_trace(trace):
            found.append(StoredTrace(trace, "cell metadata", cell_id, index))
        for output in cell.get("outputs") or []:
            data = output.get("data") or {}
            trace = data.get(MIME)
            if isinstance(trace, str):  # some writers keep JSON MIME types as text
                trace = _loads(trace)
            if _is_trace(trace) and not any(t.run_id == trace.get("run_id") for t in found):
                found.append(StoredTrace(trace, "cell output", cell_id, index))
    for trace in (notebook.get("metadata") or {}).get(NOTEBOOK_KEY) or []:
        if _is_trace(trace):
            found.append(StoredTrace(trace, "notebook metadata"))
    return found


def find_trace(notebook: dict, ident: str | None, source: str = "the notebook") -> StoredTrace:
    """The trace of run ``ident``, or the one kept by cell ``ident``; the last one when
    ``ident`` is empty. Raises TaskError, naming what there is, when none matches."""
    traces = traces_in(notebook)
    if not traces:
        raise TaskError(f"{source} holds no codeact trace. Traces are saved with the notebook "
                           "when a task ends; run a task, save the notebook, then replay it.")
    if not ident:
        latest = max(range(len(traces)), key=lambda i: (str((traces[i].trace.get("timings") or {})
                                                            .get("started") or ""), i))
        return traces[latest]
    for stored in traces:
        if stored.run_id == ident:
            return stored
    for stored in reversed(traces):  # a cell run twice keeps its newest trace last
        if stored.cell_id == ident:
            return stored
    known = ", ".join(t.run_id for t in traces)
    raise TaskError(f"{source} holds no trace of run or cell {ident!r}; its runs are {known}. "
                       "Save the notebook if the run just ended (the kernel reads the file).")


def check_version(stored: StoredTrace, source: str) -> dict:
    version = stored.trace.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise TaskError(f"The trace of run {stored.run_id} in {source} is version {version}; this "
                           f"codeact-jupyter reads version {VERSION}. Upgrade codeact-jupyter "
                           "(pip install -U codeact-jupyter).")
    return stored.trace


def shape_problem(trace: dict) -> str | None:
    """What is wrong with a trace's shape (a hand-edited or damaged file), as a phrase naming
    the field, or None. Only what replay and verify read is checked."""
    messages, steps = trace.get("messages"), trace.get("steps", [])
    if not isinstance(messages, list):
        return f'"messages" must be a list of chat messages, not {json_kind(messages)}'
    for number, message in enumerate(messages, 1):
        if not isinstance(message, dict):
            return f'message {number} must be an object with "role" and "content", not {json_kind(message)}'
        if not isinstance(message.get("role"), str):
            return f'message {number} needs a "role" (a string)'
        if not isinstance(message.get("content", ""), (str, list)):
            return f'message {number}\'s "content" must be text or a list of parts, not {json_kind(message["content"])}'
    if not isinstance(steps, list):
        return f'"steps" must be a list of steps, not {json_kind(steps)}'
    for number, step in enumerate(steps, 1):
        if not isinstance(step, dict):
            return f"step {number} must be an object, not {json_kind(step)}"
        if not isinstance(step.get("code", ""), str):
            return f'step {number}\'s "code" must be text, not {json_kind(step["code"])}'
        if not isinstance(step.get("status", ""), str):
            return f'step {number}\'s "status" must be text, not {json_kind(step["status"])}'
    if not isinstance(trace.get("task", ""), str):
        return f'"task" must be text, not {json_kind(trace["task"])}'
    return None


def check_shape(stored: StoredTrace, source: str) -> dict:
    problem = shape_problem(stored.trace)
    if problem:
        raise TaskError(f"The trace of run {stored.run_id} in {source} cannot be read: {problem}. "
                        "Was it edited by hand? Run the task again to record a new trace.")
    return stored.trace




def is_reference(model: str | None) -> bool:
    """True when a replay's --model names a stored run rather than a replay file."""
    if not model:
        return False
    path = model.partition("#")[0]
    return model.startswith(_PREFIXES) or path.endswith(".ipynb")


def split_reference(model: str) -> tuple[str | None, str | None]:
    """``"nb.ipynb#ID"`` -> ("nb.ipynb", "ID"); ``"cell:ID"`` / ``"#ID"`` -> (None, "ID")."""
    for prefix in _PREFIXES:
        if model.startswith(prefix):
            return None, model[len(prefix):].strip() or None
    path, _, ident = model.partition("#")
    return path, ident.strip() or None


def kernel_notebook_path(user_ns: dict | None = None) -> Path | None:
    """The notebook this kernel belongs to, as the server told it (``__session__``,
    ``JPY_SESSION_NAME``): an absolute path, or one relative to the server's root, of which
    the kernel's working folder is the notebook's."""
    session = (user_ns or {}).get("__session__") or os.environ.get("JPY_SESSION_NAME")
    if not isinstance(session, str) or not session.endswith(".ipynb"):
        return None
    for candidate in (Path(session), Path.cwd() / Path(session).name):
        if candidate.is_file():
            return candidate
    return None


def read_notebook(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskError(f"Notebook not found: {path}.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TaskError(f"Could not read the notebook {path}: {exc}.") from None


def resolve_reference(model: str, user_ns: dict | None = None) -> tuple[dict, str]:
    """The trace a --model reference names, and a short name of its source for messages."""
    path_text, ident = split_reference(model)
    if path_text:
        path = Path(path_text).expanduser()
    else:
        path = kernel_notebook_path(user_ns)
        session = (user_ns or {}).get("__session__") or os.environ.get("JPY_SESSION_NAME")
        if path is None and isinstance(session, str) and session.endswith(".ipynb"):
            raise TaskError(f"--model {model}: {Path(session).name} is not saved yet, and the trace "
                            "is read from the saved file: save the notebook first.")
        if path is None:
            raise TaskError(f"--model {model}: this kernel does not know which notebook it belongs "
                               "to (only JupyterLab and Notebook tell it). Name the notebook: "
                               f"--model NOTEBOOK.ipynb#{ident or 'RUN_ID'}.")
    source = path.name
    stored = find_trace(read_notebook(path), ident, source)
    check_version(stored, source)
    return check_shape(stored, source), f"{source}#{stored.run_id}"


def _is_trace(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("run_id"), str) and "messages" in value


def _loads(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None
