"""A lean trace: what a notebook's traces share is stored once.

A trace keeps what was sent, exactly (docs/trace.md), but the same texts come back run
after run: the system prompt in every run, and in a conversation every earlier message in
every follow-up. Where a trace is kept in a notebook's metadata:

- a follow-up's trace begins with ``"earlier": {"run_id", "count"}``: its first ``count``
  messages are those of the conversation's previous run (whose trace may refer further
  back), and ``messages`` holds only the rest;
- its long message texts go to the notebook's table ``metadata.codeact_texts``
  (``{sha256 prefix: text}``) in pieces, and the message holds ``{"role", "parts"}``
  instead of ``content``: each part a piece's ``{"ref": key}`` or a short text, joined they
  are the content. Pieces end at blank lines chosen by their content's hash (as
  content-defined chunking does), so the notebook context of the next run, which holds
  mostly the same cells, shares most of its pieces: a piece is stored once however many
  traces send it.

- the run's ``settings``, the same run after run, are one such text (JSON), by reference;
- a step's ``observation`` that is the message sent after its reply is
  ``{"message": INDEX}`` (the index in the whole conversation), and its ``changes`` leave
  out empty lists and ``in_place: false``;
- long blocks (a listing of the kernel's variables) are also cut inside, after lines chosen
  by their hash, so a listing that gained a name shares its other pieces.

``traces_in`` (stored.py) puts everything back, so replay and verify read whole traces.
Each trace still holds its own task's messages, steps and answer, so replay and verify
need nothing else even where an earlier run's trace is gone. A trace kept as a cell's
output (no extension) stays whole: it has no notebook metadata to lean on.
"""
from __future__ import annotations

import hashlib
import json
import re

TEXTS_KEY = "codeact_texts"  # the notebook's metadata key
MIN_SHARED = 200  # characters: shorter messages stay in the trace (a reference costs ~40)
MIN_PIECE = 64  # characters: a shorter piece stays in the message as text
_BLOCK_END = re.compile(r"(?<=\n\n)")


KEY_DIGITS = 12  # hex digits of a piece's SHA-256: 48 bits, far from a clash in one notebook


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:KEY_DIGITS]


def pack(trace: dict, follows: tuple[str, list[dict]] | None = None) -> tuple[dict, dict[str, str]]:
    """The trace with the conversation's earlier messages as a reference (``follows``: the
    previous run's id and its messages, Run.follows) and its long message texts as
    references; and those texts by key."""
    texts: dict[str, str] = {}
    messages = list(trace.get("messages") or [])
    earlier = None
    if follows is not None:
        run_id, before = follows
        before = [{"role": m.get("role"), "content": m.get("content")} for m in before]
        if before and messages[:len(before)] == before:  # not when the window was trimmed
            earlier, messages = {"run_id": run_id, "count": len(before)}, messages[len(before):]
    packed = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str) and len(content) >= MIN_SHARED:
            parts: list = []
            for piece in _pieces(content):
                if len(piece) < MIN_PIECE:
                    parts.append(piece)
                else:
                    key = text_key(piece)
                    texts[key] = piece
                    parts.append({"ref": key})
            packed.append({"role": message.get("role"), "parts": parts})
        else:
            packed.append(message)
    lean = {key: value for key, value in trace.items() if key != "messages"}
    if isinstance(trace.get("settings"), dict):
        kept = json.dumps(trace["settings"], sort_keys=True, ensure_ascii=False)
        texts[text_key(kept)] = kept
        lean["settings"] = {"ref": text_key(kept)}
    if isinstance(trace.get("steps"), list):
        lean["steps"] = _lean_steps(trace["steps"], trace.get("messages") or [])
    position = list(trace).index("messages") if "messages" in trace else len(trace)
    items = list(lean.items())
    items[position:position] = ([("earlier", earlier)] if earlier else []) + [("messages", packed)]
    return dict(items), texts


def _lean_steps(steps: list, messages: list) -> list:
    """Steps whose observation is a message by its index, and whose changes are short."""
    lean, after = [], 0
    for step in steps:
        if not isinstance(step, dict):
            lean.append(step)
            continue
        step = dict(step)
        observation = step.get("observation")
        index = next((i for i in range(after, len(messages))
                      if isinstance(messages[i], dict) and messages[i].get("role") == "user"
                      and messages[i].get("content") == observation), None)
        if isinstance(observation, str) and index is not None:
            step["observation"], after = {"message": index}, index + 1
        if isinstance(step.get("changes"), dict):
            step["changes"] = {kind: [_short_change(c) for c in found] if kind in CHANGE_LISTS else found
                               for kind, found in step["changes"].items() if found}
        lean.append(step)
    return lean


