"""Model profiles: each family gets the conventions it was trained on, and the notebook rules
in the same words for all."""
import pytest

import codeact_jupyter
from chat_server import ChatServer
from codeact_jupyter.agent.profiles import GENERIC, PROFILES, by_name, choose_profile
from codeact_jupyter.agent.prompts import load_prompt

RULE = "Do not redefine or overwrite the user's existing variables unless the task asks for it."


@pytest.mark.parametrize("names, profile", [
    (["CodeActAgent-Mistral-7b-v0.1.q8_0.gguf"], "codeact"),
    (["xingyaoww/CodeActAgent-Mistral-7b-v0.1"], "codeact"),
    (["Qwen3-8B-Q4_K_M.gguf"], "qwen3"),
    (["qwq-32b"], "qwen3"),
    (["deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"], "deepseek-r1"),
    (["deepseek-reasoner"], "deepseek-r1"),
    (["openai/gpt-oss-20b"], "gpt-oss"),
    (["Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"], "llama3"),
    (["SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2 135M Instruct"], "generic"),
    ([None], "generic"),
])
def test_a_profile_is_matched_on_the_models_name(names, profile):
    assert choose_profile("auto", names).profile.name == profile


def test_the_setting_overrides_the_match_and_a_wrong_name_says_the_choices():
    chosen = choose_profile("codeact", ["Qwen3-8B"])
    assert chosen.profile.name == "codeact" and chosen.why == "chosen by the profile setting"
    with pytest.raises(Exception, match="must be one of auto, codeact, qwen3, deepseek-r1, gpt-oss"):
        by_name("mistral")


def test_every_profile_has_the_same_notebook_rules_in_both_action_formats():
    for profile in PROFILES:
        for actions in ("code", "tools"):
            prompt = profile.system_prompt(actions)
            assert RULE in prompt and "{intro}" not in prompt
            assert ("<execute>" in prompt) is (actions == "code")
    codeact = by_name("codeact").system_prompt()
    assert codeact.startswith(load_prompt("intro_codeact.md"))
    assert codeact.endswith(GENERIC.system_prompt().split("How to act:")[1])


def test_codeactagent_gets_its_own_opening_and_the_stops_it_was_trained_with(ip):
    with ChatServer(["Nothing to do."]) as server:
        ip.run_cell(f"%codeact --base-url {server.base_url} --model CodeActAgent-Mistral-7b-v0.1 hello")
    sent = server.requests[0]
    assert sent["messages"][0]["content"].startswith("You are a helpful assistant that can use an "
                                                     "interactive Python environment")
    assert sent["stop"] == ["</execute>", "<|im_end|>", "<|im_start|>"]


def test_a_thinking_family_is_not_stopped_at_execute_and_r1_has_no_system_prompt(ip):
    with ChatServer(["<think>fine</think>Nothing to do."]) as server:
        ip.run_cell(f"%codeact --base-url {server.base_url} --model DeepSeek-R1-Distill-Qwen-7B hello")
    sent = server.requests[0]
    assert "</execute>" not in sent["stop"]
    assert [m["role"] for m in sent["messages"]] == ["user"]
    assert sent["messages"][0]["content"].startswith("You are a data and coding assistant")
    assert sent["messages"][0]["content"].endswith("Task: hello")
    assert codeact_jupyter.last_run().answer == "Nothing to do."


def test_llama3_and_gpt_oss_stop_at_their_end_of_turn_texts(ip):
    with ChatServer(["Hi."]) as server:
        ip.run_cell(f"%codeact --base-url {server.base_url} --model llama-3.1-8b-instruct hello")
        ip.run_cell(f"%codeact --base-url {server.base_url} --model gpt-oss-20b --profile gpt-oss hello")
    assert server.requests[0]["stop"][:3] == ["</execute>", "<|im_end|>", "<|im_start|>"]
    # The API takes four stop strings; the rest are applied to the streamed text.
    assert server.requests[1]["stop"] == ["<|im_end|>", "<|im_start|>", "<|return|>", "<|call|>"]


def test_codeact_context_shows_which_profile_applies(ip, capsys):
    ip.run_cell("%config CodeActMagics.model = 'Qwen3-8B-Q4_K_M.gguf'")
    capsys.readouterr()
    ip.run_cell("%codeact context what now?")
    assert "Profile: qwen3 · Qwen3 / QwQ (thinks in <think>) · matched 'Qwen3-8B-Q4_K_M.gguf'" \
        in capsys.readouterr().out


def test_the_eval_harness_runs_a_suite_under_a_chosen_profile(tmp_path):
    import json
    import subprocess
    import sys

    import nbformat

    from codeact_jupyter.trace.stored import traces_in

    def codeact_eval(*args):
        return subprocess.run([sys.executable, "-m", "codeact_jupyter.cli", "eval", "--oracle",
                               "--tasks", "debug-off-by-one", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=240)

    done = codeact_eval("--profile", "codeact", "--out", "codeact")
    assert done.returncode == 0 and "= 100.0%" in done.stdout, done.stderr
    nb = nbformat.read(tmp_path / "codeact" / "notebooks" / "debug-off-by-one-r1.ipynb", as_version=4)
    trace = traces_in(nb)[0].trace  # whole: a lean trace shares its texts through the notebook
    assert trace["messages"][0]["content"].startswith(load_prompt("intro_codeact.md"))
    assert json.loads((tmp_path / "codeact" / "settings.json").read_text())["profile"] == "codeact"
    other = codeact_eval("--profile", "generic", "--out", "codeact")  # the same folder
    assert other.returncode == 2 and "profile: 'codeact' then, 'generic' now" in other.stderr
