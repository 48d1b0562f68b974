"""The real-model tier: real quantized GGUF files that packages ship (tests/real_models.py),
in real kernels and through the model host, with default settings on this machine's CPU.

These models answer badly; the tests check what the software does with real files: that a
task runs to its end and the kernel lives, that prompts follow the file's template byte for
byte, that settings take effect, that a Stop or a dead model process costs nothing."""
from __future__ import annotations

import os
import re
import signal
import time

import jinja2
import pytest
import real_models
from gguf import GGUFReader
from kernels import run_cell, run_json, running_kernel

from codeact_jupyter.backends import BackendConfig
from codeact_jupyter.backends.llama.chat_templates import resolve_setting
from codeact_jupyter.backends.llama.backend import LlamaBackend, unload
from codeact_jupyter.backends.llama.engine import LlamaEngine
from codeact_jupyter.backends.llama.host import current_host

# Lines llama.cpp writes while loading and decoding: none may reach a cell.
LLAMA_LOG = re.compile(r"llama_|load_tensors|llm_load|ggml_|print_info|sched_reserve|"
                       r"model buffer size|llama_perf")
MESSAGES = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the capital of France?"}]
REPORT = ("import json, codeact_jupyter\nr = codeact_jupyter.last_run()\n"
          "print(json.dumps({'done': r.done_reason, 'error': r.error, 'backend': r.backend,"
          " 'steps': [s.status for s in r.steps], 'replies': r.replies(),"
          " 'stats': [[t.prompt_tokens, t.evaluated_tokens, t.finish_reason] for t in r.stats]}))")


@pytest.fixture(scope="module")
def files():
    return {"smollm2": real_models.smollm2(), "gemma": real_models.gemma3()}


@pytest.fixture(autouse=True)
def fresh_host():
    unload()
    yield
    unload()


def file_template(path) -> str:
    """The chat template as the GGUF file stores it, read with the gguf package (not ours)."""
    field = GGUFReader(path).fields["tokenizer.chat_template"]
    return bytes(field.parts[field.data[0]]).decode("utf-8")


@pytest.mark.parametrize("name, template", [("smollm2", "from the file"), ("gemma", "gemma (guessed)")])
def test_a_task_runs_to_its_end_with_default_settings(files, name, template, tmp_path):
    with running_kernel(CODEACT_LOG_DIR=str(tmp_path)) as (km, kc):
        run_cell(kc, "%load_ext codeact_jupyter\ndata = [3, 1, 2]\n"
                     "%config CodeActMagics.max_tokens = 48")
        reply, shown = run_cell(kc, f"%%codeact --model {files[name]} --max-turns 2\n"
                                    "sort the list data")
        assert reply["status"] == "ok", shown
        run = run_json(kc, REPORT)
        assert run["error"] is None and run["done"] in {"answered", "turn_limit"}, run
        assert f"template: {template}" in run["backend"] and "CPU" in run["backend"]
        assert not LLAMA_LOG.search(shown), shown  # llama.cpp's lines went to the log file
        assert run_json(kc, "import json; print(json.dumps({'data': data}))") == {"data": [3, 1, 2]}
        log = "".join(p.read_text(errors="replace") for p in tmp_path.glob("model-host-*.log"))
        assert "load_tensors" in log
        # The extra CPU buffer types that crash llama.cpp on Xeons with AMX are off.
        assert not re.search(r"(AMX|REPACK) model buffer size", log), log


def test_the_extra_buffer_setting_takes_effect(files):
    """Off by default (above); on request llama.cpp repacks weights where this CPU can."""
    backend = LlamaBackend(BackendConfig(model=str(files["gemma"]), max_tokens=4,
                                         extras={"cpu_extra_buffers": True}))
    "".join(backend.stream(MESSAGES, []))
    log = open(current_host().log_path, errors="replace").read()
    system = re.search(r"CPU : .*", log).group(0)
    if "REPACK = 1" in system or "AMX" in system:
        assert re.search(r"(AMX|REPACK) model buffer size", log)
    assert backend.last_usage.generated_tokens == 4


def test_the_prompt_is_the_files_own_template_rendered_with_jinja2(files):
    engine = LlamaEngine(BackendConfig(model=str(files["smollm2"])))
    messages = MESSAGES + [{"role": "assistant", "content": "Paris."},
                           {"role": "user", "content": "And of Italy?"}]
    expected = jinja2.Environment().from_string(file_template(files["smollm2"])).render(
        messages=messages, add_generation_prompt=True, bos_token="<|im_start|>",
        eos_token="<|im_end|>")
    prompt = engine.prompt.render(messages)
    assert prompt.encode() == expected.encode()
    tokens = engine.prompt.tokens(prompt)
    assert engine.llm.detokenize(tokens, special=True) == expected.encode()


