"""Errors and notices worded for ``codeact run`` and ``codeact eval``: advice written for the
magic (```%config CodeActMagics.request_timeout = 300```, ```%%codeact --model PATH```)
names the command's own options instead, where it has them."""
from __future__ import annotations

import re

# A CodeActMagics trait, as the command's option (cli/options.py).
OPTIONS = {"backend": "--backend", "model": "--model", "base_url": "--base-url",
           "max_turns": "--max-turns", "timeout": "--timeout", "request_timeout": "--request-timeout",
           "grammar": "--grammar", "profile": "--profile"}
_CONFIG = re.compile(r"`%config CodeActMagics\.(\w+) = ([^`]*)`")
_MAGIC = re.compile(r"`%%?codeact (--[a-z-]+[^`]*)`")


def in_command_terms(text: str) -> str:
    def config(match: re.Match) -> str:
        option = OPTIONS.get(match[1])
        if option is None:  # a trait the command has no option for: the kernel's config
            return match[0]
        value = match[2].strip().strip("\"'")
        return f"`{option}`" if option == "--grammar" else f"`{option} {value}`"

    return _MAGIC.sub(lambda match: f"`{match[1].strip()}`", _CONFIG.sub(config, text))
