"""Settings inside the panel: its Settings button opens a form (backend as a choice list of
what the kernel can use, plugins included; model; endpoint; context; how steps run) whose
values are stored through the setting registry, so they reach the next task and the user's
settings file, in JupyterLab and in Notebook 7 (which has no Settings Editor). Real
servers, real kernels, headless Chromium, a scripted (replay) model."""
from __future__ import annotations

import json

from nbformat.v4 import new_code_cell

PLUGIN = ("from codeact_jupyter.backends import register_backend\n"
          "register_backend('my-plugin', 'codeact_jupyter.backends.replay.backend:ReplayBackend')")


def open_panel(app, page) -> None:
    if app.page_path == "lab/tree":
        page.locator('.lm-TabBar-tab[data-id="codeact-panel"]').click()
    else:  # Notebook 7: View > Right Sidebar
        page.locator(".lm-MenuBar-itemLabel", has_text="View").click()
        page.locator(".lm-Menu-item", has_text="Right Sidebar").hover()
        page.locator(".lm-Menu-item", has_text="Show CodeAct agent").click()
    page.locator(".jp-codeact-panel").wait_for(state="visible", timeout=30_000)


def choose_in_the_form(app, page, name: str, replies) -> None:
    app.write_notebook(name, [new_code_cell(PLUGIN)])
    app.open(page, name)
    app.run_command(page, "notebook:run-all-cells")
    app.wait_idle(page)
    open_panel(app, page)
    page.locator(".jp-codeact-settingsButton").click()
    form = page.locator(".jp-codeact-settings")
    backend = form.locator('select[name="backend"]')
    page.wait_for_function(  # the kernel's list, the plugin's backend included
        "() => [...document.querySelectorAll('.jp-codeact-settings select[name=backend] option')]"
        ".some(o => o.value === 'my-plugin')", timeout=30_000)
    names = backend.locator("option").evaluate_all("options => options.map(o => o.value)")
    assert {"llama", "openai", "replay", "my-plugin"} <= set(names)
    backend.select_option("replay")
    model = form.locator('input[name="model"]')
    model.fill(str(replies))
    model.press("Tab")  # saved when the field is left
    limit = form.locator('input[name="turnLimit"]')
    limit.fill("3")
    limit.press("Tab")
    page.wait_for_function(
        "() => document.querySelector('.jp-codeact-modelLine').textContent.includes('replay')",
        timeout=30_000)


def run_a_task(page) -> None:
    page.locator(".jp-codeact-taskInput").fill("what is x?")
    page.locator(".jp-codeact-send").click()
    page.locator('.jp-codeact-run[data-status="answered"]').wait_for(timeout=60_000)


def stored(app) -> dict:
    """The user's settings file. Notebook 7's server keeps it in the Jupyter config folder's
    lab/user-settings, wherever its user_settings_dir option points."""
    name = "codeact-jupyter/plugin.jupyterlab-settings"
    path = next(p for p in (app.settings_dir / name, app.root.parent / "config/lab/user-settings" / name)
                if p.exists())
    text = "\n".join(line for line in path.read_text().splitlines() if not line.strip().startswith("//"))
    return json.loads(text)


def test_the_panels_settings_form_chooses_the_backend_and_stores_it(lab, page):
    replies = lab.write_replies("form-replies.json", ["<execute>\nx = 7\n</execute>", "x is 7."])
    choose_in_the_form(lab, page, "form.ipynb", replies)
    form = page.locator(".jp-codeact-settings")
    assert form.get_by_role("button", name="Settings Editor").is_visible()
    lab.screenshot(page, "panel-settings-form.png")
    form.get_by_role("button", name="Done").click()
    run_a_task(page)
    assert page.locator(".jp-codeact-modelLine").inner_text().startswith("replay · ")
    values = stored(lab)
    assert values["backend"] == "replay" and values["model"] == str(replies) and values["turnLimit"] == 3


def test_notebook7_users_choose_the_backend_and_model_in_the_panel(notebook7, page):
    replies = notebook7.write_replies("nb7-form-replies.json", ["<execute>\nx = 7\n</execute>", "x is 7."])
    choose_in_the_form(notebook7, page, "nb7-form.ipynb", replies)
    form = page.locator(".jp-codeact-settings")
    assert form.get_by_role("button", name="Settings Editor").count() == 0  # Notebook 7 has none
    notebook7.screenshot(page, "notebook7-panel-settings.png")
    form.get_by_role("button", name="Done").click()
    run_a_task(page)
    assert stored(notebook7)["backend"] == "replay"
