"""The JupyterLab extension in a real browser: steps of `%%codeact` become notebook cells, and
the side panel runs, streams, confirms and stops tasks. Scripted (replay) model, real
kernel, real JupyterLab, headless Chromium. Screenshots go to test-artifacts/."""
from __future__ import annotations

import time

import pytest
from chat_server import ChatServer
from nbformat.v4 import new_code_cell, new_markdown_cell
from playwright.sync_api import expect

TWO_STEPS = ["Let me compute.\n<execute>\nx = 6*7\nprint(x)\n</execute>",
             "Now one more.\n<execute>\ny = x + 1\ny\n</execute>",
             "The answer is **42**."]

PANEL = ".jp-codeact-panel"


@pytest.fixture
def chat_server():
    with ChatServer(chunk_size=4, chunk_delay=0.04) as server:
        yield server


def mark(cell: dict) -> dict:
    return cell["metadata"].get("codeact", {})


def text(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def open_panel(page) -> None:
    page.locator('.lm-TabBar-tab[data-id="codeact-panel"]').click()
    page.locator(PANEL).wait_for(state="visible")


def send_task(page, task: str) -> None:
    page.locator(".jp-codeact-taskInput").fill(task)
    page.locator(".jp-codeact-send").click()


def assert_step_cell(cell: dict, run_id: str, step: int, source: str, status: str = "ok") -> None:
    assert cell["cell_type"] == "code"
    assert text(cell["source"]) == source
    assert {k: v for k, v in mark(cell).items() if k != "changes"} == \
        {"run_id": run_id, "step": step, "status": status}


def test_magic_steps_become_cells_below_the_task_cell(lab, page):
    replies = lab.write_replies("magic-replies.json", TWO_STEPS)
    lab.write_notebook("magic.ipynb", [
        new_markdown_cell("# Sales"),
        new_code_cell("%load_ext codeact_jupyter"),
        new_code_cell(f"%%codeact --backend replay --model {replies}\nwhat is 6*7?"),
        new_code_cell("z = 'untouched'"),
    ])
    lab.open(page, "magic.ipynb")
    before = lab.cells(page)

    lab.run_command(page, "notebook:run-all-cells")
    answer = page.locator(".jp-MarkdownCell.jp-mod-rendered", has_text="The answer is 42.")
    answer.wait_for(timeout=60_000)
    lab.wait_idle(page)

    cells = lab.cells(page)
    assert len(cells) == len(before) + 3
    # Cells that were there before are unchanged (apart from running them), in order.
    originals = [c for c in cells if not mark(c)]
    assert [(c["id"], c["cell_type"], text(c["source"])) for c in originals] == \
           [(c["id"], c["cell_type"], text(c["source"])) for c in before]
    task, step1, step2, answer_cell, last = cells[2:]
    run_id = mark(step1)["run_id"]
    assert_step_cell(step1, run_id, 1, "x = 6*7\nprint(x)")
    assert step1["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "42\n"}]
    assert_step_cell(step2, run_id, 2, "y = x + 1\ny")
    assert step2["outputs"][0]["output_type"] == "execute_result"
    assert step2["outputs"][0]["data"]["text/plain"] == "43"
    # The kernel's execution counts: the steps ran once, in the kernel, and never again.
    # (load_ext n, the task n+1, its steps n+2 and n+3, the last cell n+4.)
    counts = [c["execution_count"] for c in (cells[1], step1, step2, last)]
    assert counts == [counts[0], counts[0] + 2, counts[0] + 3, counts[0] + 4], counts
    assert answer_cell["cell_type"] == "markdown"
    assert text(answer_cell["source"]) == "The answer is **42**."
    assert mark(answer_cell) == {"run_id": run_id, "role": "answer"}
    # The answer once: in its Markdown cell; the task cell points to it.
    assert "The answer is **42**." not in str(task["outputs"])
    assert "The answer is in the Markdown cell below" in str(task["outputs"])
    # The step cells show their prompt and output in the page.
    step_cell = page.locator(".jp-CodeCell").nth(2)
    assert step_cell.locator(".jp-InputPrompt").inner_text().strip() == f"[{step1['execution_count']}]:"
    assert step_cell.locator(".jp-OutputArea-output").inner_text().strip() == "42"
    lab.screenshot(page, "magic-steps-as-cells.png")


def test_a_panel_task_streams_and_its_steps_and_answer_appear(lab, page, chat_server):
    # A live OpenAI-compatible server that streams each reply in small, paced chunks.
    thought = "Let me compute six times seven, then add one."
    chat_server.enqueue(thought + "\n<execute>\nx = 6*7\nprint(x)\n</execute>",
                        "Now one more.\n<execute>\ny = x + 1\ny\n</execute>",
                        "The answer is **42**.")
    lab.set_settings(endpoint=chat_server.base_url, model="scripted-model")
    lab.write_notebook("panel.ipynb", [
        new_markdown_cell('# Notes on the "panel" test'),
        new_code_cell("base = 40"),
        new_code_cell("print('below the steps')"),
    ])
    lab.open(page, "panel.ipynb")
    page.locator(".jp-Cell").nth(1).click()  # the active cell: steps go below it
    open_panel(page)
    empty = page.locator(".jp-codeact-empty")
    empty.wait_for()
    assert "Choose a model" in empty.inner_text()
    assert chat_server.base_url in page.locator(".jp-codeact-modelLine").inner_text()
    lab.screenshot(page, "panel-empty-state.png")
    before = lab.cells(page)

    # Record every text the panel shows while the reply streams.
    page.evaluate("""() => {
        window.__streamed = new Set();
        const panel = document.querySelector('.jp-codeact-panel');
        new MutationObserver(() => {
            for (const node of panel.querySelectorAll('.jp-codeact-text')) {
                window.__streamed.add(node.textContent);
            }
        }).observe(panel, { subtree: true, childList: true, characterData: true });
    }""")
    send_task(page, "what is 6*7?")
    run = page.locator('.jp-codeact-run[data-status="answered"]')
    run.wait_for(timeout=60_000)
    lab.wait_idle(page)

    streamed = page.evaluate("() => [...window.__streamed]")
    partial = [s for s in streamed if s and thought.startswith(s) and len(s) < len(thought)]
    assert partial, f"no partial reply was shown while streaming: {streamed}"
    assert run.locator(".jp-codeact-task").inner_text() == "what is 6*7?"
    assert run.locator(".jp-codeact-step").count() == 2
    assert run.locator('.jp-codeact-step[data-step="1"] .jp-codeact-code').inner_text() == "x = 6*7\nprint(x)"
    assert "42" in run.locator('.jp-codeact-step[data-step="1"] .jp-codeact-observation').inner_text()
    assert run.locator(".jp-codeact-answer").inner_text().strip() == "The answer is 42."
    assert run.locator(".jp-codeact-answer strong").inner_text() == "42"  # rendered Markdown

    cells = lab.cells(page)
    assert [c["id"] for c in cells if not mark(c)] == [c["id"] for c in before]
    step1, step2, answer_cell = cells[2:5]
    run_id = mark(step1)["run_id"]
    assert run.get_attribute("data-run-id") == run_id
    assert_step_cell(step1, run_id, 1, "x = 6*7\nprint(x)")
    assert step1["outputs"][0]["text"] == "42\n"
    assert_step_cell(step2, run_id, 2, "y = x + 1\ny")
    assert text(answer_cell["source"]) == "The answer is **42**."
    assert mark(answer_cell) == {"run_id": run_id, "role": "answer"}
    assert text(cells[5]["source"]) == "print('below the steps')"
    page.locator(".jp-MarkdownCell.jp-mod-rendered", has_text="The answer is 42.").wait_for()

    # What the user sees is what the model read: the browser's notebook, Markdown included.
    seen = chat_server.requests[0]["messages"][1]["content"]
    assert '# Notes on the "panel" test' in seen
    assert "[In [ ] (active cell)]\nbase = 40" in seen
    assert seen.rstrip().endswith("Task: what is 6*7?")
    # The task is kept in the notebook's history.
    history = page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.model.getMetadata('codeact')")
    assert [(t["run_id"], t["task"], t["reason"]) for t in history["tasks"]] == \
           [(run_id, "what is 6*7?", "answered")]
    lab.screenshot(page, "panel-task-answered.png")

    # Saved and opened again: the panel lists the notebook's earlier task.
    lab.run_command(page, "docmanager:save")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    lab.open(page, "panel.ipynb")
    open_panel(page)
    earlier = page.locator(".jp-codeact-history")
    assert earlier.get_attribute("open") is not None  # open: nothing ran since the notebook opened
    assert "Earlier tasks in this notebook (1)" in earlier.locator("summary").inner_text()
    entry = earlier.locator('.jp-codeact-historyEntry[data-reason="answered"]')
    assert entry.locator(".jp-codeact-task").inner_text() == "what is 6*7?"
    assert entry.locator(".jp-codeact-historyResult strong").inner_text() == "42"
    lab.screenshot(page, "panel-history.png")


def test_stop_ends_a_long_step_cleanly(lab, page):
    replies = lab.write_replies("stop-replies.json", [
        "Sleeping now.\n<execute>\nimport time; time.sleep(60)\n</execute>",
        "Never reached.",
    ])
    lab.set_settings(backend="replay", model=str(replies))
    lab.write_notebook("stop.ipynb", [new_code_cell("before = 1")])
    lab.open(page, "stop.ipynb")
    open_panel(page)
    send_task(page, "sleep for a minute")
    page.locator('.jp-codeact-step[data-step="1"][data-status="running"]').wait_for(timeout=60_000)
    running_cell = page.locator(".jp-CodeCell").nth(1)
    assert running_cell.locator(".jp-InputPrompt").inner_text().strip() == "[*]:"
    lab.screenshot(page, "panel-stop-running.png")

    started = time.monotonic()
    page.locator(".jp-codeact-stop").click()
    run = page.locator('.jp-codeact-run[data-status="stopped"]')
    run.wait_for(timeout=30_000)
    lab.wait_idle(page)
    assert time.monotonic() - started < 30  # not the 60 s of the sleep
    assert run.locator('.jp-codeact-step[data-step="1"]').get_attribute("data-status") == "interrupted"
    assert "Stopped" in run.locator(".jp-codeact-runFooter").inner_text()
    page.locator(".jp-codeact-send").wait_for()  # the panel is ready for the next task
    step = lab.cells(page)[1]
    assert mark(step)["status"] == "interrupted"
    assert any(o.get("ename") == "KeyboardInterrupt" for o in step["outputs"])
    assert not any(text(c["source"]) == "Never reached." for c in lab.cells(page))
    # The kernel goes on, and keeps what the stopped step did before the interrupt.
    assert lab.kernel_output(page, "print(time.__name__)") == "time\n"
    lab.screenshot(page, "panel-stopped.png")


def test_confirm_mode_skip_skips_a_step(lab, page):
    replies = lab.write_replies("confirm-replies.json", [
        "<execute>\nskipped_var = 1\n</execute>",
        "<execute>\nran_var = 2\nprint(ran_var)\n</execute>",
        "Done: ran_var is 2.",
    ])
    lab.set_settings(backend="replay", model=str(replies), confirm=True)
    lab.write_notebook("confirm.ipynb", [new_code_cell("start = 0")])
    lab.open(page, "confirm.ipynb")
    open_panel(page)
    send_task(page, "two steps, one skipped")
    confirm = page.locator(".jp-codeact-confirm")
    confirm.wait_for(timeout=60_000)
    lab.screenshot(page, "panel-confirm.png")
    confirm.get_by_role("button", name="Skip").click()
    page.locator('.jp-codeact-step[data-step="1"][data-status="skipped"]').wait_for()
    page.locator('.jp-codeact-step[data-step="2"]').wait_for()
    confirm.get_by_role("button", name="Run").click()
    page.locator('.jp-codeact-run[data-status="answered"]').wait_for(timeout=60_000)
    lab.wait_idle(page)

    step1, step2, answer = lab.cells(page)[1:4]
    assert mark(step1)["status"] == "skipped"
    assert step1["outputs"] == [] and step1["execution_count"] is None
    assert mark(step2)["status"] == "ok" and step2["outputs"][0]["text"] == "2\n"
    assert text(answer["source"]) == "Done: ran_var is 2."
    assert lab.kernel_output(page, "print('skipped_var' in globals(), ran_var)") == "False 2\n"
    lab.screenshot(page, "panel-confirm-answered.png")


def test_a_backend_error_is_shown_in_the_panel(lab, page):
    lab.set_settings(backend="replay", model=str(lab.root / "missing.json"))
    lab.write_notebook("error.ipynb", [new_code_cell("a = 1")])
    lab.open(page, "error.ipynb")
    open_panel(page)
    send_task(page, "anything")
    run = page.locator('.jp-codeact-run[data-status="error"]')
    run.wait_for(timeout=60_000)
    assert "Replay file not found" in run.locator(".jp-codeact-error").inner_text()
    assert len(lab.cells(page)) == 1  # nothing inserted
    # It changed nothing: nothing to undo or verify.
    assert run.locator(".jp-codeact-undo").count() == 0 and run.locator(".jp-codeact-verify").count() == 0
    lab.screenshot(page, "panel-backend-error.png")


def test_the_panel_says_when_the_kernel_is_busy_or_missing(lab, page):
    lab.set_settings(backend="replay", model=str(lab.root / "unused.json"))
    lab.write_notebook("states.ipynb", [new_code_cell("import time\nwhile not __import__('os').path.exists('go'): time.sleep(0.05)")])
    lab.open(page, "states.ipynb")
    open_panel(page)
    page.locator(".jp-codeact-taskInput").fill("a task")
    # Enabled once the kernel is idle (the panel's first manifest request may still run).
    expect(page.locator(".jp-codeact-send")).to_be_enabled(timeout=15_000)

    lab.run_command(page, "notebook:run-cell")  # a user's cell keeps the kernel busy
    busy = page.locator('.jp-codeact-status[data-state="busy"]')
    busy.wait_for()
    assert "busy" in busy.inner_text()
    assert page.locator(".jp-codeact-send").is_disabled()
    lab.screenshot(page, "panel-kernel-busy.png")
    (lab.root / "go").touch()
    busy.wait_for(state="detached")
    # Once idle, the panel refreshes its context manifest (a short request of its own that
    # keeps the kernel busy for a moment), then Send is enabled again.
    expect(page.locator(".jp-codeact-send")).to_be_enabled(timeout=15_000)

    lab.run_command(page, "kernelmenu:shutdown")
    missing = page.locator('.jp-codeact-status[data-state="no-kernel"]')
    missing.wait_for()
    assert "no kernel" in missing.inner_text()
    assert page.locator(".jp-codeact-send").is_disabled()
    lab.screenshot(page, "panel-no-kernel.png")


def test_the_settings_reach_the_kernel_and_open_in_the_settings_editor(lab, page):
    replies = lab.write_replies("limit-replies.json", [
        "<execute>\nfirst = 1\n</execute>",
        "<execute>\nsecond = 2\n</execute>",
        "Never reached: the turn limit is 1.",
    ])
    lab.set_settings(backend="replay", model=str(replies), turnLimit=1)
    lab.write_notebook("settings.ipynb", [new_code_cell("a = 1")])
    lab.open(page, "settings.ipynb")
    open_panel(page)
    send_task(page, "two turns")
    run = page.locator('.jp-codeact-run[data-status="turn_limit"]')
    run.wait_for(timeout=60_000)
    assert run.locator(".jp-codeact-step").count() == 1

    # The panel's own form shows the settings; its Settings Editor button opens JupyterLab's.
    page.locator(".jp-codeact-settingsButton").click()
    form = page.locator(".jp-codeact-settings")
    assert form.locator('input[name="turnLimit"]').input_value() == "1"
    assert form.locator('select[name="backend"]').input_value() == "replay"
    form.get_by_role("button", name="Settings Editor").click()
    editor = page.locator(".jp-SettingsPanel, .jp-SettingsEditor").first
    editor.get_by_text("Turn limit", exact=True).wait_for()
    for title in ("Backend", "Model", "Endpoint (base URL)", "Confirm each step"):
        assert editor.get_by_text(title, exact=True).count() >= 1
    lab.screenshot(page, "settings-editor.png")
