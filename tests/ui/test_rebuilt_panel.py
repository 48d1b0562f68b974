"""What the notebook holds is enough to rebuild the panel: after a reload the earlier runs
keep their Undo (while the kernel that ran them lives; otherwise disabled, with the reason)
and Verify buttons, step cells show their change lines from the saved metadata, an undone
run is marked as such in the notebook's records, and a second window on the notebook logs
no errors while a run goes on in the first. Scripted (replay) model, real kernel, real
JupyterLab, headless Chromium."""
from __future__ import annotations

from nbformat.v4 import new_code_cell

STEPS = ["<execute>\nx = 6*7\nprint(x)\n</execute>", "<execute>\ny = x + 1\n</execute>",
         "The answer is **43**."]


def mark(cell: dict) -> dict:
    return (cell.get("metadata") or {}).get("codeact") or {}


def write_task_notebook(lab, name: str) -> str:
    replies = lab.write_replies(f"{name}.json", STEPS)
    return lab.write_notebook(f"{name}.ipynb", [
        new_code_cell("%load_ext codeact_jupyter"),
        new_code_cell(f"%%codeact --backend replay --model {replies}\nwhat is 6*7+1?"),
    ])


def run_all(lab, page) -> None:
    lab.run_command(page, "notebook:run-all-cells")
    page.locator(".jp-MarkdownCell.jp-mod-rendered", has_text="The answer is 43.").wait_for(timeout=60_000)
    lab.wait_idle(page)


def test_a_second_window_on_the_notebook_logs_no_errors_while_a_run_goes_on(lab, page):
    name = write_task_notebook(lab, "two-windows")
    lab.open(page, name)
    other = page.context.new_page()
    errors: list[str] = []
    other.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    lab.open(other, name)
    run_all(lab, page)
    other.wait_for_timeout(1500)  # the last messages reach the second window too
    assert errors == []
    other.close()


def test_after_a_reload_the_panel_keeps_earlier_runs_with_undo_verify_and_change_lines(lab, page):
    name = write_task_notebook(lab, "reload")
    lab.open(page, name)
    run_all(lab, page)
    run_id = mark(lab.cells(page)[2])["run_id"]
    saved = lab.saved_notebook(page, name)
    assert [mark(c).get("changes") for c in saved["cells"]] == \
        [None, None, "defined: x (int)", "defined: y (int)", None]
    page.reload()
    lab.open(page, name)
    # The change lines come back from the cells' metadata.
    cells = page.locator(".jp-Notebook .jp-Cell")
    cells.nth(2).locator(".jp-codeact-changes").wait_for(timeout=30_000)
    assert cells.nth(2).locator(".jp-codeact-changes").inner_text() == "defined: x (int)"
    assert cells.nth(3).locator(".jp-codeact-changes").inner_text() == "defined: y (int)"
    page.locator('.lm-TabBar-tab[data-id="codeact-panel"]').click()
    earlier = page.locator(f'.jp-codeact-historyEntry[data-run-id="{run_id}"]')
    earlier.wait_for(timeout=30_000)
    undo = earlier.locator(".jp-codeact-undoButton")
    page.wait_for_function(
        "id => { const b = document.querySelector(`.jp-codeact-historyEntry[data-run-id='${id}'] .jp-codeact-undoButton`);"
        " return b && !b.disabled; }", arg=run_id, timeout=30_000)
    assert earlier.locator(".jp-codeact-verifyButton").is_visible()
    lab.screenshot(page, "panel-after-reload.png")
    undo.click()
    earlier.locator(".jp-codeact-undoResult").filter(has_text="removed the 3 cells").wait_for(timeout=30_000)
    assert undo.inner_text() == "Undone" and undo.is_disabled()
    saved = lab.saved_notebook(page, name)
    entry = next(t for t in saved["metadata"]["codeact"]["tasks"] if t["run_id"] == run_id)
    assert entry["undone"] is True
    # Reloaded again: the run reads as undone, from the notebook's records alone.
    page.reload()
    lab.open(page, name)
    page.locator('.lm-TabBar-tab[data-id="codeact-panel"]').click()
    earlier = page.locator(f'.jp-codeact-historyEntry[data-run-id="{run_id}"]')
    earlier.wait_for(timeout=30_000)
    assert earlier.get_attribute("data-undone") == "true"
    assert earlier.locator(".jp-codeact-undoButton").inner_text() == "Undone"


def test_after_a_kernel_restart_undo_of_an_earlier_run_is_disabled_with_the_reason(lab, page):
    name = write_task_notebook(lab, "restarted")
    lab.open(page, name)
    run_all(lab, page)
    run_id = mark(lab.cells(page)[2])["run_id"]
    lab.saved_notebook(page, name)
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    lab.wait_idle(page)
    page.reload()
    lab.open(page, name)
    page.locator('.lm-TabBar-tab[data-id="codeact-panel"]').click()
    earlier = page.locator(f'.jp-codeact-historyEntry[data-run-id="{run_id}"]')
    earlier.wait_for(timeout=30_000)
    page.wait_for_function(
        "id => { const b = document.querySelector(`.jp-codeact-historyEntry[data-run-id='${id}'] .jp-codeact-undoButton`);"
        " return b && b.disabled && b.title.includes('restarted'); }", arg=run_id, timeout=30_000)
