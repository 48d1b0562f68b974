"""The side panel's context manifest in a real browser: collapsed to one summary line, open
it lists each cell, output and variable; what the user unticks, and a cell tagged
codeact-private, never reaches the model (the test chat server records every request body)."""
from __future__ import annotations

import json

from chat_server import ChatServer
from nbformat.v4 import new_code_cell, new_output

MANIFEST = ".jp-codeact-manifest"


def part(page, key: str):
    return page.locator(f'.jp-codeact-manifestPart[data-key="{key}"] input')


def wait_read(page) -> str:
    """The summary once the kernel has answered (no request under way)."""
    page.wait_for_function(
        """() => {
            const m = document.querySelector('.jp-codeact-manifest');
            return m && m.dataset.loading === 'false'
                && m.querySelector('.jp-codeact-manifestSummary').textContent.includes('Context: ')
                && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle';
        }""", timeout=60_000)
    return page.locator(".jp-codeact-manifestSummary").inner_text()


def test_unticked_parts_and_private_cells_never_reach_the_model(lab, page):
    report = new_code_cell("print('report')", execution_count=2,
                           outputs=[new_output("stream", name="stdout", text="UNTICKED_OUTPUT\n")])
    private = new_code_cell("TAGGED_SECRET = 3", metadata={"tags": ["codeact-private"]}, execution_count=4,
                            outputs=[new_output("stream", name="stdout", text="TAGGED_OUTPUT\n")])
    lab.write_notebook("manifest.ipynb", [
        new_code_cell("kept_source = 1", execution_count=1),
        report,
        new_code_cell("UNTICKED_SOURCE = 2", execution_count=3),
        private,
    ])
    with ChatServer(["Seen."]) as server:
        lab.set_settings(endpoint=server.base_url, model="scripted-model")
        lab.open(page, "manifest.ipynb")
        lab.kernel_output(page, "visible_var = 5\nhidden_var = 6\n")
        ids = [cell["id"] for cell in lab.cells(page)]
        page.locator('.lm-TabBar-tab[data-id="codeact-panel"]').click()
        page.locator(MANIFEST).wait_for(state="visible")
        page.locator(".jp-codeact-manifestRefresh").click()  # the variables defined above
        summary = wait_read(page)
        # Collapsed by default: one line; the tagged cell is not counted.
        assert summary.startswith("▸ Context: 3 cells, 2 variables, ") and summary.endswith("0 secrets withheld")
        assert page.locator(".jp-codeact-manifestPart").count() == 0

        page.locator(".jp-codeact-manifestSummary").click()
        assert part(page, f"cell:{ids[3]}").is_disabled()  # private: cannot be ticked in
        assert not part(page, f"cell:{ids[3]}").is_checked()
        lab.screenshot(page, "panel-manifest-open.png")
        for key in (f"cell:{ids[2]}", f"cell:{ids[1]}:output", "var:hidden_var"):
            part(page, key).uncheck()
            wait_read(page)
        summary = wait_read(page)
        assert summary.startswith("▾ Context: 2 cells, 1 variable, "), summary
        for key in (f"cell:{ids[2]}", f"cell:{ids[1]}:output", "var:hidden_var"):
            assert not part(page, key).is_checked()
        assert part(page, f"cell:{ids[0]}").is_checked()
        lab.screenshot(page, "panel-manifest-unticked.png")

        page.locator(".jp-codeact-taskInput").fill("what is here?")
        page.locator(".jp-codeact-send").click()
        page.locator('.jp-codeact-run[data-status="answered"]').wait_for(timeout=60_000)
        sent = json.dumps(server.requests)
    assert len(server.requests) == 1
    assert "kept_source = 1" in sent and "print('report')" in sent and "visible_var" in sent
    for left_out in ("UNTICKED_SOURCE", "UNTICKED_OUTPUT", "hidden_var", "TAGGED_SECRET", "TAGGED_OUTPUT"):
        assert left_out not in sent, left_out
