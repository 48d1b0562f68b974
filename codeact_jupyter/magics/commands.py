"""``%codeact WORD …``: commands about tasks rather than tasks (``%codeact undo``).

A line magic whose first word names a command runs that command; everything else is a task.
A task that starts with one of these words goes after ``--`` (``%codeact -- undo the last
sort``) or in a ``%%codeact`` cell, which is always a task. Each command lives in a module of
its own, imported only when used, so ``%load_ext`` stays fast.
"""
from __future__ import annotations

import importlib
from typing import Callable

# command word -> "module:function"; the function takes (magics, rest_of_line).
COMMANDS: dict[str, str] = {
    "context": "codeact_jupyter.magics.context_command:context_command",
    "undo": "codeact_jupyter.undo.command:undo_command",
    "verify": "codeact_jupyter.verify.command:verify_command",
}


def find_command(line: str, cell: str | None) -> tuple[Callable, str] | None:
    """The command a ``%codeact`` line names, with the rest of the line; None for a task."""
    if cell is not None:
        return None
    word, _, rest = line.strip().partition(" ")
    target = COMMANDS.get(word)
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name), rest.strip()
