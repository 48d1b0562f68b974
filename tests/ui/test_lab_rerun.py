"""Re-running a notebook in JupyterLab reproduces its runs without the model (README,
"Re-running a notebook"): Restart Kernel and Run All after a run makes no request to the
test chat server and leaves one copy of each step and answer; `--again` asks again and the
new run takes the old one's place. Real kernel, real JupyterLab, headless Chromium."""
from __future__ import annotations

from chat_server import ChatServer
from nbformat.v4 import new_code_cell

STEP = "Let me compute it.\n<execute>\nx = 6 * 7\nprint(x)\n</execute>"


def mark(cell: dict) -> dict:
    return (cell.get("metadata") or {}).get("codeact") or {}


def text(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def restart_and_run_all(lab, page) -> None:
    """Kernel → Restart Kernel and Run All, accepting its dialog, and wait for the last cell."""
    page.evaluate("""() => {
        const w = window.jupyterapp.shell.currentWidget;
        w.content.widgets.forEach(c => { if (c.model.type === 'code') { c.model.executionCount = null; } });
    }""")
    lab.run_command(page, "notebook:restart-run-all")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.wait_for_function("""() => {
        const w = window.jupyterapp.shell.currentWidget;
        const cells = w.content.model.cells;
        return cells.get(cells.length - 1).executionCount !== null
            && w.sessionContext.session.kernel.status === 'idle';
    }""", timeout=60_000)


def test_restart_and_run_all_after_a_run_asks_the_model_nothing_and_keeps_one_copy(lab, page):
    with ChatServer([STEP, "It is **42**.", STEP, "Asked again: **42**."]) as server:
        lab.write_notebook("rerun.ipynb", [
            new_code_cell("%load_ext codeact_jupyter"),
            new_code_cell(f"%%codeact --base-url {server.base_url} -m scripted\nwhat is 6*7?"),
            new_code_cell("print(x + 1)"),
        ])
        lab.open(page, "rerun.ipynb")
        lab.run_command(page, "notebook:run-all-cells")
        page.locator(".jp-MarkdownCell.jp-mod-rendered", has_text="It is 42.").wait_for(timeout=60_000)
        lab.wait_idle(page)
        first = lab.cells(page)
        assert len(server.requests) == 2 and len(first) == 5

        restart_and_run_all(lab, page)
        assert len(server.requests) == 2  # the model was not asked again
        cells = lab.cells(page)
        assert [c["id"] for c in cells] == [c["id"] for c in first]  # nothing inserted
        task, step, answer, last = cells[1:]
        assert "reproduced run" in str(task["outputs"]) and "not asked again" in str(task["outputs"])
        assert step["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "42\n"}]
        assert step["execution_count"] is not None  # the step ran again, as a cell
        assert last["outputs"][0]["text"] == "43\n"
        lab.screenshot(page, "rerun-restart-and-run-all.png")
        saved = lab.saved_notebook(page, "rerun.ipynb")
        answers = [c for c in saved["cells"] if mark(c).get("role") == "answer"]
        assert [text(c["source"]) for c in answers] == ["It is **42**."]

        # Asking again: the new run replaces the old run's cells, below the task cell.
        page.evaluate("""() => {
            const model = window.jupyterapp.shell.currentWidget.content.model;
            const task = model.cells.get(1).sharedModel;
            task.setSource(task.getSource().replace('%%codeact', '%%codeact --again'));
        }""")
        page.evaluate("""() => {
            const notebook = window.jupyterapp.shell.currentWidget.content;
            notebook.activeCellIndex = 1;
            void window.jupyterapp.commands.execute('notebook:run-cell');
        }""")
        page.locator(".jp-MarkdownCell.jp-mod-rendered", has_text="Asked again").wait_for(timeout=60_000)
        lab.wait_idle(page)
        assert len(server.requests) == 4
        cells = lab.cells(page)
        assert len(cells) == 5
        assert [text(c["source"]) for c in cells[2:4]] == ["x = 6 * 7\nprint(x)", "Asked again: **42**."]
        assert mark(cells[2])["run_id"] != mark(first[2])["run_id"]


def test_a_follow_up_after_restart_and_run_all_continues_the_reproduced_run(lab, page):
    """The browser sends the task cell's own trace with its record, so the reproduced run
    is the kernel's conversation again: `-c` sends the model its recorded transcript."""
    with ChatServer([STEP, "It is **42**.", "Half of it is **21**."]) as server:
        lab.write_notebook("rerun-follow-up.ipynb", [
            new_code_cell("%load_ext codeact_jupyter"),
            new_code_cell(f"%%codeact --base-url {server.base_url} -m scripted\nwhat is 6*7?"),
        ])
        lab.open(page, "rerun-follow-up.ipynb")
        lab.run_command(page, "notebook:run-all-cells")
        page.locator(".jp-MarkdownCell.jp-mod-rendered", has_text="It is 42.").wait_for(timeout=60_000)
        lab.wait_idle(page)
        restart_and_run_all(lab, page)
        assert len(server.requests) == 2
        page.evaluate(f"""() => {{
            const notebook = window.jupyterapp.shell.currentWidget.content;
            const model = notebook.model;
            model.sharedModel.insertCell(model.cells.length, {{cell_type: 'code',
                source: '%%codeact -c --base-url {server.base_url} -m scripted\\nand half of it?'}});
            notebook.activeCellIndex = model.cells.length - 1;
            void window.jupyterapp.commands.execute('notebook:run-cell');
        }}""")
        page.locator(".jp-MarkdownCell.jp-mod-rendered", has_text="Half of it is 21.").wait_for(timeout=60_000)
        lab.wait_idle(page)
        assert len(server.requests) == 3
        sent = server.requests[2]["messages"]
        assert [m["content"] for m in sent[2:3]] == [STEP]  # the recorded reply, as the model wrote it
        assert sent[-1]["content"].rstrip().endswith("and half of it?")
