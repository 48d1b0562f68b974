"""A run's trace: the record of one task that is kept in the notebook (docs/trace.md).

``run_trace(run)`` turns a finished :class:`~codeact_jupyter.agent.run.Run` into plain JSON data:
the task, the backend and its settings (never a key), the messages exactly as sent, each
step (code, status, observation, namespace changes), the answer, why it ended, timings,
token figures and how many secret values were withheld. Every string in it passes through
the run's Redactor once more, so a trace never holds a value the model was not sent.

Keys come in a fixed order and nothing volatile is kept but the timings, so two traces of
the same run diff cleanly. Where the trace is stored (the task cell's metadata, the
notebook's metadata, or a display_data output) is trace_store.py's business.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from ..events import CodeAction, Observation

VERSION = 2  # 2: stored traces may be lean (lean.py); traces_in reads both
FORMAT = "codeact-jupyter trace"
# The MIME type of the display_data output that carries a trace where no extension can
# write it into the metadata (nbclient, Notebook without the extension, VS Code).
MIME = "application/vnd.codeact.trace+json"
CELL_KEY = "codeact_trace"  # a task cell's metadata key (magic runs)
NOTEBOOK_KEY = "codeact_traces"  # the notebook's metadata key, a list (panel runs)

# BackendConfig.extras that are worth keeping (the rest are internal knobs).
_EXTRAS = ("n_ctx_cap", "n_gpu_layers", "device", "grammar", "chat_template", "threads",
           "cpu_extra_buffers")


def run_trace(run) -> dict[str, Any]:
    """The trace of ``run`` as JSON-ready data (see docs/trace.md for every field)."""
    redactor = run.redactor if run.redactor is not None else _fallback_redactor()
    redact = redactor.redact
    # The model's own replies and code get only known secrets masked (Redactor.redact_code),
    # as when they were sent: a trace replays exactly what ran.
    code = getattr(redactor, "redact_code", redact)
    timings = dict(getattr(run, "timings", None) or {})
    step_seconds = list(timings.pop("step_seconds", []))
    trace = {
        "format": FORMAT,
        "version": VERSION,
        "run_id": run.run_id,
        "task": run.task,
        "backend": run.backend,
        "settings": dict(getattr(run, "settings", None) or {}),
        "messages": [_redacted(_message(m), code if m.get("role") == "assistant" else redact)
                     for m in run.messages],
        "thinking": list(getattr(run, "thinking", None) or []),
        "steps": [_redacted(_step(number, step, step_seconds), redact) | {"code": code(step.code)}
                  for number, step in enumerate(run.steps, 1)],
        "answer": _redacted(run.answer, code),
        "answer_cut": bool(run.answer_cut),
        "done_reason": run.done_reason,
        "error": run.error,
        "timings": timings,
        "turns": [_turn(stats) for stats in run.stats],
    }
    trace = {key: value if key in ("messages", "steps", "answer") else _redacted(value, redact)
             for key, value in trace.items()}
    # Counted last: the pass above may have withheld a value that only the code held.
    trace["redactions"] = dict(sorted(redactor.counts().items()))
    return trace


def _message(message: dict) -> dict[str, Any]:
    """Role and content; a tool call's fields too (``tool_calls``, ``tool_call_id``)."""
    kept = {"role": message.get("role"), "content": message.get("content")}
    kept.update({k: message[k] for k in ("tool_calls", "tool_call_id") if k in message})
    return kept


def _step(number: int, step, seconds: list[float]) -> dict[str, Any]:
    changes = getattr(step, "changes", None)
    if changes is not None and hasattr(changes, "to_dict"):
        changes = changes.to_dict()
    return {
        "step": number,
        "code": step.code,
        "status": step.status,
        "observation": step.observation,
        "execution_count": step.execution_count,
        "changes": changes,
        "seconds": seconds[number - 1] if number <= len(seconds) else None,
    }


def _turn(stats) -> dict[str, Any]:
    return {"turn": stats.turn, "prompt_tokens": stats.prompt_tokens,
            "evaluated_tokens": stats.evaluated_tokens, "generated_tokens": stats.generated_tokens,
            "tokens_per_second": _rounded(stats.tokens_per_second),
            "finish_reason": stats.finish_reason}


def settings_record(settings) -> dict[str, Any]:
    """What a trace keeps of a task's settings: everything that shapes the run, never the
    API key (its presence is not even noted) nor the redaction patterns' text."""
    config = settings.backend_config
    extras = {key: config.extras[key] for key in _EXTRAS if key in config.extras}
    return {
        "backend": settings.backend,
        "model": config.model,
        "base_url": config.base_url,
        "temperature": config.temperature,
        "max_tokens": config.max_tokens,
        "request_timeout": config.request_timeout,
        "max_turns": settings.max_turns,
        "step_timeout": settings.step_timeout,
        "confirm": settings.confirm,
        "observation_limit": settings.observation_limit,
        "context_budget": settings.context_budget,
        "redact": settings.redact,
        "redact_patterns": len(settings.redact_patterns),
        "redact_allow": list(settings.redact_allow),
        "actions": getattr(settings, "actions", "code"),
        "profile": getattr(settings, "profile", "auto"),
        "reasoning_history": getattr(settings, "reasoning_history", "auto"),
        "extras": {key: _plain(value) for key, value in extras.items()},
    }


class RunClock:
    """Times a run from its events (a runner sink): when it started and ended, and how
    long each step ran. Writes ``run.timings``."""

    def __init__(self, run):
        self.run = run
        self._start = time.monotonic()
        self._step_start: float | None = None
        run.timings = {"started": _now(), "finished": None, "seconds": None, "step_seconds": []}

    def __call__(self, event) -> None:
        if isinstance(event, CodeAction):
            self._step_start = time.monotonic()
        elif isinstance(event, Observation) and self._step_start is not None:
            self.run.timings["step_seconds"].append(_rounded(time.monotonic() - self._step_start))
            self._step_start = None

    def finish(self) -> None:
        self.run.timings["finished"] = _now()
        self.run.timings["seconds"] = _rounded(time.monotonic() - self._start)


def summary_line(trace: dict) -> str:
    """The text/plain beside a trace output: what it is and how to replay it."""
    steps = len(trace.get("steps") or [])
    return (f"[codeact trace of run {trace.get('run_id')}: {steps} step{'s' * (steps != 1)}, "
            f"{trace.get('done_reason') or 'unfinished'}. Replay it with "
            f"%%codeact --backend replay --model NOTEBOOK.ipynb#{trace.get('run_id')}]")


def _redacted(value, redact):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item, redact) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item, redact) for item in value]
    return value


def _plain(value):
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _fallback_redactor():
    """A run that failed before its redactor was built: mask what can be found without
    the kernel's namespace (environment secrets, key formats)."""
    from ..context.redaction import Redactor

    return Redactor.for_task(None)
