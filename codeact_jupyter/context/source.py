"""Where a task reads the notebook from: the browser's document when JupyterLab sent one,
else the kernel's own history (with the error log's records of each cell's error).

One frozen value names what used to travel as four loose parameters (shell, document,
errors, history_end) through the task, the context and the preview."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .cells import CellRecord, cells_from_document, cells_from_history, error_log_of
from .variables import variable_summaries


@dataclass(frozen=True)
class NotebookSource:
    shell: Any
    document: dict | None = None  # the browser's notebook (cells, active_cell), when sent
    # From the extension's error log (cells.ErrorLog): each stored cell's error, and how many
    # history entries precede the running cell. None: not known (a task started from code).
    errors: dict[int, str] | None = None
    history_end: int | None = None

    @classmethod
    def of(cls, shell, document: dict | None = None, errors: dict[int, str] | None = None,
           history_end: int | None = None) -> "NotebookSource":
        """The source of a task in ``shell``; ``errors`` and ``history_end`` default to what
        the loaded extension's error log holds."""
        if errors is None and history_end is None:
            log = error_log_of(shell)
            if log is not None:
                errors, history_end = log.errors, log.history_end
        return cls(shell, document, errors, history_end)

    @property
    def from_document(self) -> bool:
        return bool(self.document)

    def cells(self) -> list[CellRecord]:
        """The notebook's cells before the task, in notebook order."""
        if self.document:
            return cells_from_document(self.document)
        return cells_from_history(self.shell, self.errors, self.history_end)

    def variables(self, secret_name=None) -> list[tuple[str, str]]:
        """(name, summary line) of each live user variable (variables.py)."""
        return variable_summaries(self.shell, secret_name=secret_name)

    def names(self) -> set[str]:
        """Every name the kernel holds now."""
        return set(getattr(self.shell, "user_ns", {}))
