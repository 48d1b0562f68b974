"""codeact-jupyter: a CodeAct agent for Jupyter.

``%load_ext codeact_jupyter`` registers ``%%codeact`` and ``%codeact``. Loading imports no
model library: llama_cpp and openai load when a task first needs them.
"""
from __future__ import annotations

from .run import last_run

__version__ = "0.1.0"
__all__ = ["last_run", "load_ipython_extension", "unload_model", "__version__"]


def load_ipython_extension(ipython) -> None:
    from .magic import CodeActMagics, empty_body_transformer
    from .mirror import listen_for_mirrors

    magics = CodeActMagics(shell=ipython)
    ipython.register_magics(magics)
    ipython.events.register("post_run_cell", magics.error_log)
    from .figure_notes import install as describe_figures

    describe_figures(ipython, budget=lambda: magics.figure_description_chars)
    if empty_body_transformer not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(empty_body_transformer)
    listen_for_mirrors()  # the JupyterLab extension announces itself (views.py)


def unload_ipython_extension(ipython) -> None:
    from .figure_notes import uninstall as stop_describing_figures
    from .magic import empty_body_transformer

    stop_describing_figures(ipython)
    magics = ipython.magics_manager.registry.get("CodeActMagics")
    if magics is not None:
        try:
            ipython.events.unregister("post_run_cell", magics.error_log)
        except ValueError:
            pass
    if empty_body_transformer in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(empty_body_transformer)


def unload_model() -> bool:
    """End the model host: the local model, its KV cache and its memory are freed. The next
    llama task starts a fresh host. True when one was running."""
    import sys

    client = sys.modules.get("codeact_jupyter.model_host.client")
    return client.stop_host() if client is not None else False


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "codeact-jupyter"}]
