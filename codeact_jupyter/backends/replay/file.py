"""The replay file: the replies of a recorded run, and what each reply's step did then.

Two forms are read:

* version 1, a plain JSON list of strings, one assistant reply per turn::

    ["<execute>\\nx = 6 * 7\\nprint(x)\\n</execute>", "The answer is **42**."]

* version 2 (what ``Run.save_replay`` writes), an object whose replies may carry the
  status the reply's step had when it was recorded::

    {"version": 2,
     "task": "compute 6 times 7",
     "replies": [{"text": "<execute>\\nx = 6 * 7\\nprint(x)\\n</execute>", "status": "ok"},
                 {"text": "The answer is **42**."}]}

  ``status`` is one of :data:`STATUSES`; it belongs on a reply that ran code and may be left
  out anywhere (nothing is checked for that reply). A reply may also be a plain string.
  ``task`` and ``backend`` are notes for the reader; the replay does not use them.
  On replay, a step that fails where its recorded status is ``ok`` ends the task; the
  reverse goes on with a notice (replay_divergence.py says why).

A status sits on the reply rather than in a separate list of steps because the replay
knows which reply it just played: the step that follows is that reply's step, whatever
empty replies or answers came before.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path

from ...errors import json_kind
from ..base import BackendError

VERSION = 2
STATUSES = ("ok", "error", "timeout", "skipped", "interrupted")
_TOP_KEYS = {"version", "replies", "task", "backend"}
_REPLY_KEYS = {"text", "status"}
_EXAMPLE = '["<execute>\\nprint(1)\\n</execute>", "Done."]'


@dataclass(frozen=True)
class ReplayScript:
    replies: list[str]
    # Per reply: the status its step had when recorded, or None (not recorded, or no step).
    statuses: list[str | None]


def bundled(name: str) -> Path:
    """A demo shipped with the package, e.g. ``--model quickstart``."""
    return Path(__file__).resolve().parents[2] / "replays" / f"{name}.json"


def find_replay_file(name: str | None) -> tuple[Path, bool]:
    """The file ``--model`` names, and whether it is a bundled demo."""
    if not name:
        raise BackendError("The replay backend needs a file of replies: "
                           f"--backend replay --model replies.json (a JSON list of strings, e.g. {_EXAMPLE}).")
    file = Path(name).expanduser()
    if file.is_dir():
        raise BackendError(f"Replay file {file} is a folder. Pass the path of a JSON file "
                           "of replies with --model.")
    if not file.is_file() and "/" not in name and bundled(name).is_file():
        return bundled(name), True
    if not file.is_file():
        raise BackendError(f"Replay file not found: {file}. Pass the path of a JSON file "
                           "holding a list of reply strings with --model, or a bundled demo name "
                           f"({', '.join(bundled_names())}).")
    return file, False


def bundled_names() -> list[str]:
    return sorted(p.stem for p in bundled("x").parent.glob("*.json"))


def load_script(file: Path) -> ReplayScript:
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BackendError(f"Replay file {file} is not UTF-8 text ({exc}); save it as UTF-8 JSON.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BackendError(f"Replay file {file} is not valid JSON ({exc}). It must hold a list "
                           f"of strings, one assistant reply per turn, e.g. {_EXAMPLE}.") from None
    return parse_script(data, file)


def parse_script(data, file: Path | str) -> ReplayScript:
    if isinstance(data, list):
        replies = data
        for number, reply in enumerate(replies, 1):
            if not isinstance(reply, str):
                raise BackendError(f"Replay file {file}: reply {number} is {json_kind(reply)}, not a "
                                   f"string. A version 1 replay file is a JSON list of strings, e.g. {_EXAMPLE}.")
        script = ReplayScript(list(replies), [None] * len(replies))
    elif isinstance(data, dict) and "version" in data:
        script = _parse_object(data, file)
    else:
        raise BackendError(f"Replay file {file} must hold a JSON list of strings, one assistant "
                           f"reply per turn, e.g. {_EXAMPLE}, or an object "
                           '{"version": 2, "replies": [...]}; it holds ' f"{json_kind(data)}.")
    if not script.replies:
        raise BackendError(f"Replay file {file} holds no replies. Add at least one assistant "
                           "reply, or record a run with codeact_jupyter.last_run().save_replay(path).")
    return script


def _parse_object(data: dict, file) -> ReplayScript:
    version = data["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BackendError(f"Replay file {file}: \"version\" must be a whole number (2 for this "
                           f"form), not {json.dumps(version)}.")
    if version > VERSION:
        raise BackendError(f"Replay file {file} is version {version}; this codeact-jupyter reads "
                           f"versions 1 and {VERSION}. Upgrade codeact-jupyter (pip install -U codeact-jupyter), "
                           "or record the run again with this version.")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise BackendError(f"Replay file {file} has unknown keys {_named(unknown, _TOP_KEYS)}; "
                           f"a version {VERSION} file has {', '.join(sorted(_TOP_KEYS))}.")
    items = data.get("replies")
    if not isinstance(items, list):
        raise BackendError(f"Replay file {file}: \"replies\" must be a list of replies, "
                           f"not {json_kind(items)}.")
    replies, statuses = [], []
    for number, item in enumerate(items, 1):
        text, status = _parse_reply(item, number, file)
        replies.append(text)
        statuses.append(status)
    return ReplayScript(replies, statuses)


def _parse_reply(item, number: int, file) -> tuple[str, str | None]:
    if isinstance(item, str):
        return item, None
    where = f"Replay file {file}: reply {number}"
    if not isinstance(item, dict):
        raise BackendError(f"{where} is {json_kind(item)}; a reply is a string or an object "
                           '{"text": "...", "status": "ok"}.')
    unknown = sorted(set(item) - _REPLY_KEYS)
    if unknown:
        raise BackendError(f"{where} has unknown keys {_named(unknown, _REPLY_KEYS)}; "
                           'a reply has "text" and, optionally, "status".')
    if not isinstance(item.get("text"), str):
        raise BackendError(f"{where} needs \"text\", the reply as a string.")
    status = item.get("status")
    if status is not None and status not in STATUSES:
        raise BackendError(f"{where} has status {json.dumps(status)}; expected one of "
                           f"{', '.join(STATUSES)}, or no status.")
    return item["text"], status


def dump_script(replies: list[str], statuses: list[str | None], task: str = "",
                backend: str = "") -> str:
    """The version 2 text of a replay file (see the module's docstring)."""
    items = [{"text": text, "status": status} if status else {"text": text}
             for text, status in zip(replies, statuses)]
    data = {"version": VERSION, **({"task": task} if task else {}),
            **({"backend": backend} if backend else {}), "replies": items}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _named(unknown: list[str], known: set[str]) -> str:
    """The unknown keys, each with the known key it was probably meant to be."""
    def one(key: str) -> str:
        close = difflib.get_close_matches(key, sorted(known), n=1)
        return f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key)
    return ", ".join(one(k) for k in unknown)
