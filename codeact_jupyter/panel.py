"""The browser's one door: every function the JupyterLab extension calls in the kernel.

The extension calls these by name (labextension/src/kernel/call.ts): a panel task
(:func:`run_panel_task`, with its settings and the browser's notebook document; the same
runner as the magic's runs it, and the same comm, lab.bridge, carries its events back), the
context it would send, Undo and Verify. This module stays where it is: the browser runs in
the server's environment, and the kernel may hold another version of this package.
"""
from __future__ import annotations

import dataclasses
import json

from .agent.task import run_task
from .events import Done, Error
from .lab.bridge import LabBridge
from .lab.panel_words import PanelWording, in_panel_terms
from .magics.views import hide_live_output

# Keys of a panel request's "settings" that are passed on as task overrides.
OVERRIDE_KEYS = ("backend", "model", "base_url", "max_turns", "timeout", "confirm", "context",
                 "actions", "profile")
UNDO_STATES_MIME = "application/vnd.codeact.undo-states+json"
BACKENDS_MIME = "application/vnd.codeact.backends+json"


def run_panel_task(request_json: str) -> None:
    """Run a task sent by the side panel, mirroring its events back to it.

    ``request_json``: ``{"task": str, "settings": {backend, model, base_url, max_turns,
    timeout, confirm, context}, "notebook": {"cells": [...], "active_cell": int},
    "exclude": [part keys the user unticked in the manifest], "conversation": id | "new" |
    "last"}`` (the conversation to continue; absent: a new one). Empty settings
    fall back to the kernel's own (``%config CodeActMagics...``, environment, defaults).
    The panel sends no API key: the kernel reads OPENAI_API_KEY from its environment.
    """
    from IPython import get_ipython

    request = json.loads(request_json)
    task = str(request.get("task") or "").strip()
    notebook = request.get("notebook")
    shell = get_ipython()
    show_steps = hide_live_output()  # the panel's request has no cell: steps show in theirs
    try:
        with LabBridge(origin="panel") as bridge:
            if not task:
                _fail(bridge, "The task is empty: say what the agent should do.")
                return
            try:
                settings = panel_settings(shell, request)
            except Exception as exc:  # a bad setting: tell the panel, as the magic would
                _fail(bridge, in_panel_terms(f"Invalid settings: {exc}"))
                return
            conversation = request.get("conversation")
            run_task(shell, task, settings, [PanelWording(bridge)], notebook=notebook,
                     conversation=conversation if isinstance(conversation, str) else None)
    finally:
        show_steps()


def context_manifest(request_json: str) -> None:
    """What a panel task would send (context_manifest.py), for the panel to show before it
    is sent: published as one display_data of MANIFEST_MIME. The request is run_panel_task's."""
    from IPython import get_ipython
    from IPython.display import publish_display_data

    from .agent.preview import MANIFEST_MIME, panel_manifest

    shell, request = get_ipython(), json.loads(request_json)
    data = panel_manifest(shell, request, panel_settings(shell, request))
    publish_display_data({MANIFEST_MIME: data, "text/plain": data["summary"]})


def undo_run(request_json: str) -> None:
    """The panel's Undo button: ``{"run_id": str}``; prints what was put back."""
    from .undo.command import panel_undo

    panel_undo(str(json.loads(request_json).get("run_id") or ""))


def undo_states(request_json: str) -> None:
    """Which earlier runs this kernel can still undo (the panel, rebuilt after a reload):
    ``{"run_ids": [...]}``; published as one display_data of UNDO_STATES_MIME,
    ``{run_id: null (can be undone) | the reason it cannot}``."""
    from IPython import get_ipython
    from IPython.display import publish_display_data

    from .undo.command import undo_states as states

    ids = [str(i) for i in json.loads(request_json).get("run_ids") or ()]
    publish_display_data({UNDO_STATES_MIME: states(get_ipython(), ids)})


def backend_names(request_json: str = "{}") -> None:
    """The backends this kernel can use (built in, and those plugins add), for the panel's
    settings: published as one display_data of BACKENDS_MIME, a list of names."""
    from IPython.display import publish_display_data

    from .backends import available_backends

    publish_display_data({BACKENDS_MIME: available_backends()})


def verify_document(request_json: str) -> None:
    """The panel's Verify button: ``{"notebook": <the browser's notebook JSON>, "name": str}``."""
    from .verify.command import verify_document as verify

    verify(request_json)


def panel_settings(shell, request: dict):
    """The task settings of a panel request, with the parts the user unticked."""
    overrides = {key: value for key, value in (request.get("settings") or {}).items()
                 if key in OVERRIDE_KEYS and value not in (None, "")}
    exclude = tuple(str(key) for key in request.get("exclude") or ())
    from .agent.settings import resolve_settings
    from .magics.codeact import task_config

    return dataclasses.replace(resolve_settings(task_config(shell), overrides), context_exclude=exclude)


def _fail(bridge: LabBridge, message: str) -> None:
    bridge(Error(message))
    bridge(Done(reason="error", turns=0))
