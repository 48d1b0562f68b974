"""Secrets in a real kernel never reach the model: the bytes an OpenAI-compatible server on
127.0.0.1 received (tests/chat_server.py records every request body) are checked, and so is
what we store (last_run().messages, a saved replay, what the side panel is sent)."""
import json
import re

import pytest
from jupyter_client.manager import start_new_kernel

from chat_server import ChatServer

BACKEND_KEY = "sk-proj-Zq3Xv9LmN2bT7yR4kW8pA1sD6fG0hJ5c"  # fake, in the real format
SERVICE_TOKEN = "svc-Tok-8842-xyz"


@pytest.fixture(scope="module")
def kernel():
    import os
    env = {**os.environ, "OPENAI_API_KEY": BACKEND_KEY, "MY_SERVICE_TOKEN": SERVICE_TOKEN}
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    kc.execute_interactive("%load_ext codeact_jupyter", timeout=60)
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def execute(kc, code, timeout=120):
    """Run a cell like a front end; returns (status, everything shown, iopub messages)."""
    messages = []
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=messages.append)
    shown = []
    for msg in messages:
        content = msg["content"]
        data = content.get("data") or {}
        shown.append(content.get("text") or data.get("text/markdown") or data.get("text/plain", "")
                     if isinstance(data, dict) else "")
        if msg["msg_type"] == "error":
            shown.append("\n".join(content["traceback"]))
    return reply["content"]["status"], "".join(s for s in shown if isinstance(s, str)), messages


def last_run(kc) -> dict:
    status, text, _ = execute(kc, "import codeact_jupyter as _c, json as _j\n_r = _c.last_run()\n"
                                  "print(_j.dumps({'messages': _r.messages, 'task': _r.task, "
                                  "'counts': _r.redacted_counts(), 'observations': [s.observation for s in _r.steps]}))")
    assert status == "ok", text
    return json.loads(text.strip().splitlines()[-1])


def test_secrets_from_cells_files_dicts_dataframes_env_and_steps_never_reach_the_server(kernel, tmp_path):
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(json.dumps({"service_token": "file-token-789", "db_password": "file-pass-42"}))
    cells = [
        'api_key = "sk-SECRET-456"\npassword = "hunter2"\npasswd = "ab"',
        f"import json, os\nglobals().update(json.load(open({str(secrets_file)!r})))\n"
        f"settings = json.load(open({str(secrets_file)!r}))",
        'config = {"db": {"password": "dict-pass-77"}, "host": "db.local"}',
        'import pandas as pd\nusers = pd.DataFrame({"user": ["ann"], "password": ["df-pass-55"], '
        '"key": ["alpha"], "sha1": ["86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"]})\nusers',
        'k = os.environ["OPENAI_API_KEY"]\nenv = dict(os.environ)',
    ]
    for cell in cells:
        status, text, _ = execute(kernel, cell)
        assert status == "ok", text
    step = ("print(api_key, password, settings, config)\nprint(users.to_string())\n"
            "print(k, env['MY_SERVICE_TOKEN'], service_token)")
    with ChatServer([f"Let me look.\n<execute>\n{step}\n</execute>", "All printed."]) as server:
        status, shown, _ = execute(kernel, f"%%codeact --base-url {server.base_url} --model m print the settings\n")
    assert status == "ok", shown
    sent = json.dumps(server.requests)
    assert len(server.requests) == 2
    for secret in ("sk-SECRET-456", "hunter2", "file-token-789", "file-pass-42", "dict-pass-77",
                   "df-pass-55", BACKEND_KEY, SERVICE_TOKEN):
        assert secret not in sent, secret
    first = server.requests[0]["messages"][1]["content"]
    # The model still knows the variables by name, and what each held.
    assert 'api_key = "[redacted: value of api_key]"' in first
    assert 'passwd = "[redacted: value of passwd]"' in first
    assert "password: str = [redacted: value of password]" in first
    assert "passwd: str = [redacted: value of passwd]" in first
    # A harmless column named key, hashes and ordinary values are left as they are.
    assert "key (" in first and "alpha" in first and "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8" in first
    assert "db.local" in first
    observation = server.requests[1]["messages"][3]["content"]
    assert "[redacted: value of api_key] [redacted: value of password]" in observation
    assert "[redacted: value of users['password']]" in observation
    assert "[redacted: the backend's API key]" in observation or \
        "[redacted: value of environment variable OPENAI_API_KEY]" in observation
    assert "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8" in observation and "ann" in observation
    # The user sees the step's own output, and how many values were withheld, never which.
    assert "hunter2" in shown
    assert "secret values were withheld from the model." in shown
    record = last_run(kernel)
    assert record["messages"][:4] == server.requests[1]["messages"]
    assert not any(s in json.dumps(record) for s in ("sk-SECRET-456", "hunter2", BACKEND_KEY, "df-pass-55"))
    assert record["counts"]["value of api_key"] == 1