CHANGE_LISTS = ("defined", "changed")  # lists of {"name", "kind", "in_place"}
CHANGE_KINDS = ("defined", "changed", "deleted", "written")


def _short_change(change):
    if isinstance(change, dict) and change.get("in_place") is False:
        return {key: value for key, value in change.items() if key != "in_place"}
    return change


def _whole_steps(steps, messages: list):
    if not isinstance(steps, list):
        return steps
    whole = []
    for step in steps:
        if isinstance(step, dict):
            step = dict(step)
            observation = step.get("observation")
            if isinstance(observation, dict) and isinstance(observation.get("message"), int):
                index = observation["message"]
                message = messages[index] if 0 <= index < len(messages) else None
                step["observation"] = message.get("content") if isinstance(message, dict) else \
                    f"[observation {index} is missing from the trace's messages]"
            if isinstance(step.get("changes"), dict):
                changes = step["changes"]
                step["changes"] = {kind: [{**c, "in_place": c.get("in_place", False)}
                                          if isinstance(c, dict) else c for c in changes.get(kind, [])]
                                   if kind in CHANGE_LISTS else list(changes.get(kind, []))
                                   for kind in CHANGE_KINDS}
        whole.append(step)
    return whole


def unpack_all(traces: list[dict], texts: dict | None) -> list[dict]:
    """Whole traces, each trace's earlier messages taken from the trace it refers to."""
    by_run = {t.get("run_id"): t for t in traces}
    done: dict = {}

    def whole(trace: dict, depth: int = 0) -> dict:
        run_id = trace.get("run_id")
        if run_id in done:
            return done[run_id]
        result = unpack(trace, texts)
        earlier = trace.get("earlier")
        if isinstance(earlier, dict):
            before = by_run.get(earlier.get("run_id"))
            count = earlier.get("count") if isinstance(earlier.get("count"), int) else 0
            if before is not None and before is not trace and depth < 1000:
                head = whole(before, depth + 1)["messages"][:count]
            else:
                head = [{"role": "user", "content": f"[{count} earlier messages of run "
                         f"{earlier.get('run_id')}, whose trace is no longer in the notebook]"}]
            result = {key: value for key, value in result.items() if key != "earlier"}
            result["messages"] = head + result["messages"]
        if "steps" in result:
            result = {**result, "steps": _whole_steps(result["steps"], result.get("messages") or [])}
        done[run_id] = result
        return result

    return [whole(t) for t in traces]


def _pieces(text: str) -> list[str]:
    """``text`` cut after blank lines where the block's hash says so (1 in 4), and inside a
    long block after lines where the line's hash says so (1 in 8): the cuts depend on the
    content only, so the same cells (and the same variables) make the same pieces in any run."""
    pieces, current = [], ""
    for block in _BLOCK_END.split(text):
        if len(block) > LONG_BLOCK:
            for line in block.splitlines(keepends=True):
                current += line
                if _hashed(line) % 8 == 0 and len(current) >= MIN_PIECE:
                    pieces.append(current)
                    current = ""
            continue
        current += block
        if block and _hashed(block) % 4 == 0:
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


LONG_BLOCK = 600  # characters: a longer block is cut inside as well


def _hashed(text: str) -> int:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[0]


def unpack(trace: dict, texts: dict | None) -> dict:
    """The trace with references replaced by their texts (a missing one reads as such)."""
    texts = texts if isinstance(texts, dict) else {}
    settings = trace.get("settings")
    if isinstance(settings, dict) and set(settings) == {"ref"}:
        kept = texts.get(settings["ref"])
        try:
            trace = {**trace, "settings": json.loads(kept)}
        except (TypeError, ValueError):
            trace = {**trace, "settings": {"missing": f"[settings {settings['ref']} are missing from "
                                                      f"the notebook's {TEXTS_KEY}]"}}
    messages = trace.get("messages")
    if not isinstance(messages, list) or not any(isinstance(m, dict) and "parts" in m for m in messages):
        return trace

    def text(part) -> str:
        if isinstance(part, str):
            return part
        found = texts.get(part.get("ref")) if isinstance(part, dict) else None
        return found if isinstance(found, str) else f"[text {part} is missing from the notebook's {TEXTS_KEY}]"

    whole = []
    for message in messages:
        if isinstance(message, dict) and isinstance(message.get("parts"), list):
            whole.append({"role": message.get("role"), "content": "".join(text(p) for p in message["parts"])})
        else:
            whole.append(message)
    return {**trace, "messages": whole}


def keep_texts(metadata: dict, texts: dict[str, str]) -> None:
    """Add ``texts`` to a notebook's table (nbformat metadata or a plain dict)."""
    if texts:
        table = dict(metadata.get(TEXTS_KEY) or {})
        table.update(texts)
        metadata[TEXTS_KEY] = table
