"""Which front ends mirror runs into cells: the JupyterLab extension announces itself.

Before it sends a cell that runs ``%%codeact`` (and when it opens the side panel's task),
the extension opens a comm on target ``codeact_mirror``. Comm messages reach the kernel on
the shell channel in order, so the announcement is handled before that cell runs; the
kernel never waits for it. We record the announcing client's session id: the extension
mirrors only the runs its own window started (lab_bridge), so "a mirror listens" is a
property of the request being executed, not of the kernel.

Where nobody announced (Notebook 7 or JupyterLab without the extension, VS Code,
nbclient, a terminal), the magic's own output stays complete and no comm is opened.

An announcement may carry the notebook document as the user sees it (version 2:
``{"notebook": {...}, "cell_id": str, "task_cell": int}``): the task that cell starts then
reads the document (outputs with printed text, Markdown) instead of the kernel's history.
It is kept for that cell only, and taken once. Every announcement of a task cell also
carries the notebook's record of its runs (``{"record": {"cell_id", "cells"}}``: marks and
trace ids, no outputs; Run All included), which tells re-running the notebook from asking
again (trace/rerun.py); also taken once.
"""
from __future__ import annotations

import logging

TARGET = "codeact_mirror"

log = logging.getLogger(__name__)

# Session ids of the clients (browser windows) whose extension announced itself.
_sessions: set[str] = set()
# The document announced with a task cell, by (session, cell id).
_documents: dict[tuple[str, str], dict] = {}
# The record announced with a task cell, by (session, cell id).
_records: dict[tuple[str, str], dict] = {}
MAX_DOCUMENTS = 8  # a few cells scheduled at once (Run All); older ones are dropped
MAX_RECORDS = 64  # Run All schedules every task cell at once


def listen_for_mirrors() -> bool:
    """Accept announcements from now on (called when the extension is loaded in a kernel).
    Returns False outside a kernel, where no front end can announce anything."""
    try:
        from ipykernel.kernelbase import Kernel
    except ImportError:
        return False
    if not Kernel.initialized():
        return False
    try:
        import comm

        comm.get_comm_manager().register_target(TARGET, _on_announce)
    except Exception:  # an old ipykernel without comms: no mirror, complete output
        log.warning("codeact: cannot listen for the JupyterLab extension", exc_info=True)
        return False
    return True


def _on_announce(comm, msg: dict) -> None:
    session = (msg.get("header") or {}).get("session")
    if isinstance(session, str) and session:
        _sessions.add(session)
        data = ((msg.get("content") or {}).get("data")) or {}
        _keep_document(session, data)
        _keep_record(session, data.get("record"))
    # Not closed here: the window that opened it closes it (a close from the kernel goes
    # to every window on this kernel, and the others never had the comm).


def _keep_document(session: str, data: dict) -> None:
    notebook, cell_id, task_cell = data.get("notebook"), data.get("cell_id"), data.get("task_cell")
    if not (isinstance(notebook, dict) and isinstance(notebook.get("cells"), list)
            and isinstance(cell_id, str) and isinstance(task_cell, int)):
        return
    cells = list(notebook["cells"])
    left_out = notebook.get("left_out")  # the oldest cells the browser left out for size
    task_cell -= left_out if isinstance(left_out, int) and left_out > 0 else 0
    task_cell_json = None
    if 0 <= task_cell < len(cells):
        # The task's own cell is not context; it is kept aside for its run's record (trace/rerun.py).
        task_cell_json = cells.pop(task_cell)
    _documents[(session, cell_id)] = {**notebook, "cells": cells, "active_cell": None,
                                      "task_cell_json": task_cell_json}
    while len(_documents) > MAX_DOCUMENTS:
        del _documents[next(iter(_documents))]


def _keep_record(session: str, record) -> None:
    if not (isinstance(record, dict) and isinstance(record.get("cell_id"), str)
            and isinstance(record.get("cells"), list)):
        return
    # The task cell's own trace, its conversation's and their texts may come as metadata
    # (labextension/src/kernel/document.ts recordFor): a follow-up can then continue it.
    metadata = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
    _records[(session, record["cell_id"])] = {"cells": record["cells"], "metadata": metadata}
    while len(_records) > MAX_RECORDS:
        del _records[next(iter(_records))]


def announced_record() -> dict | None:
    """The notebook's record of its runs (a notebook of marks and trace ids) that the
    requesting window sent before the cell being executed; None without the extension."""
    key = _request_key()
    return _records.pop(key, None) if key else None


def _request_key() -> tuple[str, str] | None:
    from .bridge import executing_cell_id, parent_request

    header = parent_request().get("header")
    session = header.get("session") if isinstance(header, dict) else None
    cell_id = executing_cell_id()
    return (session, cell_id) if isinstance(session, str) and cell_id is not None else None


def announced_notebook() -> dict | None:
    """The notebook document the requesting window sent just before the cell being executed
    (None where it sent none, or without the extension). Taken once."""
    from .bridge import executing_cell_id, parent_request

    header = parent_request().get("header")
    session = header.get("session") if isinstance(header, dict) else None
    cell_id = executing_cell_id()
    if not isinstance(session, str) or cell_id is None:
        return None
    return _documents.pop((session, cell_id), None)


def forget_mirrors() -> None:
    _sessions.clear()
    _documents.clear()
    _records.clear()


def mirror_listening() -> bool:
    """True when the client that sent the request being executed mirrors runs into cells."""
    from .bridge import parent_request

    header = parent_request().get("header")
    session = header.get("session") if isinstance(header, dict) else None
    return session in _sessions