def test_a_secret_typed_in_the_task_is_not_sent_nor_saved(kernel, tmp_path):
    replay_path = tmp_path / "replay.json"
    with ChatServer(["Done, I will not use it."]) as server:
        status, shown, _ = execute(kernel, f"%%codeact --base-url {server.base_url} --model m\n"
                                           f'log in with password = "letmein-77" and the key {BACKEND_KEY[:-2]}xy\n')
        assert status == "ok", shown
    sent = json.dumps(server.requests)
    assert "letmein-77" not in sent and BACKEND_KEY[:-2] not in sent
    task_text = server.requests[0]["messages"][1]["content"]
    assert 'password = "[redacted: value of password]" and the key [redacted: OpenAI key]' in task_text
    status, text, _ = execute(kernel, f"import codeact_jupyter\ncodeact_jupyter.last_run().save_replay({str(replay_path)!r})")
    assert status == "ok", text
    saved = replay_path.read_text()
    assert "letmein-77" not in saved and BACKEND_KEY[:-2] not in saved
    assert "[redacted: value of password]" in json.loads(saved)["task"]
    assert re.search(r"\[\d+ secret values were withheld from the model.\]", shown)


def test_the_panels_notebook_document_and_events_hold_no_secret_nor_base64(kernel):
    png = "iVBORw0KGgo" + "Qm9yZWQ1" * 3000
    notebook = {"cells": [
        {"cell_type": "code", "source": 'db_url = "postgresql://admin:pan-el-pw-1@db/x"\n'
                                        'gh = "ghp_Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2"',
         "execution_count": 1, "outputs": []},
        {"cell_type": "code", "source": "plot()", "execution_count": 2,
         "outputs": [{"output_type": "display_data", "metadata": {},
                      "data": {"image/png": png, "text/plain": "<Figure size 640x480>"}}]},
    ], "active_cell": 1}
    with ChatServer(["Seen."]) as server:
        request = {"task": "what is in the notebook?", "notebook": notebook,
                   "settings": {"backend": "openai", "base_url": server.base_url, "model": "m"}}
        code = ("__import__('codeact_jupyter.panel', fromlist=['_']).run_panel_task("
                + json.dumps(json.dumps(request)) + ")")
        status, shown, messages = execute(kernel, code)
    assert status == "ok", shown
    sent = json.dumps(server.requests)
    assert "pan-el-pw-1" not in sent and "ghp_Ab1Cd2" not in sent and png[:40] not in sent
    first = server.requests[0]["messages"][1]["content"]
    assert "postgresql://admin:[redacted: password in a URL]@db/x" in first
    assert "[image/png image, 17.6 KB, shown to the user: <Figure size 640x480>]" in first
    events = json.dumps([m["content"] for m in messages if m["msg_type"].startswith("comm")])
    assert "task_started" in events and "secret value" in events
    assert "pan-el-pw-1" not in events and "ghp_Ab1Cd2" not in events


def panel_call(function: str, request: dict) -> str:
    return (f"__import__('codeact_jupyter.panel', fromlist=['_']).{function}("
            + json.dumps(json.dumps(request)) + ")")


def test_private_cells_and_context_none_send_nothing_of_the_notebook(kernel):
    for cell in ("# codeact: private\nvault_pin = 'PIN-PRIVATE-8812'\nprint('PRINTED-PRIVATE')",
                 "shared_total = 777\nshared_total"):
        status, text, _ = execute(kernel, cell)
        assert status == "ok", text
    with ChatServer(["Seen.", "Seen again."]) as server:
        status, shown, _ = execute(kernel, f"%codeact --base-url {server.base_url} --model m look")
        assert status == "ok", shown
        status, shown, _ = execute(kernel, f"%codeact --context none --base-url {server.base_url} --model m again")
        assert status == "ok", shown
    first, second = (json.dumps(r) for r in server.requests)
    assert "PIN-PRIVATE" not in first and "PRINTED-PRIVATE" not in first and "vault_pin" not in first
    assert "shared_total = 777" in first
    assert "777" not in second and "shared_total" not in second and "PIN-PRIVATE" not in second


