"""Each step's output lives once in the notebook: in its step cell, not again in the task's
cell (which keeps the thoughts, a header per step and the answer). And the extension in
Jupyter Notebook 7: cells mirrored, the side panel in the right sidebar."""
from __future__ import annotations

import json

from nbformat.v4 import new_code_cell

from codeact_jupyter.magics.display import ANSWER_POINTER

STEP_WITH_TABLE = [
    "Let me look.\n<execute>\nfrom IPython.display import HTML, display\nprint('printed-once')\n"
    "display(HTML('<table><tr><td>table-once</td></tr></table>'))\n</execute>",
    "<execute>\n1/0\n</execute>",
    "The table holds one cell."]


def cells_showing(nb: dict, needle: str) -> int:
    return sum(1 for c in nb["cells"] if needle in json.dumps(c.get("outputs", [])))


def outputs_holding(nb: dict, needle: str) -> int:
    return sum(1 for c in nb["cells"] for o in c.get("outputs", []) if needle in json.dumps(o))


def run_task_notebook(app, page, name: str) -> dict:
    replies = app.write_replies(f"{name}-replies.json", STEP_WITH_TABLE)
    app.write_notebook(f"{name}.ipynb", [
        new_code_cell("%load_ext codeact_jupyter"),
        new_code_cell(f"%%codeact --backend replay --model {replies}\nlook at the table"),
    ])
    app.open(page, f"{name}.ipynb")
    app.run_command(page, "notebook:run-all-cells")
    try:
        page.wait_for_function(
            """() => window.jupyterapp.shell.currentWidget.content.model.toJSON().cells
                .some(c => c.cell_type === 'markdown' && String(c.source).includes('The table holds'))""",
            timeout=60_000)
        app.wait_idle(page)
    finally:
        app.screenshot(page, f"{name}.png")
    return app.saved_notebook(page, f"{name}.ipynb")


def test_each_step_output_is_saved_once_and_the_task_cell_is_compact(lab, page):
    nb = run_task_notebook(lab, page, "once")
    assert len(nb["cells"]) == 5  # load_ext, the task, two steps, the answer
    task, step1, step2 = nb["cells"][1:4]
    assert outputs_holding(nb, "printed-once") == 1
    assert outputs_holding(nb, "table-once") == 1
    assert cells_showing(nb, "ZeroDivisionError") == 1
    assert "printed-once" in json.dumps(step1["outputs"]) and "table-once" in json.dumps(step1["outputs"])
    assert step2["outputs"][-1]["ename"] == "ZeroDivisionError"
    shown = json.dumps(task["outputs"])
    for present in ("Let me look.", "Step 1: its code", "Step 2 raised an error", ANSWER_POINTER):
        assert present in shown
    # The answer once in the saved file's cells: its Markdown cell; the task cell points to it.
    assert "The table holds one cell." not in shown
    seen = [json.dumps([c["source"], c.get("outputs", [])]) for c in nb["cells"]]
    assert sum(s.count("The table holds one cell.") for s in seen) == 1
    lab.screenshot(page, "compact-task-cell.png")


def test_notebook7_mirrors_steps_into_cells_and_has_the_panel(notebook7, page):
    nb = run_task_notebook(notebook7, page, "nb7")
    marks = [c["metadata"].get("codeact", {}) for c in nb["cells"]]
    assert [m.get("step") for m in marks[2:4]] == [1, 2]
    assert marks[4].get("role") == "answer"
    assert outputs_holding(nb, "printed-once") == 1
    # The side panel lives in Notebook 7's right sidebar: View > Right Sidebar.
    page.locator(".lm-MenuBar-itemLabel", has_text="View").click()
    page.locator(".lm-Menu-item", has_text="Right Sidebar").hover()
    page.locator(".lm-Menu-item", has_text="Show CodeAct agent").click()
    panel = page.locator(".jp-codeact-panel")
    panel.wait_for(state="visible", timeout=30_000)
    assert panel.locator(".jp-codeact-taskInput").is_visible()
    # It shows the run the magic started, with its steps and answer.
    assert "The table holds one cell." in panel.inner_text()
    notebook7.screenshot(page, "notebook7-panel.png")


def test_notebook7_keeps_a_runs_trace_and_undoes_it(notebook7, page):
    """Provenance and undo in Notebook 7, the other front end the extension serves: the
    trace lands in the task cell's metadata, and `%codeact undo` removes the run's cells."""
    from test_lab_undo import run_task_in_notebook, undo_in_a_new_cell  # the same notebook and replies

    before = run_task_in_notebook(notebook7, page, "nb7-undo")
    trace = before[2]["metadata"]["codeact_trace"]
    assert trace["task"] == "what is 6*7?" and [s["status"] for s in trace["steps"]] == ["ok", "ok"]
    assert trace["steps"][0]["changes"]["defined"][0]["name"] == "x"
    cells = undo_in_a_new_cell(notebook7, page)
    assert [c["id"] for c in cells[:4]] == [before[i]["id"] for i in (0, 1, 2, 6)]
    assert "Undid run" in str(cells[4]["outputs"])
    assert notebook7.kernel_output(page, "print('x' in globals())") == "False\n"
    notebook7.screenshot(page, "notebook7-undo.png")
