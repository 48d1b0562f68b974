"""``%load_ext codeact_jupyter`` and its unloading: the magics, the error log that feeds the
context, the figure formatter, the rewrite of an empty ``%%codeact`` body, and the listener
for JupyterLab's announcements."""
from __future__ import annotations


def load(ipython) -> None:
    from ..figures.formatter import install as describe_figures
    from ..lab.mirror import listen_for_mirrors
    from .codeact import CodeActMagics, empty_body_transformer

    magics = CodeActMagics(shell=ipython)
    ipython.register_magics(magics)
    ipython.events.register("post_run_cell", magics.error_log.listen())
    describe_figures(ipython, budget=lambda: magics.figure_description_chars)
    if empty_body_transformer not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(empty_body_transformer)
    listen_for_mirrors()  # the JupyterLab extension announces itself (views.py)


def unload(ipython) -> None:
    from ..figures.formatter import uninstall as stop_describing_figures
    from .codeact import empty_body_transformer

    stop_describing_figures(ipython)
    magics = ipython.magics_manager.registry.get("CodeActMagics")
    if magics is not None:
        try:
            ipython.events.unregister("post_run_cell", magics.error_log)
        except ValueError:
            pass
    if getattr(ipython, "_codeact_error_log", None) is getattr(magics, "error_log", None):
        ipython._codeact_error_log = None
    if empty_body_transformer in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(empty_body_transformer)