def test_the_chat_template_setting_takes_effect_on_a_file_without_one(files):
    path = files["gemma"]
    assert "tokenizer.chat_template" not in GGUFReader(path).fields
    guessed = LlamaEngine(BackendConfig(model=str(path)))
    assert guessed.prompt.render(MESSAGES).startswith("<bos><start_of_turn>user\nYou are a")
    assert "<end_of_turn>" in guessed.prompt.end_of_turn_stops()
    text, label = resolve_setting("chatml")
    chosen = LlamaEngine(BackendConfig(model=str(path), extras={
        "chat_template": text, "chat_template_label": label}))
    assert chosen.prompt.render(MESSAGES).startswith("<|im_start|>system\nYou are a")
    assert chosen.describe().endswith("template: chatml (setting)")
    assert "<|im_end|>" in chosen.prompt.end_of_turn_stops()


def test_end_of_turn_stops_a_real_reply(files):
    backend = LlamaBackend(BackendConfig(model=str(files["smollm2"]), max_tokens=200))
    text = "".join(backend.stream(MESSAGES, ["</execute>"]))
    usage = backend.last_usage
    assert usage.finish_reason == "stop" and usage.generated_tokens < 200
    assert "Paris" in text and "<|im_end|>" not in text and "<|im_start|>" not in text


STEP_GRAMMAR = r'''
root ::= "I will compute it.\n<execute>\nprint(" digits " + " digits ")\n</execute>"
digits ::= [1-9] [0-9]?
'''


def test_a_grammar_constrained_real_reply_parses_into_a_step_that_runs(files, tmp_path):
    grammar = tmp_path / "step.gbnf"
    grammar.write_text(STEP_GRAMMAR)
    with running_kernel() as (km, kc):
        run_cell(kc, "%load_ext codeact_jupyter\n%config CodeActMagics.max_tokens = 64")
        # The packaged grammar (--grammar): a step or a plain answer, never a broken format.
        reply, shown = run_cell(kc, f"%%codeact --model {files['smollm2']} --grammar "
                                    "--max-turns 1\nadd 12 and 30, in Python")
        assert reply["status"] == "ok", shown
        run = run_json(kc, REPORT)
        assert run["error"] is None and run["replies"][0].strip()
        # A grammar file that allows only a step, through the same runner the magic uses:
        # the real model's reply is a step, and it runs in the kernel.
        run_cell(kc, (
            "from codeact_jupyter.backends import BackendConfig\n"
            "from codeact_jupyter.agent.task import run_task\n"
            "from codeact_jupyter.agent.settings import TaskSettings\n"
            f"config = BackendConfig(model={str(files['smollm2'])!r}, max_tokens=64,"
            f" extras={{'grammar': {str(grammar)!r}}})\n"
            "run_task(get_ipython(), 'add two numbers', TaskSettings(backend='llama',"
            " backend_config=config, max_turns=1), sinks=[])"))
        run = run_json(kc, REPORT)
        assert run["steps"] == ["ok"], run
        assert re.fullmatch(r"I will compute it\.\n<execute>\nprint\(\d+ \+ \d+\)\n</execute>",
                            run["replies"][0]), run["replies"]


# Long by construction (1,000 characters, no end before): a reply to stop or kill midway.
LONG_GRAMMAR = ("root ::= p p p p p p p p p p\np ::= q q q q q q q q q q\n"
                "q ::= c c c c c c c c c c\nc ::= [a-z ]")


