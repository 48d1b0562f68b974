"""The ``codeact`` command: ``codeact run`` (a notebook and a task, headless) and
``codeact eval`` (a task suite, scored). Each subcommand's module loads only when it runs,
so ``codeact --help`` starts fast."""
from __future__ import annotations

import sys

COMMANDS = {
    "run": ("codeact_jupyter.cli.run_command", "run a task on a notebook, headless, and write the result"),
    "eval": ("codeact_jupyter.cli.eval_command", "run a task suite and score a model"),
}
USAGE = "usage: codeact {run,eval} ...\n\n" + "".join(
    f"  {name:<6}{about}\n" for name, (_, about) in COMMANDS.items()) + \
    "\n`codeact COMMAND --help` for each command's options.\n"


def main(argv: list[str] | None = None) -> int:
    import importlib

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from .. import __version__

        print(f"codeact-jupyter {__version__}")
        return 0
    if argv[0] not in COMMANDS:
        sys.stderr.write(f"codeact: unknown command {argv[0]!r}.\n\n{USAGE}")
        return 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:])


def entry() -> None:
    """The console script."""
    sys.exit(main())
