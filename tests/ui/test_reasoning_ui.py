"""A reasoning model in the side panel: its thinking is shown collapsed with its length, its
draft never runs, and the answer holds none of it. Real JupyterLab, headless Chromium, a
scripted OpenAI-compatible server."""
from __future__ import annotations

from chat_server import ChatServer, Reply
from nbformat.v4 import new_code_cell


def test_the_panel_shows_thinking_collapsed_and_runs_only_the_real_step(lab, page):
    """With the panel's Actions setting at tools, for good measure: <execute> still runs."""
    draft = "A draft: ```python\nimport os; os.remove('notes.txt')\n``` no, simpler."
    with ChatServer([Reply("<execute>\nx = 6*7\nprint(x)\n</execute>", reasoning=draft),
                     "<think>x is 42, so I say so.</think>\n\nThe answer is **42**."],
                    chunk_size=8) as server:
        lab.set_settings(endpoint=server.base_url, model="served-model", actions="tools")
        (lab.root / "notes.txt").write_text("keep")
        lab.write_notebook("thinking.ipynb", [new_code_cell("base = 40")])
        lab.open(page, "thinking.ipynb")
        page.locator(".jp-Cell").nth(0).click()
        page.locator('.lm-TabBar-tab[data-id="codeact-panel"]').click()
        page.locator(".jp-codeact-taskInput").fill("what is 6*7?")
        page.locator(".jp-codeact-send").click()
        run = page.locator('.jp-codeact-run[data-status="answered"]')
        run.wait_for(timeout=60_000)
        lab.wait_idle(page)

    thinking = run.locator(".jp-codeact-thinking")
    assert thinking.count() == 2
    assert thinking.nth(0).locator("summary").inner_text().strip() == \
        f"Thinking ({len(draft):,} characters; never run)"
    assert thinking.nth(0).get_attribute("open") is None  # collapsed until clicked
    assert not thinking.nth(0).locator("pre").is_visible()
    thinking.nth(0).locator("summary").click()
    assert thinking.nth(0).locator("pre").inner_text() == draft
    assert run.locator(".jp-codeact-step").count() == 1
    assert run.locator(".jp-codeact-answer").inner_text().strip() == "The answer is 42."
    assert "<think>" not in run.inner_text() and "so I say so" not in run.locator(".jp-codeact-answer").inner_text()
    assert (lab.root / "notes.txt").read_text() == "keep"
    # The panel's Actions setting reached the kernel: the python tool was declared.
    assert server.requests[0]["tools"][0]["function"]["name"] == "python"
    lab.screenshot(page, "panel-thinking.png")