def _wait_for_streaming(kc, msg_id: str, timeout: float = 60) -> None:
    """Read iopub until the task's reply text is streaming into the cell (its first live
    update), then let it stream a moment longer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "update_display_data":
            time.sleep(1.0)
            return
    raise AssertionError("the reply never started streaming")


def _shell_reply(kc, msg_id: str) -> dict:
    while True:
        reply = kc.get_shell_msg(timeout=120)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def test_stop_during_a_real_generation_returns_at_once_and_keeps_the_cache(files):
    with running_kernel() as (km, kc):
        run_cell(kc, "%load_ext codeact_jupyter\n%config CodeActMagics.max_tokens = 4000\n"
                     f"%config CodeActMagics.grammar = {LONG_GRAMMAR!r}")
        msg_id = kc.execute(f"%%codeact --model {files['gemma']} --max-turns 1\n"
                            "write the longest story you can")
        _wait_for_streaming(kc, msg_id)
        stopped = time.monotonic()
        km.interrupt_kernel()
        reply = _shell_reply(kc, msg_id)
        waited = time.monotonic() - stopped
        assert waited < 0.5, f"control came back after {waited:.2f} s"
        assert reply["content"]["status"] in {"ok", "aborted"}
        run = run_json(kc, REPORT)
        assert run["done"] == "stopped"
        # The next turn with the same transcript reads the prompt from the host's cache. The
        # transcript keeps the stopped reply as it streamed (which the cache holds too), so
        # only the chat template's framing after it is new.
        usage = run_json(kc, (
            "import json, codeact_jupyter\n"
            "from codeact_jupyter.backends import BackendConfig, create_backend\n"
            f"b = create_backend('llama', BackendConfig(model={str(files['gemma'])!r}, max_tokens=4))\n"
            "''.join(b.stream(codeact_jupyter.last_run().messages, []))\n"
            "u = b.last_usage\n"
            "print(json.dumps({'prompt': u.prompt_tokens, 'evaluated': u.evaluated_tokens}))"))
        assert usage["prompt"] > 50 and usage["evaluated"] <= 8, usage


def test_a_model_process_killed_mid_generation_costs_no_variable(files, tmp_path):
    with running_kernel(CODEACT_LOG_DIR=str(tmp_path)) as (km, kc):
        run_cell(kc, "%load_ext codeact_jupyter\nprecious = {'rows': 1_000}\n"
                     "%config CodeActMagics.max_tokens = 4000\n"
                     f"%config CodeActMagics.grammar = {LONG_GRAMMAR!r}")
        msg_id = kc.execute(f"%%codeact --model {files['gemma']} --max-turns 1\n"
                            "write the longest story you can")
        _wait_for_streaming(kc, msg_id)
        pid = run_json_pid(tmp_path)
        os.kill(pid, signal.SIGKILL)
        reply = _shell_reply(kc, msg_id)
        assert reply["content"]["status"] == "ok"
        run = run_json(kc, REPORT)
        assert run["done"] == "error"
        assert "killed (SIGKILL)" in run["error"] and "untouched" in run["error"]
        assert run_json(kc, "import json; print(json.dumps(precious))") == {"rows": 1000}
        run_cell(kc, "%config CodeActMagics.max_tokens = 64\n%config CodeActMagics.grammar = False")
        reply, shown = run_cell(kc, f"%%codeact --model {files['smollm2']} --max-turns 1\n"
                                    "what is 2 + 2?")
        assert reply["status"] == "ok"
        assert run_json(kc, REPORT)["error"] is None  # a fresh host answered


def run_json_pid(folder) -> int:
    for log in folder.glob("model-host-*.log"):
        found = re.findall(r"started, pid (\d+)", log.read_text(errors="replace"))
        if found:
            return int(found[-1])
    raise AssertionError("no model host started")


@pytest.fixture
def llama_server(files):
    """``python -m llama_cpp.server`` (a real OpenAI-compatible server we did not write)
    serving SmolLM2 on 127.0.0.1."""
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(files["smollm2"]),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise AssertionError("llama_cpp.server did not start") from None
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=10)


def test_a_reply_cut_by_a_real_servers_token_limit_is_reported_as_cut(llama_server):
    from codeact_jupyter.backends.openai.backend import OpenAIBackend

    backend = OpenAIBackend(BackendConfig(base_url=llama_server, model="smollm2", api_key="none",
                                          max_tokens=5, request_timeout=60))
    text = "".join(backend.stream([{"role": "user", "content": "Tell me a long story."}], []))
    assert text and backend.last_usage.finish_reason == "length"
    backend = OpenAIBackend(BackendConfig(base_url=llama_server, model="smollm2", api_key="none",
                                          max_tokens=200, request_timeout=60))
    "".join(backend.stream(MESSAGES, []))
    assert backend.last_usage.finish_reason == "stop"


# A reasoning model's shape, forced on a real model: a draft step inside the thinking (it
# must never run), then the real step.
THINK_GRAMMAR = r'''
root ::= "<think>A draft: <execute>\nimport os; os.remove('keep.txt')\n</execute> No, just add.</think>\n<execute>\nadded = " digits " + " digits "\n</execute>"
digits ::= [1-9] [0-9]?
'''
TOOL_GRAMMAR = r'''
root ::= "I will add.\n<tool_call>\n{\"name\": \"python\", \"arguments\": {\"code\": \"called = " digits " + " digits "\"}}\n</tool_call>"
digits ::= [1-9] [0-9]?
'''


def test_a_real_models_think_block_never_runs_and_its_tool_call_does(files, ip, tmp_path):
    from codeact_jupyter.agent.settings import TaskSettings
    from codeact_jupyter.agent.task import run_task
    from codeact_jupyter.events import Notice, Thinking

    (tmp_path / "keep.txt").write_text("precious")
    ip.run_cell(f"import os; os.chdir({str(tmp_path)!r})")
    events = []
    config = BackendConfig(model=str(files["smollm2"]), max_tokens=96, extras={"grammar": THINK_GRAMMAR})
    run = run_task(ip, "add two numbers", TaskSettings(backend="llama", backend_config=config,
                                                       max_turns=1), [events.append])
    assert (tmp_path / "keep.txt").read_text() == "precious"
    assert [s.status for s in run.steps] == ["ok"] and isinstance(ip.user_ns["added"], int)
    assert "os.remove" in run.thinking[0]["text"] and "os.remove" not in run.messages[2]["content"]
    assert any(isinstance(e, Thinking) for e in events)
    # llama.cpp stopped at the draft's </execute>; the reply was asked for again without it.
    assert any(isinstance(e, Notice) and "without that stop string" in e.text for e in events)

    config = BackendConfig(model=str(files["smollm2"]), max_tokens=96,
                           extras={"grammar": TOOL_GRAMMAR, "actions": "tools"})
    run = run_task(ip, "add two numbers", TaskSettings(backend="llama", backend_config=config,
                                                       max_turns=1, actions="tools"), [])
    assert [s.status for s in run.steps] == ["ok"] and isinstance(ip.user_ns["called"], int)
    assert run.messages[3]["content"].startswith("<tool_response>\n")
