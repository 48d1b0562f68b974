"""Which chat template a local model's prompts use, and what the user is told about it:
the setting, else the file's own, else one guessed from the vocabulary, else ChatML with a
warning. Generated GGUFs with each kind of vocabulary; the engine runs in this process."""
from __future__ import annotations

import pytest
from tiny_gguf import write_tiny_gguf

from codeact_jupyter.backends import BackendConfig, BackendError
from codeact_jupyter.backends.llama.chat_templates import KNOWN, resolve_setting
from codeact_jupyter.backends.llama.engine import LlamaEngine, unload

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gguf")
    made = {kind: write_tiny_gguf(folder / f"{kind}.gguf", chat_template=None, chat_tokens=kind)
            for kind in ("chatml", "gemma", "none")}
    yield made
    unload()


def engine(path, setting: str | None = None) -> LlamaEngine:
    extras = {}
    if setting is not None:
        extras["chat_template"], extras["chat_template_label"] = resolve_setting(setting)
    return LlamaEngine(BackendConfig(model=str(path), extras=extras))


def test_a_gemma_vocabulary_gets_the_gemma_template_and_the_user_is_told(files):
    e = engine(files["gemma"])
    assert e.describe().endswith("template: gemma (guessed)")
    assert e.prompt.render(MESSAGES) == (  # the BOS token first, as Gemma's own template does
        "<|endoftext|><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n")
    assert "<end_of_turn>" in e.prompt.end_of_turn_stops()
    assert "no chat template; using gemma, guessed from its vocabulary" in e.notices[0]
    assert "%config CodeActMagics.chat_template" in e.notices[0]


def test_a_vocabulary_without_chatml_tokens_is_warned_about(files):
    e = engine(files["none"])
    assert "template: chatml (none in the file: set chat_template)" in e.describe()
    assert "its vocabulary has no ChatML tokens" in e.notices[0]
    assert "%config CodeActMagics.chat_template = 'gemma'" in e.notices[0]


def test_a_chatml_vocabulary_is_guessed_as_chatml(files):
    e = engine(files["chatml"])
    assert e.describe().endswith("template: chatml (guessed)")
    assert e.prompt.render(MESSAGES).startswith("<|im_start|>system\nBe brief.<|im_end|>")


@pytest.mark.parametrize("setting, label, start", [
    ("chatml", "chatml (setting)", "<|im_start|>system"),
    # These two write the model's BOS token first (<|endoftext|> in this vocabulary).
    ("llama-3", "llama-3 (setting)", "<|endoftext|><|start_header_id|>system<|end_header_id|>\n\nBe"),
    ("mistral", "mistral (setting)", "<|endoftext|>[INST] Be brief.\n\nHi [/INST]"),
    ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}", "custom (setting)",
     "<system>Be brief.<user>Hi"),
])
def test_the_setting_takes_effect(files, setting, label, start):
    e = engine(files["gemma"], setting)
    assert e.describe().endswith(f"template: {label}") and not e.notices
    assert e.prompt.render(MESSAGES).startswith(start)


def test_a_template_file(files, tmp_path):
    path = tmp_path / "mine.jinja"
    path.write_text(KNOWN["gemma"])
    e = engine(files["none"], str(path))
    assert e.describe().endswith("template: mine.jinja (setting)")
    assert "<start_of_turn>user" in e.prompt.render(MESSAGES)


@pytest.mark.parametrize("setting, message", [
    ("chatgpt", "Unknown chat template 'chatgpt': use one of chatml, gemma, llama-3, mistral"),
    ("templates/missing.jinja", "Chat template file not found"),
])
def test_bad_settings_say_what_is_wrong(setting, message):
    with pytest.raises(BackendError, match=message):
        resolve_setting(setting)


def test_the_first_lines_of_a_task_say_which_template(ip, files):
    from codeact_jupyter.backends.llama.backend import unload as stop_host

    ip.run_cell("%config CodeActMagics.max_tokens = 4")
    try:
        result = ip.run_cell(f"%codeact --backend llama --model {files['gemma']} --max-turns 1 hi")
    finally:
        stop_host()
    assert result.success
    from codeact_jupyter import last_run

    assert last_run().backend.endswith("template: gemma (guessed)")


HARMONY = ("{% for m in messages %}<|start|>{{ m.role }}<|message|>{{ m.content }}<|end|>{% endfor %}"
           "{% if add_generation_prompt %}<|start|>assistant<|channel|>analysis<|message|>{% endif %}"
           "{# a turn ends with <|return|> or <|call|> #}")
QWEN_TOOLS = ("{% if tools %}<|im_start|>system\n<tools>{% for t in tools %}{{ t | tojson }}{% endfor %}"
              "</tools><|im_end|>\n{% endif %}{% for m in messages %}"
              "{% if m.role == 'tool' %}<|im_start|>user\n<tool_response>\n{{ m.content }}\n</tool_response><|im_end|>\n"
              "{% else %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endif %}"
              "{% endfor %}<|im_start|>assistant\n")


def test_gpt_oss_replies_do_not_stop_where_the_thinking_ends(tmp_path):
    e = engine(write_tiny_gguf(tmp_path / "harmony.gguf", chat_template=HARMONY))
    stops = e.prompt.end_of_turn_stops()
    assert "<|end|>" not in stops and {"<|return|>", "<|call|>"} <= set(stops)


def test_with_actions_tools_the_gguf_template_declares_the_python_tool(tmp_path):
    from codeact_jupyter.agent.tool_calls import PYTHON_TOOL

    e = engine(write_tiny_gguf(tmp_path / "qwen.gguf", chat_template=QWEN_TOOLS))
    prompt = e.prompt.render(MESSAGES, [PYTHON_TOOL])
    assert prompt.startswith('<|im_start|>system\n<tools>{"type": "function", "function": {"name": "python"')
    assert "<tools>" not in e.prompt.render(MESSAGES)


def test_a_template_that_writes_tool_turns_gets_results_as_tool_messages(tmp_path, files):
    from codeact_jupyter.agent.tool_calls import ToolCall, result_message

    e = engine(write_tiny_gguf(tmp_path / "qwen.gguf", chat_template=QWEN_TOOLS))
    assert e.prompt.writes_tool_turns and not engine(files["chatml"]).prompt.writes_tool_turns
    call = ToolCall("call_1", "python", '{"code": "x = 1"}', from_text=True)
    result = result_message(call, "Observation:\n1", template_turns=True)
    assert result == {"role": "tool", "content": "1"}
    assert e.prompt.render(MESSAGES + [{"role": "assistant", "content": "<tool_call>...</tool_call>"}, result]) \
        .endswith("<|im_start|>user\n<tool_response>\n1\n</tool_response><|im_end|>\n<|im_start|>assistant")


def test_a_template_that_splits_replies_at_think_is_told_apart(tmp_path, files):
    r1 = ("{% for m in messages %}{% set c = m.content %}{% if '</think>' in c %}"
          "{% set c = c.split('</think>')[-1] %}{% endif %}<|im_start|>{{ m.role }}\n{{ c }}<|im_end|>\n"
          "{% endfor %}<|im_start|>assistant\n<think>\n")
    e = engine(write_tiny_gguf(tmp_path / "r1.gguf", chat_template=r1))
    assert e.prompt.reads_thinking and not engine(files["chatml"]).prompt.reads_thinking
    kept = [{"role": "assistant", "content": "<think>\ndraft\n</think>\n\nThe answer."}]
    assert "draft" not in e.prompt.render(MESSAGES + kept)  # the template's own rule
