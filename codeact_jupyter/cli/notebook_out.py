"""The notebook ``codeact run`` writes: the input's cells with their outputs, then the task
cell, a code cell per step and a Markdown cell for the answer, as the JupyterLab extension
mirrors a run (labextension/src/notebook/cells.ts), with the same cell metadata; the run's trace in
the task cell's metadata (key ``codeact_trace``, as for a magic run: docs/trace.md) and the task in the notebook's task history
(``metadata.codeact.tasks``, labextension/src/notebook/history.ts)."""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

CELL_KEY = "codeact_trace"  # trace.CELL_KEY; not imported: the command never loads the runner
MAX_ANSWER = 2000  # in the history entry, as the extension keeps it


def task_source(task: str) -> str:
    """The task as a cell the magic would run: a first line, then the rest as the body."""
    first, _, rest = task.strip().partition("\n")
    return f"%%codeact {first}" + (f"\n{rest}" if rest else "")


@dataclass(frozen=True)
class Replaced:
    """The cells of an earlier run of the task that a run asked again (``--again``) replaces:
    its task cell, and its step and answer cells as the run left them (a cell edited since
    stays, as undo keeps it)."""

    indices: list[int]
    position: int  # the task cell's index: where the new run goes

    def remove_from(self, nb) -> int:
        for index in sorted(self.indices, reverse=True):
            del nb.cells[index]
        return self.position


def replaced_cells(nb, recorded) -> Replaced:
    """``recorded``: a ``trace.rerun.Recorded`` of a task cell of ``nb``."""
    run_id, trace = recorded.run_id, recorded.trace
    codes = {s.get("step"): s.get("code") for s in trace.get("steps") or []}
    indices = []
    for index, cell in enumerate(nb.cells):
        mark = cell.metadata.get("codeact") or {}
        if (cell.metadata.get(CELL_KEY) or {}).get("run_id") == run_id:
            indices.append(index)
        elif mark.get("run_id") != run_id:
            continue
        elif mark.get("step") is not None and cell.source == codes.get(mark["step"]):
            indices.append(index)
        elif mark.get("role") == "answer" and cell.source.startswith(trace.get("answer") or "\0"):
            indices.append(index)
    return Replaced(indices, min(indices) if indices else len(nb.cells))


def add_run(nb, task: str, events: list[dict], record: dict, origin: str = "cli", at: int | None = None,
            follows: tuple[str, list[dict]] | None = None) -> None:
    """Add the run's cells to ``nb`` (an nbformat v4 notebook): at its end, or from index
    ``at`` (the place of the run it replaces). ``follows``: a follow-up's ``Run.follows``
    (a lean trace refers to the earlier messages, trace/lean.py)."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

    run_id = record.get("run_id") or ""
    notes = [e["text"] for e in events if e["type"] == "notice"]
    notes += [e["message"] for e in events if e["type"] == "error"]
    outputs = [new_output("stream", name="stderr", text="".join(f"{n}\n" for n in notes))] if notes else []
    task_cell = new_code_cell(task_source(task), outputs=outputs)
    if record.get("trace"):
        from ..trace.lean import keep_texts, pack  # hashlib only: the command stays light

        trace, texts = pack(record["trace"], follows)
        task_cell.metadata[CELL_KEY] = trace
        keep_texts(nb.metadata, texts)
    cells = [task_cell]
    for event in events:
        if event["type"] != "observation":
            continue
        cell = new_code_cell(event["code"], execution_count=event.get("execution_count"))
        cell.outputs = [_output(o) for o in event.get("outputs") or []]
        cell.metadata["codeact"] = {"run_id": run_id, "step": event["step"], "status": event["status"],
                                    **_changes_line(event.get("changes"))}
        cells.append(cell)
    answer = record.get("answer")
    if answer is not None:
        text = answer + ("\n\n*(The answer was cut at the token limit.)*" if record.get("answer_cut") else "")
        cells.append(new_markdown_cell(text, metadata={"codeact": {"run_id": run_id, "role": "answer"}}))
    at = len(nb.cells) if at is None else at
    nb.cells[at:at] = cells
    _remember(nb, task, record, origin)


def _changes_line(changes) -> dict:
    """What the step changed, as the line JupyterLab draws under its cell (the mark's
    ``changes``, as the browser's mirror keeps it: labextension/src/notebook/stepchanges.ts)."""
    if not changes:
        return {}
    from ..kernel.namespace_changes import NamespaceChanges

    line = NamespaceChanges.from_dict(changes).summary()
    return {"changes": line} if line else {}


def _output(raw: dict):
    from nbformat import from_dict

    out = dict(raw)
    if out.get("output_type") in ("display_data", "execute_result"):
        out.setdefault("metadata", {})
    return from_dict(out)


def _remember(nb, task: str, record: dict, origin: str) -> None:
    entry = {"run_id": record.get("run_id") or "", "task": task, "origin": origin,
             "reason": record.get("done_reason"),
             "answer": None if record.get("answer") is None else record["answer"][:MAX_ANSWER],
             "steps": record.get("steps", 0),
             "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    meta = dict(nb.metadata.get("codeact") or {})
    meta["tasks"] = (list(meta.get("tasks") or []) + [entry])[-50:]
    nb.metadata["codeact"] = meta
