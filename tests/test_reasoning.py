"""Reasoning models: what they think never runs and is never the answer; it is shown as
thinking, kept in the trace, and left out of the transcript sent back."""
import pytest

import codeact_jupyter
from chat_server import ChatServer, Reply
from codeact_jupyter.agent.reasoning import split_reasoning
from codeact_jupyter.agent.replies import parse_reply
from codeact_jupyter.agent.settings import TaskSettings
from codeact_jupyter.agent.task import run_task
from codeact_jupyter.backends.base import BackendConfig
from codeact_jupyter.events import Answer, CodeAction, Notice, Thinking, ThinkingDelta
from codeact_jupyter.trace.build import run_trace

DRAFT = "First idea:\n```python\nopen('draft.txt', 'w').write('rejected')\n```\nNo, simpler."

# Each family's spelling, as served without a reasoning parser: (reply, its thinking, the rest).
SPELLINGS = [
    ("R1 distill: the template opened the block in the prompt",
     f"{DRAFT}\n</think>\n\n<execute>\nreal = 1\n</execute>", DRAFT, "<execute>\nreal = 1\n</execute>"),
    ("QwQ / Magistral: the whole block",
     f"<think>\n{DRAFT}\n</think>\n<execute>\nreal = 1\n</execute>", DRAFT, "<execute>\nreal = 1\n</execute>"),
    ("Qwen3 with thinking off: an empty block",
     "<think>\n\n</think>\n\nThe answer is 4.", "", "The answer is 4."),
    ("<thinking> tags", f"<thinking>{DRAFT}</thinking>The answer is 4.", DRAFT, "The answer is 4."),
    ("<reasoning> tags", f"<reasoning>{DRAFT}</reasoning>The answer is 4.", DRAFT, "The answer is 4."),
    ("gpt-oss's harmony channels in the text",
     f"<|channel|>analysis<|message|>{DRAFT}<|end|><|start|>assistant<|channel|>final<|message|>"
     "The answer is 4.<|return|>", DRAFT, "The answer is 4."),
    ("several blocks", "<think>one</think>Let me check.<think>two</think>The answer is 4.",
     "one\n\ntwo", "Let me check.The answer is 4."),
]


@pytest.mark.parametrize("family, text, thinking, rest", SPELLINGS, ids=[s[0] for s in SPELLINGS])
def test_each_spelling_of_thinking_is_taken_out_of_the_reply(family, text, thinking, rest):
    split = split_reasoning(text)
    assert (split.reasoning, split.text, split.unclosed) == (thinking, rest, False)


def test_a_block_cut_by_the_token_limit_is_all_thinking():
    split = split_reasoning("<think>\nLet me write <execute>\nprint(1)\n</execute> and then")
    assert split.unclosed and split.text == ""
    assert split.reasoning.startswith("Let me write <execute>")


def test_code_in_the_thinking_is_never_the_step_and_the_thinking_never_the_answer():
    reply = parse_reply(f"<think>Try <execute>\nimport os; os.remove('data.csv')\n</execute>"
                        f"{DRAFT}</think>\n<execute>\nreal = 1\n</execute>")
    assert reply.code == "real = 1"
    assert "os.remove" in reply.reasoning and "os.remove" not in reply.transcript_text()
    answer = parse_reply("<think>The user wants 4. ```python\nx = 4\n```</think>\n\nIt is **4**.")
    assert (answer.code, answer.answer) == (None, "It is **4**.")
    assert parse_reply("<think>only this</think>").only_reasoned


def run(ip, path, task="do it", **settings):
    events = []
    settings = TaskSettings(backend="replay", backend_config=BackendConfig(model=str(path)), **settings)
    return run_task(ip, task, settings, [events.append]), events


def test_a_rejected_draft_in_a_think_block_never_runs_in_the_kernel(ip, replay, tmp_path):
    ip.run_cell(f"import os; os.chdir({str(tmp_path)!r})")
    record, events = run(ip, replay([
        f"<think>\n{DRAFT}\nAlso <execute>\nrejected = True\n</execute> is wrong.\n</think>\n"
        "I will count.\n<execute>\ncount = 3\n</execute>",
        "<think>count is 3.</think>\n\nThere are **3**.",
    ]))
    assert not (tmp_path / "draft.txt").exists() and "rejected" not in ip.user_ns
    assert ip.user_ns["count"] == 3
    assert [e.code for e in events if isinstance(e, CodeAction)] == ["count = 3"]
    assert record.answer == "There are **3**."
    thoughts = [e for e in events if isinstance(e, Thinking)]
    assert [(t.turn, t.chars) for t in thoughts] == [(1, len(thoughts[0].text)), (2, len("count is 3."))]
    # Sent back without the thinking, as the families' chat templates do with earlier turns.
    assert record.messages[2] == {"role": "assistant", "content": "I will count.\n<execute>\ncount = 3\n</execute>"}
    assert run_trace(record)["thinking"][1] == {"turn": 2, "text": "count is 3.", "cut": False}


def test_a_reply_that_only_reasoned_is_nudged_and_the_user_told_so(ip, replay):
    record, events = run(ip, replay(["<think>I could sum the list, or count it.</think>",
                                     "<execute>\ntotal = 6\n</execute>", "It is 6."]))
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert "The model only reasoned (34 characters of thinking) and gave no step or answer; " \
           "asking it once more." in notices
    assert not any("empty reply" in n for n in notices)
    assert record.messages[2:4] == [
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "Observation:\n[Your reply held only your reasoning: nothing ran "
                                    "and the user has no answer. Now act on it: run Python code inside "
                                    "<execute></execute>, or answer the task in plain words.]"}]
    assert ip.user_ns["total"] == 6 and record.answer == "It is 6."


