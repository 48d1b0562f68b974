"""Replays assistant replies from a JSON file: a list of strings, one reply per turn.

A first-class backend for demos, tutorials, reproducible runs and tests. Replies stream in
small chunks, and stop strings are honoured the way a real server honours them (the reply
is cut at the first one, which is dropped), so a replayed run behaves like a live one.
Bundled demos are found by name (``--model quickstart``). Record one from any run with ``codeact_jupyter.last_run().save_replay("replies.json")``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

from .base import BackendConfig, BackendError, OutOfReplies, Usage, approx_tokens

CHUNK_CHARS = 8


class ReplayBackend:
    name = "replay"
    context_size = None

    def __init__(self, config: BackendConfig):
        self.path = config.model
        self.replies = load_replies(config.model)
        self.delay = float(config.extras.get("replay_delay", 0.0))  # seconds per chunk, for demos
        self.turn = 0
        self.history: list[list[dict]] = []  # the messages received each turn
        self.last_usage: Usage | None = None  # a replay has no figures worth showing

    @classmethod
    def from_replies(cls, replies: list[str], delay: float = 0.0) -> "ReplayBackend":
        backend = cls.__new__(cls)
        backend.path, backend.replies, backend.delay = None, list(replies), delay
        backend.turn, backend.history, backend.last_usage = 0, [], None
        return backend

    def describe(self) -> str:
        source = Path(self.path).name if self.path else "in-memory replies"
        return f"replay · {source} · {len(self.replies)} replies"

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def stream(self, messages: list[dict], stop: list[str]) -> Iterator[str]:
        self.history.append([dict(m) for m in messages])
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


def load_replies(path: str | None) -> list[str]:
    if not path:
        raise BackendError("The replay backend needs a file of replies: "
                           "--backend replay --model replies.json (a JSON list of strings).")
    file = Path(path).expanduser()
    if not file.is_file() and bundled(path).is_file():
        file = bundled(path)  # a demo shipped with the package, e.g. --model quickstart
    if not file.is_file():
        raise BackendError(f"Replay file not found: {file}. Pass the path of a JSON file "
                           "holding a list of reply strings with --model.")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BackendError(f"Replay file {file} is not valid JSON ({exc}). "
                           "It must hold a list of strings, one assistant reply per turn.") from None
    if not isinstance(data, list) or not all(isinstance(r, str) for r in data):
        raise BackendError(f"Replay file {file} must hold a JSON list of strings, "
                           "one assistant reply per turn, e.g. [\"<execute>\\nprint(1)\\n</execute>\", \"Done.\"].")
    return data


def bundled(name: str) -> Path:
    return Path(__file__).resolve().parents[1] / "replays" / f"{name}.json"


def _cut_at_stop(reply: str, stop: list[str]) -> str:
    cuts = [reply.find(s) for s in stop if s and s in reply]
    return reply[: min(cuts)] if cuts else reply
