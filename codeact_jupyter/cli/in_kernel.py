"""The kernel side of ``codeact run`` and ``codeact eval``: runs a task with the same runner
as the magic and sends what happens to the command over a comm (protocol.py).

Called by an execute request the command sends with ``store_history=False``, so the task
itself takes no execution count and is not in the history: the steps number on from the
notebook's cells, as they would after a task cell.
"""
from __future__ import annotations

import json
from typing import Any

from .protocol import TARGET


class Channel:
    """One comm to the command; ``send`` never raises (the task must go on)."""

    def __init__(self):
        from comm import create_comm

        self._comm = create_comm(target_name=TARGET, data={})

    def send(self, kind: str, **payload: Any) -> None:
        from ..kernel.jsonsafe import jsonable

        self._comm.send(jsonable({"kind": kind, **payload}))

    def event(self, event) -> None:
        if event.to_dict()["type"] in ("text_delta", "thinking_delta"):
            return  # the command shows steps, not the model's typing; one message per token is waste
        self.send("event", event=event.to_dict())

    def close(self) -> None:
        self._comm.close()


def run_headless(request_json: str) -> None:
    """``request_json``: ``{"task": str, "settings": {backend, model, base_url, max_turns,
    timeout, grammar}}``, and for eval's action modes ``"action_mode"`` (tools, json, text) and
    ``"tools"`` (names of functions in the namespace). Empty settings fall back to the
    kernel's config and environment."""
    from IPython import get_ipython

    from ..agent.settings import resolve_settings
    from ..agent.task import run_task
    from ..magics.codeact import task_config
    from ..magics.views import hide_live_output

    request = json.loads(request_json)
    overrides = {k: v for k, v in (request.get("settings") or {}).items() if v not in (None, "")}
    shell = get_ipython()
    channel = Channel()
    show_steps = hide_live_output()  # the command builds the step cells from the events
    try:
        try:
            settings = resolve_settings(task_config(shell), overrides)
        except Exception as exc:  # a bad option: say it as the magic would
            channel.send("record", record=failed_record(f"Invalid settings: {exc}"))
            return
        mode = request.get("action_mode") or "code"
        if mode == "tools":  # codeact eval --action-mode tools: the python tool is declared
            from dataclasses import replace

            settings = replace(settings, actions="tools")
        elif mode != "code":  # codeact eval --action-mode json|text (action_modes.py)
            from .action_modes import describe_tools, with_action_mode

            settings = with_action_mode(settings, mode, describe_tools(shell.user_ns, request.get("tools") or []))
        from ..events import with_words
        from .command_words import in_command_terms

        def sink(event) -> None:  # our advice names the command's options
            channel.event(with_words(event, in_command_terms))

        run = run_task(shell, str(request.get("task") or ""), settings, [sink])
        channel.send("record", record=record_of(run))
    finally:
        show_steps()
        channel.close()


def record_of(run) -> dict:
    """What the command needs of a finished run: the answer, how it ended, its figures and
    its trace (stored in the written notebook)."""
    prompt = [s.prompt_tokens for s in run.stats if s.prompt_tokens is not None]
    generated = [s.generated_tokens for s in run.stats if s.generated_tokens is not None]
    return {
        "run_id": run.run_id,
        "answer": run.answer,
        "answer_cut": run.answer_cut,
        "done_reason": run.done_reason,
        "error": run.error,
        "turns": sum(1 for m in run.messages if m["role"] == "assistant"),
        "steps": len(run.steps),
        "errors": sum(1 for s in run.steps if s.status in ("error", "timeout", "interrupted")),
        "prompt_tokens": sum(prompt) if prompt else None,
        "generated_tokens": sum(generated) if generated else None,
        "backend": run.backend,
        "trace": trace_of(run),
    }


def failed_record(message: str) -> dict:
    return {"run_id": None, "answer": None, "answer_cut": False, "done_reason": "error",
            "error": message, "turns": 0, "steps": 0, "errors": 0, "prompt_tokens": None,
            "generated_tokens": None, "backend": "", "trace": None}


def trace_of(run) -> dict:
    from ..trace.build import run_trace

    return run_trace(run)
