"""Conversations in JupyterLab: a panel task continues the notebook's conversation (the model
gets the earlier exchange), "New conversation" starts fresh, and a `%%codeact` cell reads the
notebook as the user sees it (printed output included). What the model got is read at the
test chat server (request bodies). Real kernel, real JupyterLab, headless Chromium."""
from __future__ import annotations

import pytest
from chat_server import ChatServer
from nbformat.v4 import new_code_cell, new_markdown_cell

from codeact_jupyter.agent.transcript_fit import FOLLOW_UP_HEADER

PANEL = ".jp-codeact-panel"


@pytest.fixture
def chat_server():
    with ChatServer() as server:
        yield server


def open_panel(page) -> None:
    page.locator('.lm-TabBar-tab[data-id="codeact-panel"]').click()
    page.locator(PANEL).wait_for(state="visible")


def send_task(lab, page, task: str, answered: int) -> None:
    page.locator(".jp-codeact-taskInput").fill(task)
    page.locator(".jp-codeact-send").click()
    page.locator('.jp-codeact-run[data-status="answered"]').nth(answered - 1).wait_for(timeout=60_000)
    lab.wait_idle(page)
    page.locator(".jp-codeact-send").wait_for()


def run_cell(page, index: int) -> None:
    """Run one cell, as a user does (select it, Shift+Enter's command), and wait until it ends."""
    page.evaluate("""i => {
        const notebook = window.jupyterapp.shell.currentWidget.content;
        notebook.activeCellIndex = i;
        notebook.widgets[i].model.executionCount = null;
        void window.jupyterapp.commands.execute('notebook:run-cell');
    }""", index)
    page.wait_for_function(
        """i => {
            const w = window.jupyterapp.shell.currentWidget;
            return w.content.model.cells.get(i).executionCount !== null
                && w.sessionContext.session.kernel.status === 'idle';
        }""", arg=index, timeout=60_000)


def test_a_panel_follow_up_continues_the_thread_and_new_conversation_starts_fresh(lab, page, chat_server):
    chat_server.enqueue("<execute>\nx = 6 * 7\nprint(x)\n</execute>", "It is 42.",
                        "Plus one is 43.", "A fresh start.")
    lab.set_settings(endpoint=chat_server.base_url, model="scripted-model")
    lab.write_notebook("thread.ipynb", [new_code_cell("base = 1")])
    lab.open(page, "thread.ipynb")
    open_panel(page)

    send_task(lab, page, "what is 6*7?", answered=1)
    send_task(lab, page, "and plus one?", answered=2)
    first, second = (request["messages"] for request in chat_server.requests[1:3])
    # The follow-up carries the whole earlier exchange, then the new task.
    assert second[: len(first)] == first
    assert second[len(first)] == {"role": "assistant", "content": "It is 42."}
    assert second[-1]["content"].startswith(FOLLOW_UP_HEADER)
    assert second[-1]["content"].endswith("Task: and plus one?")
    thread = page.locator('.jp-codeact-thread[data-current="true"]')
    assert thread.locator(".jp-codeact-run").count() == 2
    assert "Conversation · 2 tasks" in thread.locator(".jp-codeact-threadHeader").inner_text()
    lab.screenshot(page, "conversation-thread.png")
    # Unticking a part now cannot take back what the conversation sent: the manifest says so.
    page.locator(".jp-codeact-manifestSummary").click()
    note = page.locator(".jp-codeact-manifestSentStays")
    note.wait_for()
    assert "what this conversation already sent stays in it. New conversation starts without it." in \
        " ".join(note.inner_text().split())

    page.locator(".jp-codeact-newConversation").click()
    page.locator(".jp-codeact-threadNew").wait_for()
    note.wait_for(state="detached")
    send_task(lab, page, "start over", answered=3)
    fresh = chat_server.requests[3]["messages"]
    assert [m["role"] for m in fresh] == ["system", "user"]
    assert fresh[1]["content"].endswith("Task: start over")
    assert not fresh[1]["content"].startswith(FOLLOW_UP_HEADER)
    assert page.locator(".jp-codeact-thread").count() == 2
    current = page.locator('.jp-codeact-thread[data-current="true"]')
    assert current.locator(".jp-codeact-run").count() == 1
    assert current.locator(".jp-codeact-task").inner_text() == "start over"


def test_a_codeact_cell_reads_what_earlier_cells_printed(lab, page, chat_server):
    chat_server.enqueue("It printed the total.")
    lab.write_notebook("printed.ipynb", [
        new_markdown_cell("# Monthly totals"),
        new_code_cell("%load_ext codeact_jupyter"),
        new_code_cell("total = 1234 + 4321\nprint('PRINTED-TOTAL', total)"),
        new_code_cell(f"%%codeact --base-url {chat_server.base_url} --model m\nwhat did the cell print?"),
    ])
    lab.open(page, "printed.ipynb")
    for index in range(1, 4):
        run_cell(page, index)
    seen = chat_server.requests[0]["messages"][1]["content"]
    assert "PRINTED-TOTAL 5555" in seen  # printed output: only the document has it
    assert "# Monthly totals" in seen  # Markdown, as the user sees it
    assert "printed is not available" not in seen
    context, task = seen.rsplit("\n\nTask: ", 1)
    assert task == "what did the cell print?"
    assert "%%codeact" not in context  # the task's own cell is not context
