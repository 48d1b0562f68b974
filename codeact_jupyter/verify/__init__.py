"""`%codeact verify`: the plan, the fresh kernel, and the hidden state a failure points to."""


def verify_document(*args, **kwargs):
    """The address JupyterLab extensions before 0.2 call (``codeact_jupyter.verify.command:verify_document``);
    the panel now calls ``codeact_jupyter.panel``. Kept one release."""
    from .command import verify_document as verify

    return verify(*args, **kwargs)
