"""Where figure descriptions are made: a formatter in the shell's display formatter.

Every way a figure reaches the screen goes through IPython's ``DisplayFormatter.format``:
the inline backend's ``flush_figures`` and ``plt.show()`` call ``display(fig)``, a figure
left as a cell's last value goes through the display hook. Beside the PNG formatter we
add one more formatter that answers ``matplotlib.figure.Figure`` only (recognised by its
class's module and name, so matplotlib is not imported; not a registered type printer,
which ``%matplotlib inline`` removes from every formatter) and adds no data: it returns
the figure's description as the output's *metadata*, under the key ``codeact``::

    {"output_type": "display_data", "data": {"image/png": ...},
     "metadata": {"codeact": {"description": "Figure 640x480 px, 1 axes\\n..."}}}

So the description travels with the output: the executor records it with the step's
outputs (observation.py reads it), the saved notebook and JupyterLab's document carry it
(the side panel's context reads it), and nothing changes in what the user sees. Several
figures per step are several outputs, each with its own description.

The kernel's history keeps no display outputs, so a ``post_run_cell`` callback also files
each cell's descriptions under its execution count, for the notebook context.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable

from IPython.core.formatters import BaseFormatter
from traitlets import Unicode

from .description import DEFAULT_BUDGET, describe_figure

KEY = "codeact"  # the output metadata key (and the formatter's name in the shell)
KEPT_CELLS = 500  # cells whose descriptions the log keeps for the context


def description_of(output: dict) -> str | None:
    """The figure description an nbformat output carries in its metadata, if any."""
    meta = output.get("metadata") if isinstance(output, dict) else None
    note = meta.get(KEY) if isinstance(meta, dict) else None
    text = note.get("description") if isinstance(note, dict) else None
    return text if isinstance(text, str) and text else None


class FigureLog:
    """Descriptions per execution count, filed when each cell ends (``post_run_cell``)."""

    def __init__(self):
        self.pending: list[str] = []
        self.cells: OrderedDict[int, list[str]] = OrderedDict()

    def __call__(self, result) -> None:
        pending, self.pending = self.pending, []
        info = getattr(result, "info", None)
        stored = getattr(info, "store_history", True) and not getattr(info, "silent", False)
        count = getattr(result, "execution_count", None)
        if pending and stored and count is not None:
            self.cells.setdefault(count, []).extend(pending)
            while len(self.cells) > KEPT_CELLS:
                self.cells.popitem(last=False)


class DescriptionFormatter(BaseFormatter):
    """Adds the description of a matplotlib figure to a display's metadata, no data."""

    format_type = Unicode(KEY)

    def __init__(self, budget: Callable[[], int] = lambda: DEFAULT_BUDGET, **kwargs):
        super().__init__(**kwargs)
        self.budget = budget
        self.log = FigureLog()

    def __call__(self, obj):
        if not self.enabled or not _is_figure(obj):
            return None
        try:
            budget = int(self.budget())
        except Exception:
            budget = DEFAULT_BUDGET
        text = describe_figure(obj, budget)  # never raises
        if text is None:
            return None
        self.log.pending.append(text)
        return None, {"description": text}

    def _check_return(self, r, obj):
        # Metadata only: (None, {...}) is what this formatter is for.
        return r if r is None or (isinstance(r, tuple) and len(r) == 2 and isinstance(r[1], dict)) else None


def _is_figure(obj) -> bool:
    return any(cls.__name__ == "Figure" and cls.__module__ == "matplotlib.figure"
               for cls in type(obj).__mro__)


def install(shell, budget: Callable[[], int]) -> None:
    """Describe every figure the shell displays from now on (the extension's load)."""
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", None)
    if formatters is None:
        return
    uninstall(shell)
    formatter = DescriptionFormatter(budget=budget, parent=shell.display_formatter)
    formatters[KEY] = formatter
    shell.events.register("post_run_cell", formatter.log)


def uninstall(shell) -> None:
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", None)
    formatter = formatters.pop(KEY, None) if formatters is not None else None
    if formatter is not None:
        try:
            shell.events.unregister("post_run_cell", formatter.log)
        except ValueError:
            pass


def cell_figures(shell) -> dict[int, list[str]]:
    """Descriptions of the figures each earlier cell displayed, by execution count."""
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", None) or {}
    formatter = formatters.get(KEY)
    return dict(formatter.log.cells) if isinstance(formatter, DescriptionFormatter) else {}


def description_view(outputs: list[dict]) -> dict | None:
    """An nbformat output showing, collapsed, what the model read about the figures among
    ``outputs``: under the step in the task's cell (display.py), or in the step's own cell
    in JupyterLab (lab_bridge.py). None when no figure was described."""
    import html

    texts = [text for text in (description_of(o) for o in outputs) if text]
    if not texts:
        return None
    summary = ("What the model read about this figure" if len(texts) == 1
               else f"What the model read about these {len(texts)} figures")
    body = "".join(f'<pre style="white-space:pre-wrap;margin:0.3em 0">{html.escape(t)}</pre>' for t in texts)
    return {"output_type": "display_data",
            "data": {"text/html": f'<details style="opacity:0.8;font-size:90%"><summary>{summary}'
                                  f"</summary>{body}</details>",
                     "text/plain": f"[{summary}:]\n" + "\n\n".join(texts)},
            "metadata": {KEY: {"role": "figure descriptions"}}}
