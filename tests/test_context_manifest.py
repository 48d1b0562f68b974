"""``%codeact context [TASK]`` shows what the next task would send, without any model; and
``--context`` / ``CodeActMagics.context`` choose what of the notebook is sent."""
import re

import pytest

import codeact_jupyter
from codeact_jupyter.agent.preview import build_manifest
from codeact_jupyter.context.source import NotebookSource
from codeact_jupyter.magics.codeact import resolve_settings

SECRET = "sk-proj-Zq3Xv9LmN2bT7yR4kW8pA1sD6fG0hJ5c"  # fake, in the real format


pytestmark = pytest.mark.usefixtures("forget_cells")  # fake secrets stay in this test


def test_the_manifest_is_exactly_what_the_next_task_sends(ip, replay):
    ip.run_cell(f"api_key = '{SECRET}'", store_history=True)
    ip.run_cell("sales = [3, 4]\nsum(sales)", store_history=True)
    ip.run_cell("# codeact: private\nnotes = 'my private notes'", store_history=True)
    manifest = build_manifest(NotebookSource.of(ip), "total the sales", resolve_settings(ip, {}))
    ip.run_cell(f"%codeact --model {replay(['Seven.'])} total the sales", store_history=True)
    sent = codeact_jupyter.last_run().messages
    assert [manifest.system, manifest.first_message] == [sent[0]["content"], sent[1]["content"]]
    assert SECRET not in manifest.first_message and "my private notes" not in manifest.first_message
    assert manifest.withheld >= 1  # earlier tests' cells are in the session's history too
    assert re.fullmatch(rf"Context: \d+ cells, 2 variables, {manifest.tokens:,} tokens, "
                        rf"{manifest.withheld} secrets? withheld", manifest.summary())


def test_the_command_prints_each_part_with_its_tokens_cuts_and_redactions(ip, capsys):
    ip.run_cell(f"api_key = '{SECRET}'", store_history=True)
    ip.run_cell("'z' * 5000", store_history=True)
    ip.run_cell("#codeact: private\nprint('PRIVATE')", store_history=True)
    capsys.readouterr()
    ip.run_cell("%codeact context what is z?", store_history=True)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert re.fullmatch(r"Context: \d+ cells, 1 variable, [\d,]+ tokens, \d+ secrets? withheld", lines[0])
    assert lines[1] == "Profile: generic · any other model · no family matched the model's name"
    assert lines[2].startswith("Token counts are rough")
    assert "── system prompt · " in out and "You are a data and coding assistant" in out
    assert " · source · 1 value redacted" not in out  # counts come before what was redacted
    assert any(line.startswith("── In [") and line.endswith("tokens · 1 value redacted ──") for line in lines)
    assert any("output · " in line and "characters of output cut" in line for line in lines)
    assert any(line.endswith("· not sent: private cell ──") for line in lines)
    assert "PRIVATE" not in out.replace("private", "")
    assert SECRET not in out
    assert out.rstrip().endswith("Task: what is z?")


def test_the_command_loads_no_model_and_calls_no_endpoint(ip, capsys):
    ip.run_cell("x = 1", store_history=True)
    ip.run_cell("%codeact context --backend llama --model /no/such/model.gguf", store_history=True)
    ip.run_cell("%codeact context --base-url http://127.0.0.1:9/v1 --model m", store_history=True)
    out = capsys.readouterr().out
    assert out.count("Context: ") == 2 and "Task: (the task you write)" in out


def test_context_option_on_the_magic_and_in_config(ip, replay, capsys):
    ip.run_cell("shared_number = 4242", store_history=True)
    ip.run_cell(f"%codeact --context none --model {replay(['Ok.'])} look", store_history=True)
    first = codeact_jupyter.last_run().messages[1]["content"]
    assert "4242" not in first and "shared_number" not in first
    assert first.endswith("Task: look")

    ip.run_cell("%config CodeActMagics.context = 'cells'", store_history=True)
    ip.run_cell(f"%codeact --model {replay(['Ok.'], name='2.json')} look again", store_history=True)
    first = codeact_jupyter.last_run().messages[1]["content"]
    assert "shared_number = 4242" in first and "shared_number: int" not in first

    ip.run_cell(f"%codeact --context vars --model {replay(['Ok.'], name='3.json')} and now", store_history=True)
    first = codeact_jupyter.last_run().messages[1]["content"]
    assert "shared_number = 4242" not in first and "shared_number: int = 4242" in first
    ip.run_cell("%config CodeActMagics.context = 'all'", store_history=True)


def test_a_bad_context_choice_is_refused_with_the_choices(ip, capsys):
    result = ip.run_cell("%codeact --context everything look", store_history=True)
    assert result.error_in_exec is not None or result.error_before_exec is not None
    err = capsys.readouterr().err
    assert "all" in err and "cells" in err and "vars" in err and "none" in err
    with pytest.raises(Exception, match="must be one of all, cells, vars, none"):
        resolve_settings(ip, {"context": "everything"})


def test_with_continue_it_shows_the_follow_up_message_the_model_would_get(ip, capsys, replay):
    from codeact_jupyter.agent.conversation import NO_CONVERSATION, forget_conversations

    forget_conversations()
    ip.run_cell("%codeact context -c what next?", store_history=True)
    out = capsys.readouterr().out
    assert out.startswith(NO_CONVERSATION) and "\nContext: " in out  # then a fresh task's manifest

    path = replay(["<execute>\nbest = 42\n</execute>", "The best is 42."])
    ip.run_cell(f"%%codeact --model {path}\nfind the best", store_history=True)
    ip.run_cell(f"rate = 0.5\ntoken = '{SECRET}'", store_history=True)
    capsys.readouterr()
    ip.run_cell("%codeact context -c now halve it", store_history=True)
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert re.fullmatch(r"Follow-up of conversation \w+: 5 earlier messages \([\d,]+ tokens, sent "
                        r"before and unchanged\), then [\d,]+ new tokens, 1 secret withheld", first)
    new = out.split("── the new message ──\n", 1)[1]
    assert new.startswith("[Follow-up task]") and new.rstrip().endswith("Task: now halve it")
    assert "rate = 0.5" in new and "best = 42" not in new  # the user's cell, not the model's step
    assert SECRET not in out and "[redacted: value of token]" in new
    forget_conversations()
