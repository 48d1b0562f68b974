"""With real-time collaboration (jupyter-collaboration: the notebook is one shared document
for every window), a run's cells are in both windows exactly once and in reading order,
whichever window started it, and panel tasks from two windows land in the order they ran.
Two browser contexts (two users) on one real JupyterLab, real kernel, the test chat server.
Collected only where jupyter-collaboration is installed (.ci/collaboration)."""
from __future__ import annotations

from chat_server import ChatServer
from nbformat.v4 import new_code_cell


def mark(cell: dict) -> dict:
    return (cell.get("metadata") or {}).get("codeact") or {}


def sources(lab, page) -> list[tuple[str, str | None]]:
    return [("".join(c["source"]), mark(c).get("run_id")) for c in lab.cells(page)]


def open_shared(lab, page, name: str) -> None:
    page.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}")
    page.wait_for_function(
        """name => {
            const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            const kernel = w && w.sessionContext && w.sessionContext.session
                && w.sessionContext.session.kernel;
            return w && w.context.path === name && kernel && kernel.status === 'idle'
                && w.content.widgets.length > 0;
        }""", arg=name, timeout=60_000)


def test_a_runs_cells_are_in_both_windows_once_and_panel_tasks_land_in_order(lab, page, browser):
    with ChatServer(["<execute>\nx = 6 * 7\n</execute>", "x is 42.",
                     "<execute>\ny = x + 1\n</execute>", "y is 43."]) as server:
        lab.set_settings(endpoint=server.base_url, model="scripted-model")
        lab.write_notebook("shared.ipynb", [new_code_cell("base = 1"), new_code_cell("# the end")])
        open_shared(lab, page, "shared.ipynb")
        second = browser.new_context(viewport={"width": 1440, "height": 900})
        other = second.new_page()
        try:
            open_shared(lab, other, "shared.ipynb")
            # A panel task from the first window, then one from the second.
            for window, task, answered in ((page, "compute x", "x is 42."), (other, "and y", "y is 43.")):
                window.evaluate("() => { const n = window.jupyterapp.shell.currentWidget.content;"
                                " n.activeCellIndex = n.model.cells.length - 2; }")
                window.locator('.lm-TabBar-tab[data-id="codeact-panel"]').click()
                window.locator(".jp-codeact-taskInput").fill(task)
                window.locator(".jp-codeact-send").click()
                window.locator('.jp-codeact-run[data-status="answered"]').wait_for(timeout=60_000)
                lab.wait_idle(window)
                for view in (page, other):  # the shared document reaches both windows
                    view.wait_for_function(
                        "text => window.jupyterapp.shell.currentWidget.content.model.toJSON().cells"
                        ".some(c => [].concat(c.source).join('') === text)", arg=answered, timeout=30_000)
            mine, theirs = sources(lab, page), sources(lab, other)
            assert mine == theirs
            first, later = mine[1][1], mine[3][1]
            assert [s for s, _ in mine] == ["base = 1", "x = 6 * 7", "x is 42.", "y = x + 1", "y is 43.", "# the end"]
            assert first and later and first != later
            assert [r for _, r in mine] == [None, first, first, later, later, None]
            lab.screenshot(page, "collaboration-first-window.png")
            lab.screenshot(other, "collaboration-second-window.png")
        finally:
            second.close()
