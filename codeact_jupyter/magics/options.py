"""The options at the start of a ``%%codeact`` line, and the task words after them.

Options come first; the first word that is not an option starts the task, and the task is
kept verbatim (quotes, apostrophes, backslashes). ``--`` ends the options, for a task that
starts with ``-``; a word that is a number (``-5 plus 3``) starts the task by itself, as
argparse would have it. Option values may be quoted, for paths with spaces
(``--model "my replies.json"`` or ``--model="my replies.json"``); backslashes are kept
as written, so Windows paths work.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from IPython.core.error import UsageError

# One shell-like word: runs of unquoted text and quoted parts; the quotes are removed.
_WORD = re.compile(r"""(?:[^\s"']+|"[^"]*"|'[^']*')+""")
_QUOTED = re.compile(r""""([^"]*)"|'([^']*)'""")
_NUMBER = re.compile(r"^-\d+(\.\d*)?([eE][-+]?\d+)?$|^-\.\d+$")
HELP = "(see %%codeact? for the options)"


@dataclass(frozen=True)
class MagicLine:
    argv: list[str]  # the options, unquoted, ready for the argument parser
    task: str  # the words after the options, verbatim
    late_options: list[str]  # option names found among the task words


def split_line(line: str, parser) -> MagicLine:
    options = parser._option_string_actions
    rest = line.strip()
    argv: list[str] = []
    while rest.startswith("-"):
        if re.match(r"--(\s|$)", rest):  # the user said where the task starts: no warning
            return MagicLine(argv=argv, task=rest[2:].lstrip(), late_options=[])
        word, after = _next_word(rest, "option")
        if _NUMBER.match(word):
            break  # "-5 plus 3": the task starts here
        name, has_value, value = word.partition("=")
        action = options.get(name)
        if action is None:
            raise UsageError(
                f"Unknown option {name} for %%codeact {HELP}. A task that starts with '-' goes "
                f"after `--`: %%codeact -- {rest}")
        if action.nargs == 0:
            if has_value:
                raise UsageError(f"Option {name} takes no value {HELP}.")
            argv.append(name)
        elif has_value and value:
            argv += [name, value]
        elif has_value:
            raise UsageError(f"Option {name} needs a value {HELP}.")
        else:
            if not after or (after.startswith("-") and _option_name(after) in options):
                raise UsageError(f"Option {name} needs a value {HELP}.")
            value, after = _next_word(after, f"value of {name}")
            argv += [name, value]
        rest = after
    late = [w.partition("=")[0] for w in rest.split()
            if w.startswith("--") and w.partition("=")[0] in options]
    return MagicLine(argv=argv, task=rest, late_options=late)


def _next_word(text: str, what: str) -> tuple[str, str]:
    match = _WORD.match(text)
    if not match or (match.end() < len(text) and not text[match.end()].isspace()):
        raise UsageError(f"Unclosed quote in the {what}: {text.split()[0]} {HELP}.")
    word = _QUOTED.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), match.group())
    return word, text[match.end():].lstrip()


def _option_name(text: str) -> str:
    return text.split()[0].partition("=")[0]
