"""What a ``%%codeact`` cell does when the notebook holds its run (trace/rerun.py): no model.

Where the run's cells are in the notebook, they are the record and run as cells of their
own: the task cell says so in one line. Where the steps live only in the trace (an output
of this cell: nbclient, VS Code, Notebook without the extension), the cell runs them again
in order, shows the recorded answer and keeps the trace as its output again, so the next
re-run finds it too.
"""
from __future__ import annotations


def reproduce(shell, recorded) -> None:
    from IPython.display import Markdown, display

    from ..agent.conversation import continue_from_record

    print(recorded.line())
    continue_from_record(recorded.trace)  # a follow-up (-c) continues the recorded run
    if recorded.in_cells:
        return
    from ..kernel.jsonsafe import jsonable
    from ..trace.build import MIME, summary_line

    trace = recorded.trace
    for step in trace.get("steps") or []:
        if step.get("status") in ("skipped", "interrupted"):
            continue
        result = shell.run_cell(str(step.get("code") or ""), store_history=True)
        failed = result.error_before_exec is not None or result.error_in_exec is not None
        if failed and step.get("status") == "ok":
            print(f"codeact: step {step.get('step')} failed where it succeeded when recorded; the "
                  "later steps were not run. Run the task again with --again to ask the model.")
            break
    if trace.get("answer") is not None:
        display(Markdown(str(trace["answer"])))
    display({MIME: jsonable(trace), "text/plain": summary_line(trace)}, raw=True)
