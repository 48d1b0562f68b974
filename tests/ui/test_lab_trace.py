"""Provenance in a real JupyterLab: the run's trace lands in the notebook's metadata (task
cell for %%codeact, notebook for the panel) and is saved with it; the panel's Verify
button re-runs the notebook in a fresh kernel and shows the report. Scripted (replay)
model, real kernel, headless Chromium. Screenshots go to test-artifacts/."""
from __future__ import annotations

from nbformat.v4 import new_code_cell

from test_lab_ui import PANEL, mark, open_panel, send_task

STEPS = ["Let me compute.\n<execute>\nx = 6*7\nprint(x)\n</execute>", "The answer is **42**."]


def test_a_magic_runs_trace_lands_in_the_task_cells_metadata_and_is_saved(lab, page):
    replies = lab.write_replies("trace-replies.json", STEPS)
    lab.write_notebook("traced.ipynb", [
        new_code_cell("%load_ext codeact_jupyter\napi_key = 'sk-proj-Qw7Er9Ty2Ui4Op6As8Df0Gh1'"),
        new_code_cell(f"%%codeact --backend replay --model {replies}\nwhat is 6*7?"),
    ])
    lab.open(page, "traced.ipynb")
    lab.run_command(page, "notebook:run-all-cells")
    page.locator(".jp-MarkdownCell.jp-mod-rendered", has_text="The answer is 42.").wait_for(timeout=60_000)
    lab.wait_idle(page)
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.model.cells.get(1).getMetadata('codeact_trace')",
        timeout=30_000)

    saved = lab.saved_notebook(page, "traced.ipynb")
    task, step = saved["cells"][1], saved["cells"][2]
    trace = task["metadata"]["codeact_trace"]
    assert trace["version"] == 2 and trace["run_id"] == mark(step)["run_id"]
    assert [s["code"] for s in trace["steps"]] == ["x = 6*7\nprint(x)"]
    assert trace["answer"] == "The answer is **42**."
    assert "sk-proj-Qw7Er9Ty2Ui4Op6As8Df0Gh1" not in str(trace)
    # Lean: the long texts it sent are in the notebook's table, once, and read back whole.
    assert "sk-proj-Qw7Er9Ty2Ui4Op6As8Df0Gh1" not in str(saved["metadata"]["codeact_texts"])
    from codeact_jupyter.trace.stored import traces_in
    whole = traces_in(saved)[0].trace
    assert whole["messages"][0]["role"] == "system" and "Jupyter" in whole["messages"][0]["content"]
    # The extension keeps it in the metadata, so the task cell has no trace output.
    assert not any("application/vnd.codeact.trace+json" in o.get("data", {}) for o in task["outputs"])
    # The kernel knows its notebook (__session__): `#RUN_ID` finds the saved run there.
    found = lab.kernel_output(
        page, "from codeact_jupyter.trace.stored import resolve_reference\n"
              f"print(resolve_reference('#{trace['run_id']}', get_ipython().user_ns)[1])")
    assert found == f"traced.ipynb#{trace['run_id']}\n"


def test_a_panel_run_is_kept_in_the_notebook_and_verify_reports_hidden_state(lab, page):
    replies = lab.write_replies("verify-replies.json", [
        "<execute>\ntotal = base + 22\nprint(total)\n</execute>", "The total is 42."])
    lab.set_settings(backend="replay", model=str(replies))
    lab.write_notebook("verified.ipynb", [new_code_cell("base = 20")])
    lab.open(page, "verified.ipynb")
    lab.run_command(page, "notebook:run-all-cells")
    lab.wait_idle(page)
    open_panel(page)
    send_task(page, "add 22 to base")
    run = page.locator(f'{PANEL} .jp-codeact-run[data-status="answered"]')
    run.wait_for(timeout=60_000)
    lab.wait_idle(page)
    page.wait_for_function(
        "() => (window.jupyterapp.shell.currentWidget.content.model.getMetadata('codeact_traces') || []).length === 1",
        timeout=30_000)
    saved = lab.saved_notebook(page, "verified.ipynb")
    [trace] = saved["metadata"]["codeact_traces"]
    assert trace["run_id"] == mark(saved["cells"][1])["run_id"]
    assert trace["task"] == "add 22 to base"

    # As it is, the notebook reproduces.
    run.locator(".jp-codeact-verifyButton").click()
    report = run.locator(".jp-codeact-verifyReport")
    report.filter(has_text="Everything reproduces.").wait_for(timeout=120_000)
    assert "2 code cells run in a fresh kernel." in report.inner_text()
    lab.screenshot(page, "panel-verify-clean.png")

    # The user deletes the cell that defined base: the step only worked thanks to it.
    page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.deleteCell(0)")
    run.locator(".jp-codeact-verifyButton").click()
    report.filter(has_text="cells reproduce.").wait_for(timeout=120_000)
    shown = report.inner_text()
    assert "FAILS  cell 1 (step 1 of run" in shown
    assert "NameError: name 'base' is not defined" in shown
    assert "uses `base`, which no cell above defines" in shown
    # The live kernel is untouched.
    assert lab.kernel_output(page, "print(base, total)") == "20 42\n"
    lab.screenshot(page, "panel-verify-hidden-state.png")
