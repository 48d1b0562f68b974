"""Runs land in reading order: two panel tasks of a thread put their cells one after the
other, below the cell that was selected, and after each run the selection is on the run's
last cell, as after running a cell; a cell the user selects in between is where the next
run goes. Real kernel, real JupyterLab, headless Chromium, the test chat server."""
from __future__ import annotations

from chat_server import ChatServer
from nbformat.v4 import new_code_cell


def mark(cell: dict) -> dict:
    return (cell.get("metadata") or {}).get("codeact") or {}


def send_task(lab, page, task: str, answered: int) -> None:
    page.locator(".jp-codeact-taskInput").fill(task)
    page.locator(".jp-codeact-send").click()
    page.locator('.jp-codeact-run[data-status="answered"]').nth(answered - 1).wait_for(timeout=60_000)
    lab.wait_idle(page)
    page.locator(".jp-codeact-send").wait_for()


def test_two_panel_tasks_in_a_thread_land_in_the_order_they_ran(lab, page):
    with ChatServer(["<execute>\nx = 6 * 7\n</execute>", "x is 42.",
                     "<execute>\ny = x + 1\n</execute>", "y is 43.",
                     "<execute>\nz = 0\n</execute>", "z is 0."]) as server:
        lab.set_settings(endpoint=server.base_url, model="scripted-model")
        lab.write_notebook("order.ipynb", [new_code_cell("base = 1"), new_code_cell("# the end")])
        lab.open(page, "order.ipynb")
        page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0; }")
        page.locator('.lm-TabBar-tab[data-id="codeact-panel"]').click()
        send_task(lab, page, "compute x", answered=1)
        send_task(lab, page, "and y from x", answered=2)
        cells = lab.cells(page)
        first, second = mark(cells[1])["run_id"], mark(cells[3])["run_id"]
        assert first != second
        assert [("".join(c["source"]), mark(c).get("run_id")) for c in cells] == [
            ("base = 1", None), ("x = 6 * 7", first), ("x is 42.", first),
            ("y = x + 1", second), ("y is 43.", second), ("# the end", None)]
        active = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex")
        assert active == 4  # the run's last cell, as after running a cell
        lab.screenshot(page, "panel-runs-in-reading-order.png")
        # A cell the user selects since is where the next run goes.
        page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0; }")
        send_task(lab, page, "and z", answered=3)
        cells = lab.cells(page)
        assert ["".join(c["source"]) for c in cells[:3]] == ["base = 1", "z = 0", "z is 0."]


def test_run_again_replaces_a_panel_runs_cells_in_place_and_asks_the_model_anew(lab, page):
    with ChatServer(["<execute>\nx = 6 * 7\n</execute>", "x is 42.",
                     "<execute>\nx = 7 * 6\n</execute>", "x is 42, again."]) as server:
        lab.set_settings(endpoint=server.base_url, model="scripted-model")
        lab.write_notebook("again.ipynb", [new_code_cell("base = 1"), new_code_cell("# the end")])
        lab.open(page, "again.ipynb")
        page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0; }")
        page.locator('.lm-TabBar-tab[data-id="codeact-panel"]').click()
        send_task(lab, page, "compute x", answered=1)
        first = mark(lab.cells(page)[1])["run_id"]
        page.locator(".jp-codeact-taskInput").click()  # the selection moves nowhere meanwhile
        page.locator(f'.jp-codeact-run[data-run-id="{first}"] .jp-codeact-runAgain').click()
        page.locator('.jp-codeact-run[data-status="answered"]').nth(1).wait_for(timeout=60_000)
        lab.wait_idle(page)
        cells = lab.cells(page)
        second = mark(cells[1])["run_id"]
        assert second != first and len(server.requests) == 4  # the model was asked again
        assert [("".join(c["source"]), mark(c).get("run_id")) for c in cells] == [
            ("base = 1", None), ("x = 7 * 6", second), ("x is 42, again.", second), ("# the end", None)]
        lab.screenshot(page, "panel-run-again.png")
