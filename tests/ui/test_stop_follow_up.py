"""Stop mid-stream, then a panel follow-up, in JupyterLab: the model is sent only what it
wrote (its cut reply as it streamed), our note that the user stopped it is a user message,
no cell holds words of ours as an answer, and the stopped run counts its turn. Real
kernel, real JupyterLab, headless Chromium, the test chat server recording each request."""
from __future__ import annotations

from chat_server import ChatServer
from nbformat.v4 import new_code_cell

from codeact_jupyter.agent.conversation import STOPPED_NOTE

LONG = "Let me think about the prices first. " * 80


def test_stop_mid_stream_then_a_follow_up_sends_only_what_the_model_wrote(lab, page):
    with ChatServer([LONG, "The total is 60."], chunk_size=4, chunk_delay=0.03) as server:
        lab.set_settings(endpoint=server.base_url, model="scripted-model")
        lab.write_notebook("stopped.ipynb", [new_code_cell("prices = [10, 20, 30]")])
        lab.open(page, "stopped.ipynb")
        page.locator('.lm-TabBar-tab[data-id="codeact-panel"]').click()
        page.locator(".jp-codeact-taskInput").fill("add up the prices")
        page.locator(".jp-codeact-send").click()
        page.locator(".jp-codeact-run", has_text="Let me think about the prices first. Let me").wait_for(timeout=60_000)
        page.locator(".jp-codeact-stop").click()
        stopped = page.locator('.jp-codeact-run[data-status="stopped"]')
        stopped.wait_for(timeout=30_000)
        lab.wait_idle(page)
        assert "1 turn" in stopped.locator(".jp-codeact-runFooter").inner_text()
        lab.screenshot(page, "panel-stopped-mid-stream.png")

        page.locator(".jp-codeact-send").wait_for()
        page.locator(".jp-codeact-taskInput").fill("go on")
        page.locator(".jp-codeact-send").click()
        page.locator('.jp-codeact-run[data-status="answered"]').wait_for(timeout=60_000)
        lab.wait_idle(page)
        sent = server.requests[-1]["messages"]
    said = [m["content"] for m in sent if m["role"] == "assistant"]
    assert len(said) == 1 and said[0] and LONG.startswith(said[0])  # cut where it stopped, nothing added
    assert sent[-1]["role"] == "user" and STOPPED_NOTE in sent[-1]["content"]
    answers = [c for c in lab.cells(page) if c["cell_type"] == "markdown"]
    assert ["".join(c["source"]) for c in answers] == ["The total is 60."]
