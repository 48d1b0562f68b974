"""Errors and notices worded for the side panel: advice written for the magic
(```%%codeact --model PATH```, ``--max-turns (max_turns)``) names the panel's own settings
instead, so a panel user is never told to type an option they have nowhere to type."""
from __future__ import annotations

import re

from ..events import Event, with_words

# A magic option, as the panel's Settings form names it (labextension/src/panel/settingsform.tsx).
SETTING_NAMES = {
    "backend": "Backend", "model": "Model", "base-url": "Endpoint", "context": "Notebook context",
    "max-turns": "Turn limit", "confirm": "Confirm each step", "actions": "Actions",
    "profile": "Model profile",
}
_OPTION = "|".join(re.escape(name) for name in SETTING_NAMES)
# `%%codeact --model /path/to/model.gguf` or `--model owner/repo:file.gguf`, in backticks.
_QUOTED = re.compile(rf"`(?:%%?codeact )?--({_OPTION})(?:[ =]([^`]*))?`")
# --max-turns (max_turns): the option and its trait, as settings errors name them.
_NAMED = re.compile(rf"--({_OPTION}) \([a-z_]+\)")


def in_panel_terms(text: str) -> str:
    def quoted(match: re.Match) -> str:
        name, value = SETTING_NAMES[match[1]], (match[2] or "").strip()
        return f"{name} `{value}` in the panel's Settings" if value else \
            f"the {name} setting in the panel's Settings"

    text = _QUOTED.sub(quoted, text)
    return _NAMED.sub(lambda match: f"{SETTING_NAMES[match[1]]} (in the panel's Settings)", text)


class PanelWording:
    """A sink that passes events on to ``sink`` with errors and notices in panel terms."""

    def __init__(self, sink):
        self.sink = sink

    def __call__(self, event: Event) -> None:
        self.sink(with_words(event, in_panel_terms))

    def __getattr__(self, name):  # record_run and the like: the wrapped sink's own
        return getattr(self.sink, name)
