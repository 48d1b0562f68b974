"""Replays assistant replies from a JSON file, one reply per turn.

A first-class backend for demos, tutorials, reproducible runs and tests. Replies stream in
small chunks, and stop strings are honoured the way a real server honours them (the reply
is cut at the first one, which is dropped), so a replayed run behaves like a live one.
Bundled demos are found by name (``--model quickstart``). Record one from any run with
``codeact_jupyter.last_run().save_replay("replies.json")``.

The file format (a plain list of strings, or version 2 with each step's recorded status)
is described in replay_file.py. Where a status was recorded, each step is checked after it
runs (the loop's ``after_step`` hook): a step that fails where the recording's succeeded
ends the task (replay_divergence.py) instead of playing the rest over a broken step.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

from ...trace.stored import is_reference
from ..base import BackendConfig, BackendError, OutOfReplies, Usage, approx_tokens
from .divergence import check_step
from .file import ReplayScript, find_replay_file, load_script

CHUNK_CHARS = 8


class ReplayBackend:
    name = "replay"
    context_size = None

    def __init__(self, config: BackendConfig):
        if is_reference(config.model):  # a run kept in a notebook: nb.ipynb#RUN_ID
            script, self.path = _stored_run(config.model)
            self.is_bundled = False
        else:
            file, self.is_bundled = find_replay_file(config.model)
            self.path = str(file)
            script = load_script(file)
        self.replies, self.statuses = script.replies, script.statuses
        self.delay = float(config.extras.get("replay_delay", 0.0))  # seconds per chunk, for demos
        self.turn = 0
        self.history: list[list[dict]] = []  # the messages received each turn
        self.last_usage: Usage | None = None  # a replay has no figures worth showing

    @classmethod
    def from_replies(cls, replies: list[str], delay: float = 0.0,
                     statuses: list[str | None] | None = None) -> "ReplayBackend":
        backend = cls.__new__(cls)
        backend.path, backend.is_bundled, backend.delay = None, False, delay
        backend.replies = list(replies)
        backend.statuses = list(statuses) if statuses is not None else [None] * len(replies)
        backend.turn, backend.history, backend.last_usage = 0, [], None
        return backend

    def describe(self) -> str:
        source = Path(self.path).name if self.path else "in-memory replies"
        return f"replay · {source} · {len(self.replies)} replies"

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def stream(self, messages: list[dict], stop: list[str]) -> Iterator[str]:
        asked_again = bool(self.history) and self.turn > 0 and self.history[-1] == messages
        self.history.append([dict(m) for m in messages])
        if asked_again:  # the same transcript again (other stop strings): the same reply
            self.turn -= 1
        if self.turn >= len(self.replies):
            raise OutOfReplies(
                f"The replay file has no reply left for turn {self.turn + 1} "
                f"(it holds {len(self.replies)}). Add replies to {self.path or 'the list'} "
                "or switch to a live model with --backend llama or --backend openai.")
        reply = _cut_at_stop(self.replies[self.turn], stop)
        self.turn += 1
        for start in range(0, len(reply), CHUNK_CHARS):
            if self.delay:
                time.sleep(self.delay)
            yield reply[start:start + CHUNK_CHARS]

    def after_step(self, number: int, status: str, outputs: list[dict]) -> str | None:
        """The step just run is the one the last reply asked for: compare it with the
        recording. Raises ReplayDiverged (a BackendError) when it failed where the
        recording's succeeded."""
        recorded = self.statuses[self.turn - 1] if 0 < self.turn <= len(self.statuses) else None
        return check_step(number, recorded, status, outputs, bundled=self.is_bundled)


def load_replies(path: str | None) -> list[str]:
    """The replies of a replay file (either form), without their recorded statuses."""
    file, _ = find_replay_file(path)
    return load_script(file).replies


def _stored_run(model: str) -> tuple[ReplayScript, str]:
    from IPython import get_ipython

    from ...errors import TaskError
    from ...trace.stored import resolve_reference
    from .from_trace import script_from_trace

    shell = get_ipython()
    try:
        trace, source = resolve_reference(model, getattr(shell, "user_ns", None))
    except TaskError as exc:  # the loop ends a task on a backend's error: say it as one
        raise BackendError(str(exc)) from None
    return script_from_trace(trace, source), source


def _cut_at_stop(reply: str, stop: list[str]) -> str:
    cuts = [reply.find(s) for s in stop if s and s in reply]
    return reply[: min(cuts)] if cuts else reply
