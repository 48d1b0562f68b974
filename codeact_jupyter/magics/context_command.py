"""``%codeact context [options] [TASK]``: what the next task would send (agent/preview.py),
printed before anything is sent."""
from __future__ import annotations


def context_command(magics, rest_of_line: str) -> None:
    """``%codeact context [options] [TASK]``: print what the next task would send."""
    from ..agent.conversation import NO_CONVERSATION
    from ..agent.preview import build_manifest, follow_up_text
    from ..context.source import NotebookSource
    from ..lab.mirror import announced_notebook
    from .options import split_line

    parser = magics.codeact.parser
    parsed = split_line(rest_of_line, parser)
    args = parser.parse_args(parsed.argv)
    overrides = {k: v for k, v in vars(args).items() if v is not None and k != "task"}
    overrides.pop("follow_up", None)
    settings = magics.resolve(overrides)
    log = magics.error_log
    # In JupyterLab the extension sent the document with this cell, as a task's cell gets it.
    source = NotebookSource(magics.shell, announced_notebook(), log.errors, log.history_end)
    if args.follow_up:
        text = follow_up_text(source, parsed.task, settings)
        if text is not None:
            print(text)
            return
        print(NO_CONVERSATION)
    manifest = build_manifest(source, parsed.task, settings)
    print(manifest.as_text())
