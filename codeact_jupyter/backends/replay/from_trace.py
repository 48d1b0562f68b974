"""A replay from a run's trace kept in a notebook (trace.py, trace_store.py).

``--backend replay --model NOTEBOOK.ipynb#RUN_ID`` plays the run's assistant messages, as
they were sent, and checks each step's status against the recorded one as a replay file
does (replay_divergence.py): a shared notebook reproduces its agent runs with no model.
"""
from __future__ import annotations

from ..base import BackendError
from .file import ReplayScript


def script_from_trace(trace: dict, source: str) -> ReplayScript:
    """The replies of a traced run, each with the status its step had. Replies pair with
    steps by their code, in order, exactly as ``Run.save_replay`` pairs them."""
    from ...agent.run import Run, Step

    messages = [m for m in trace.get("messages") or [] if isinstance(m, dict)]
    steps = [Step(code=str(s.get("code", "")), observation="", status=str(s.get("status", "")))
             for s in trace.get("steps") or [] if isinstance(s, dict)]
    run = Run(run_id=str(trace.get("run_id")), task=str(trace.get("task", "")),
              # A tool call's fields too: Run.replies keeps its calls as <tool_call> text.
              messages=[{"role": m.get("role"), "content": str(m.get("content") or ""),
                         **({"tool_calls": m["tool_calls"]} if m.get("tool_calls") else {})}
                        for m in messages],
              steps=steps)
    replies = run.replies()
    if not replies:
        raise BackendError(f"The trace of run {run.run_id} in {source} holds no model reply to "
                           "replay (the task ended before the model answered).")
    return ReplayScript(replies, run.step_statuses())
