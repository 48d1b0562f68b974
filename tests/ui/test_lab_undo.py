"""Undo in a real JupyterLab: the side panel's Undo button (and `%codeact undo` in a cell)
puts the kernel's variables back and removes exactly the cells the run inserted, keeping
one the user edited since. Each step cell shows which names the step changed. Scripted
(replay) model, real kernel, headless Chromium; screenshots go to test-artifacts/."""
from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell

STEPS = ["Let me compute.\n<execute>\nx = 6*7\nprint(x)\n</execute>",
         "Now one more.\n<execute>\ny = x + 1\nbase.append(y)\n</execute>",
         "The answer is **42**."]


def mark(cell: dict) -> dict:
    return cell["metadata"].get("codeact", {})


def text(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def run_task_in_notebook(lab, page, name: str) -> list[dict]:
    """A notebook whose %%codeact cell runs STEPS; returns the cells once the run is over."""
    replies = lab.write_replies(f"{name}.json", STEPS)
    lab.write_notebook(f"{name}.ipynb", [
        new_markdown_cell("# Undo"),
        new_code_cell("%load_ext codeact_jupyter\nbase = [1]"),
        new_code_cell(f"%%codeact --backend replay --model {replies}\nwhat is 6*7?"),
        new_code_cell("z = 'mine'"),
    ])
    lab.open(page, f"{name}.ipynb")
    lab.run_command(page, "notebook:run-all-cells")
    page.locator(".jp-MarkdownCell.jp-mod-rendered", has_text="The answer is 42.").wait_for(timeout=60_000)
    lab.wait_idle(page)
    cells = lab.cells(page)
    assert [bool(mark(c)) for c in cells] == [False, False, False, True, True, True, False]
    return cells


def edit_cell(page, index: int, typed: str) -> None:
    """Type at the end of a code cell's first line, as a user would."""
    editor = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+Home")
    page.keyboard.press("End")
    page.keyboard.type(typed)


def test_the_undo_button_removes_exactly_the_inserted_cells_and_keeps_an_edited_one(lab, page):
    before = run_task_in_notebook(lab, page, "undo-panel")
    run_id = mark(before[3])["run_id"]
    # Under each step cell, the names it changed (not an output: nothing saved).
    changes = page.locator(".jp-Notebook .jp-Cell").nth(3).locator(".jp-codeact-changes")
    assert changes.inner_text() == "defined: x (int)"
    assert page.locator(".jp-Notebook .jp-Cell").nth(4).locator(".jp-codeact-changes").inner_text() == \
        "defined: y (int); changed: base (in place)"
    assert before[3]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "42\n"}]

    edit_cell(page, 4, "  # my note")  # the user edits step 2's cell
    page.locator('.lm-TabBar-tab[data-id="codeact-panel"]').click()
    run = page.locator(f'.jp-codeact-run[data-run-id="{run_id}"]')
    assert run_id in run.locator(".jp-codeact-runFooter").inner_text()  # the id, shown small
    lab.screenshot(page, "undo-before.png")
    run.locator(".jp-codeact-undoButton").click()
    result = run.locator(".jp-codeact-undoResult")
    result.filter(has_text="Kept the cell you edited since").wait_for(timeout=30_000)
    lab.wait_idle(page)

    shown = result.inner_text()
    assert f"Undid run {run_id} ('what is 6*7?')." in shown
    assert "removed (the run created them): x, y" in shown
    assert "could not restore: base was changed in place by step 2" in shown
    assert "removed the 2 cells it inserted. Kept the cell you edited since: step 2." in shown
    button = run.locator(".jp-codeact-undoButton")
    assert button.inner_text() == "Undone" and button.is_disabled()
    cells = lab.cells(page)
    # The user's cells are untouched and in order; of the run's, only the edited one stays.
    assert [c["id"] for c in cells] == [before[i]["id"] for i in (0, 1, 2, 4, 6)]
    assert text(cells[3]["source"]) == "y = x + 1  # my note\nbase.append(y)"
    assert lab.kernel_output(page, "print('x' in globals(), 'y' in globals(), z, base)") == \
        "False False mine [1, 43]\n"
    lab.screenshot(page, "undo-after.png")


def undo_in_a_new_cell(app, page) -> list[dict]:
    """Run `%codeact undo` in a cell added at the end of run_task_in_notebook's notebook;
    returns the cells once the run's three are gone."""
    page.locator(".jp-Notebook .jp-Cell").nth(6).click()
    app.run_command(page, "notebook:insert-cell-below")
    page.keyboard.type("%codeact undo")
    app.run_command(page, "notebook:run-cell")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.model.cells.length === 5")
    app.wait_idle(page)
    return app.cells(page)


def test_codeact_undo_in_a_cell_removes_the_runs_cells(lab, page):
    before = run_task_in_notebook(lab, page, "undo-magic")
    cells = undo_in_a_new_cell(lab, page)
    assert [c["id"] for c in cells[:4]] == [before[i]["id"] for i in (0, 1, 2, 6)]
    assert "Undid run" in str(cells[4]["outputs"])
    assert lab.kernel_output(page, "print('x' in globals())") == "False\n"


def test_a_panel_task_is_undone_from_its_undo_button(lab, page):
    replies = lab.write_replies("undo-panel-task.json", STEPS)
    lab.set_settings(backend="replay", model=str(replies))
    lab.write_notebook("undo-panel-task.ipynb", [new_code_cell("base = [1]"), new_code_cell("after = 2")])
    lab.open(page, "undo-panel-task.ipynb")
    before = lab.cells(page)
    lab.kernel_output(page, "base = [1]")
    page.locator(".jp-Notebook .jp-Cell").nth(0).click()  # steps go below the active cell
    page.locator('.lm-TabBar-tab[data-id="codeact-panel"]').click()
    page.locator(".jp-codeact-taskInput").fill("what is 6*7?")
    page.locator(".jp-codeact-send").click()
    run = page.locator('.jp-codeact-run[data-status="answered"][data-origin="panel"]')
    run.wait_for(timeout=60_000)
    lab.wait_idle(page)
    assert len(lab.cells(page)) == 5

    run.locator(".jp-codeact-undoButton").click()
    run.locator('.jp-codeact-undo[data-undone="true"]').wait_for(timeout=30_000)
    lab.wait_idle(page)
    assert "removed the 3 cells it inserted." in run.locator(".jp-codeact-undoResult").inner_text()
    assert [c["id"] for c in lab.cells(page)] == [c["id"] for c in before]
    assert lab.kernel_output(page, "print('x' in globals(), base)") == "False [1, 43]\n"