def test_a_steps_outputs_are_stored_and_mirrored_without_secrets(kernel):
    status, text, _ = execute(kernel, 'bank_password = "bank-pw-9931"')
    assert status == "ok", text
    step = "print(bank_password)\nraise ValueError(bank_password)"
    with ChatServer([f"<execute>\n{step}\n</execute>", "Done."]) as server:
        request = {"task": "show it", "settings": {"backend": "openai", "base_url": server.base_url, "model": "m"}}
        status, shown, messages = execute(kernel, panel_call("run_panel_task", request))
    assert status == "ok", shown
    assert "bank-pw-9931" not in json.dumps(server.requests)
    events = json.dumps([m["content"] for m in messages if m["msg_type"].startswith("comm")])
    assert "observation" in events and "bank-pw-9931" not in events
    assert "[redacted: value of bank_password]" in events
    status, text, _ = execute(kernel, "import codeact_jupyter as _c, json as _j\n"
                                      "print(_j.dumps([s.outputs for s in _c.last_run().steps]))")
    assert status == "ok", text
    assert "bank-pw-9931" not in text and "[redacted: value of bank_password]" in text


def test_the_panels_manifest_and_unticked_parts(kernel):
    notebook = {"cells": [
        {"id": "keep-me", "cell_type": "code", "source": "kept_cell = 1", "execution_count": 1,
         "metadata": {}, "outputs": []},
        {"id": "untick-me", "cell_type": "code", "source": "UNTICKED_SOURCE = 2", "execution_count": 2,
         "metadata": {}, "outputs": []},
        {"id": "quiet-output", "cell_type": "code", "source": "report()", "execution_count": 3,
         "metadata": {}, "outputs": [{"output_type": "stream", "name": "stdout", "text": "UNTICKED_OUTPUT"}]},
        {"id": "tagged", "cell_type": "code", "source": "TAGGED_PRIVATE = 3", "execution_count": 4,
         "metadata": {"tags": ["codeact-private"]},
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "TAGGED_OUTPUT"}]},
    ], "active_cell": 0}
    status, text, _ = execute(kernel, "visible_var = 5\nhidden_var = 6")
    assert status == "ok", text
    request = {"task": "", "notebook": notebook, "settings": {}}
    status, shown, messages = execute(kernel, panel_call("context_manifest", request))
    assert status == "ok", shown
    manifest = next(m["content"]["data"]["application/vnd.codeact.manifest+json"]
                    for m in messages if m["msg_type"] == "display_data")
    assert manifest["summary"].startswith("Context: 3 cells, ")
    keys = {p["key"]: p for p in manifest["parts"]}
    assert keys["cell:tagged"]["sent"] is False and keys["cell:tagged"]["text"] == ""
    assert "TAGGED" not in json.dumps(manifest)
    assert {"cell:keep-me", "cell:untick-me", "cell:quiet-output:output", "var:hidden_var"} <= set(keys)

    request = {"task": "", "notebook": notebook, "settings": {"context": "vars"}}  # the panel setting
    status, shown, messages = execute(kernel, panel_call("context_manifest", request))
    assert status == "ok", shown
    manifest = next(m["content"]["data"]["application/vnd.codeact.manifest+json"]
                    for m in messages if m["msg_type"] == "display_data")
    assert manifest["summary"].startswith("Context: 0 cells, ")
    assert "kept_cell" not in json.dumps(manifest) and "visible_var" in json.dumps(manifest)

    with ChatServer(["Seen."]) as server:
        request = {"task": "look", "notebook": notebook, "exclude": ["cell:untick-me", "cell:quiet-output:output",
                                                                    "var:hidden_var"],
                   "settings": {"backend": "openai", "base_url": server.base_url, "model": "m"}}
        status, shown, _ = execute(kernel, panel_call("run_panel_task", request))
    assert status == "ok", shown
    sent = json.dumps(server.requests)
    assert "kept_cell = 1" in sent and "report()" in sent and "visible_var" in sent
    for left_out in ("UNTICKED_SOURCE", "UNTICKED_OUTPUT", "hidden_var", "TAGGED_PRIVATE", "TAGGED_OUTPUT"):
        assert left_out not in sent, left_out
