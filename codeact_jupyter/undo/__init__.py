"""`%codeact undo`, and what a run keeps so that it can be undone."""


def panel_undo(request_json: str) -> None:
    """The address JupyterLab extensions before 0.2 call (``codeact_jupyter.undo.command:panel_undo``);
    the panel now calls ``codeact_jupyter.panel``. Kept one release."""
    from .command import panel_undo as undo

    undo(request_json)
