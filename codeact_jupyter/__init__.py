"""codeact-jupyter: a CodeAct agent for Jupyter.

``%load_ext codeact_jupyter`` registers ``%%codeact`` and ``%codeact``. Loading imports no
model library: llama_cpp and openai load when a task first needs them.
"""
from __future__ import annotations

from .agent.run import last_run

__version__ = "0.1.0"
__all__ = ["last_run", "load_ipython_extension", "unload_model", "__version__"]


def load_ipython_extension(ipython) -> None:
    from .magics.extension import load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from .magics.extension import unload

    unload(ipython)


def unload_model() -> bool:
    """End the model host: the local model, its KV cache and its memory are freed. The next
    llama task starts a fresh host. True when one was running."""
    import sys

    client = sys.modules.get("codeact_jupyter.backends.llama.host.client")
    return client.stop_host() if client is not None else False


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "codeact-jupyter"}]


def _jupyter_server_extension_points():
    return [{"module": "codeact_jupyter.lab.server"}]
