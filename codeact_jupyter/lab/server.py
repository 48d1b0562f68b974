"""The Jupyter server's side: busy means busy (README, "JupyterLab").

JupyterLab 4.4+ gives comms their own kernel subshells, created and deleted by control
requests (``create_subshell_request``, ``delete_subshell_request``), and the kernel
publishes busy, then idle, for each. The page takes every status it does not find in the
server's ``untracked_message_types`` as the kernel's own, so each comm our runs open or
close during a ``%%codeact`` run read "Idle" while the cell still runs. jupyter_server's
default list names the other control requests (``debug_request``, ``interrupt_request``)
but not these; this server extension adds them (also right for activity tracking: they
are not the user's activity). Enabled by ``jupyter_server_config.d/codeact-jupyter.json``.
"""
from __future__ import annotations

SUBSHELL_MESSAGES = [f"{verb}_subshell_{kind}" for verb in ("create", "delete", "list")
                     for kind in ("request", "reply")]


def _load_jupyter_server_extension(serverapp) -> None:
    manager = serverapp.kernel_manager
    untracked = list(getattr(manager, "untracked_message_types", None) or [])
    missing = [name for name in SUBSHELL_MESSAGES if name not in untracked]
    if missing:
        manager.untracked_message_types = untracked + missing