def test_twice_only_reasoning_ends_without_the_thinking_as_the_answer(ip, replay):
    record, events = run(ip, replay(["<think>hmm</think>", "<think>still hmm</think>"]))
    assert record.answer == "(The model only reasoned, and gave no answer.)"
    assert "hmm" not in record.answer


def test_thinking_cut_at_the_token_limit_is_shown_as_cut_and_nudged(ip):
    with ChatServer([Reply("<think>\nFirst I open the file, then <execute>\nx = 1", finish_reason="length"),
                     "Done: nothing to do."]) as server:
        ip.run_cell(f"%codeact --base-url {server.base_url} --model qwq-32b look")
    record = codeact_jupyter.last_run()
    assert "x" not in ip.user_ns
    assert record.thinking[0]["cut"] is True
    assert record.answer == "Done: nothing to do."


def test_reasoning_deltas_from_the_endpoint_are_thinking_not_an_empty_reply(ip, capsys):
    replies = [Reply("<execute>\nanswer = 42\n</execute>", reasoning="Six times seven. ```python\nwrong = 1\n```"),
               Reply("", reasoning="It ran; now I say it.", reasoning_field="reasoning"),
               Reply("It is 42.", reasoning="Say it.", reasoning_field="reasoning")]
    events = []
    with ChatServer(replies) as server:
        settings = TaskSettings(backend="openai", backend_config=BackendConfig(
            base_url=server.base_url, model="deepseek-reasoner"))
        record = run_task(ip, "six times seven", settings, [events.append])
    assert ip.user_ns["answer"] == 42 and "wrong" not in ip.user_ns
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)).startswith("Six times seven.")
    assert [e.text for e in events if isinstance(e, Thinking)] == [
        "Six times seven. ```python\nwrong = 1\n```", "It ran; now I say it.", "Say it."]
    assert any(isinstance(e, Notice) and e.text.startswith("The model only reasoned (21 characters")
               for e in events)
    assert record.answer == "It is 42." and Answer("It is 42.") in events
    # DeepSeek's API refuses reasoning_content sent back: the requests carry none.
    assert all(set(m) <= {"role", "content"} for m in server.requests[-1]["messages"])


def test_a_draft_step_in_the_thinking_does_not_end_the_reply_at_its_stop_string(ip):
    """Servers stop at ``</execute>`` wherever it is, inside the thinking too: the reply is
    asked for again without that stop string."""
    reply = "<think>Maybe <execute>\nprint('draft')\n</execute> no.</think>\n<execute>\nn = 5\n</execute>"
    with ChatServer([reply, reply, "n is 5."]) as server:
        ip.run_cell(f"%codeact --base-url {server.base_url} --model served-model count")
    assert ip.user_ns["n"] == 5
    assert [r.get("stop") for r in server.requests[:2]] == [
        ["</execute>", "<|im_end|>", "<|im_start|>"], ["<|im_end|>", "<|im_start|>"]]
    assert codeact_jupyter.last_run().answer == "n is 5."


def test_the_cell_shows_thinking_collapsed_with_its_length(ip, replay):
    from codeact_jupyter.magics.display import RichDisplay, thinking_view

    shown = thinking_view(Thinking(turn=1, text="a < b", chars=5))
    assert shown.startswith("<details><summary>Thinking (5 characters; never run)</summary>")
    assert "a &lt; b" in shown


def test_reasoning_history_keep_sends_the_thinking_back_before_each_reply(ip, replay):
    record, _ = run(ip, replay(["<think>set it</think><execute>\nk = 1\n</execute>", "Done."]),
                    reasoning_history="keep")
    assert record.messages[2]["content"] == "<think>\nset it\n</think>\n\n<execute>\nk = 1\n</execute>"
    ip.run_cell("%config CodeActMagics.reasoning_history = 'keep'")
    from codeact_jupyter.magics.codeact import resolve_settings
    assert resolve_settings(ip, {}).reasoning_history == "keep"


def test_in_a_notebook_the_cell_shows_the_thinking_collapsed_above_the_step(tmp_path):
    import json

    from kernels import run_cell, running_kernel

    replies = tmp_path / "think.json"
    replies.write_text(json.dumps(["<think>Try ```python\nwrong = 1\n``` no.</think>\n<execute>\nright = 2\n</execute>",
                                   "Done."]))
    with running_kernel() as (km, kc):
        run_cell(kc, "%load_ext codeact_jupyter")
        reply, shown = run_cell(kc, f"%%codeact --backend replay --model {replies} set it\n")
        assert reply["status"] == "ok", shown
        assert "<details><summary>Thinking (31 characters; never run)</summary>" in shown
        assert "<execute>\nright = 2\n</execute>" not in shown.split("</details>")[0]
        _, names = run_cell(kc, "print('wrong' in dir(), right)")
    assert names.strip().endswith("False 2")


def test_by_default_thinking_goes_back_only_to_a_template_that_handles_it(ip, replay, monkeypatch):
    from codeact_jupyter.backends.replay.backend import ReplayBackend

    replies = ["<think>set it</think><execute>\nk = 1\n</execute>", "Done."]
    record, _ = run(ip, replay(replies))
    assert record.messages[2]["content"] == "<execute>\nk = 1\n</execute>"
    # A GGUF whose chat template splits earlier replies at </think> (Qwen3, R1 distills).
    monkeypatch.setattr(ReplayBackend, "template_reads_thinking", True, raising=False)
    record, _ = run(ip, replay(replies, name="again.json"))
    assert record.messages[2]["content"] == "<think>\nset it\n</think>\n\n<execute>\nk = 1\n</execute>"
