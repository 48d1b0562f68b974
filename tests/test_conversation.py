"""Follow-ups in a real kernel: ``%%codeact --continue`` (``-c``) continues the kernel's last
conversation. What reaches the model is read at the test chat server (the request bodies),
or, for the context-window test, from ``last_run().messages`` of a local GGUF model."""
from __future__ import annotations

import json

import pytest
from chat_server import ChatServer
from kernels import run_cell, running_kernel
from tiny_gguf import write_tiny_gguf

from codeact_jupyter.agent.transcript_fit import DROPPED_MARKER, FOLLOW_UP_HEADER, SHORTENED_MARKER

LAST_RUN = ("import json, codeact_jupyter\nr = codeact_jupyter.last_run()\n"
            "print(json.dumps({'conversation': r.conversation_id, 'done': r.done_reason,"
            " 'error': r.error, 'messages': r.messages, 'replies': r.replies()}))")


def last_run(kc) -> dict:
    reply, text = run_cell(kc, LAST_RUN)
    assert reply["status"] == "ok", text
    return json.loads(text.strip().splitlines()[-1])


def ok(kc, code: str) -> str:
    reply, text = run_cell(kc, code)
    assert reply["status"] == "ok", text
    return text


@pytest.fixture
def kernel():
    with running_kernel() as (_, kc):
        ok(kc, "%load_ext codeact_jupyter")
        yield kc


def test_a_follow_up_sends_the_previous_exchange_and_what_changed(kernel):
    replies = ["<execute>\ntop = max(prices)\nprint(top)\n</execute>", "The top price is 40.",
               "Half of 40 is 20."]
    with ChatServer(replies) as server:
        ok(kernel, "prices = [10, 40, 25]")
        ok(kernel, f"%%codeact --base-url {server.base_url} --model m\nfind the top price")
        first = last_run(kernel)
        ok(kernel, "discount = 0.5\nlabel = 'sale'")
        shown = ok(kernel, f"%%codeact -c --base-url {server.base_url} --model m\nnow halve it")
        second = last_run(kernel)
        sent = server.requests[2]["messages"]

    assert second["conversation"] == first["conversation"]
    assert "Follow-up: task 2 of conversation" in shown
    # The earlier exchange, exactly as it was sent and answered, comes first (append-only).
    earlier = server.requests[1]["messages"]
    assert sent[: len(earlier)] == earlier
    assert sent[len(earlier)] == {"role": "assistant", "content": "The top price is 40."}
    follow_up = sent[-1]["content"]
    assert follow_up.startswith(FOLLOW_UP_HEADER) and follow_up.endswith("Task: now halve it")
    # What changed: the user's new cell and variables, not the model's own step or the task cell.
    assert "discount = 0.5\nlabel = 'sale'" in follow_up
    assert "discount: float = 0.5" in follow_up and "label: str" in follow_up
    assert "max(prices)" not in follow_up and "%%codeact" not in follow_up
    assert "prices = [10, 40, 25]" not in follow_up  # seen at the first task
    assert second["replies"] == ["Half of 40 is 20."]


def test_a_follow_up_shares_only_what_the_user_chose_to_share(kernel):
    """--context and private cells hold for the follow-up's "what changed" message too."""
    with ChatServer(["First answer.", "Second answer.", "Third answer."]) as server:
        ok(kernel, f"%codeact --base-url {server.base_url} --model m first")
        ok(kernel, "# codeact: private\nsalary_table = [91000, 87000]")
        ok(kernel, "visible = 'shared cell'")
        ok(kernel, f"%%codeact -c --base-url {server.base_url} --model m\nsecond")
        ok(kernel, "later_cell = 'not for the model'\ndel visible")
        ok(kernel, f"%%codeact -c --context vars --base-url {server.base_url} --model m\nthird")
        second, third = (server.requests[i]["messages"][-1]["content"] for i in (1, 2))
    assert "visible = 'shared cell'" in second and "visible: str" in second
    assert "salary_table" not in second and "91000" not in second  # private: neither cell nor name
    assert "later_cell = 'not for the model'" not in third  # --context vars: no cells
    assert "later_cell: str" in third
    assert "The user does not share the notebook's cells." in third
    assert "No longer defined: visible\n" in third  # gone from the kernel; a private name never said
    assert "salary_table" not in third


def test_continue_with_no_earlier_conversation_says_so_and_starts_fresh(kernel):
    with ChatServer(["Nothing to continue; here is a fresh answer."]) as server:
        shown = ok(kernel, f"%%codeact --continue --base-url {server.base_url} --model m\ngo on")
        sent = server.requests[0]["messages"]
    assert "no earlier conversation in this kernel" in shown
    assert [m["role"] for m in sent] == ["system", "user"]
    assert not sent[1]["content"].startswith(FOLLOW_UP_HEADER)
    assert last_run(kernel)["done"] == "answered"


def test_without_continue_a_task_starts_a_new_conversation(kernel):
    with ChatServer(["First answer.", "Second answer."]) as server:
        ok(kernel, f"%codeact --base-url {server.base_url} --model m first")
        first = last_run(kernel)["conversation"]
        ok(kernel, f"%codeact --base-url {server.base_url} --model m second")
        second = last_run(kernel)["conversation"]
        sent = server.requests[1]["messages"]
    assert first != second
    assert [m["role"] for m in sent] == ["system", "user"]
    assert "First answer." not in json.dumps(sent)


@pytest.fixture(scope="module")
def quiet_model(tmp_path_factory):
    """A tiny GGUF whose replies end at once (empty), with a 4,096-token window."""
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "quiet.gguf", end_of_turn_logit=30.0)


def test_a_conversation_that_outgrows_the_window_shortens_old_observations_and_goes_on(
        kernel, tmp_path, quiet_model):
    # A first task whose steps printed a lot, then follow-ups on a model with a small window.
    steps = [f"<execute>\nprint('row {i} ' * 700)\n</execute>" for i in range(3)] + ["Printed."]
    script = tmp_path / "steps.json"
    script.write_text(json.dumps(steps), encoding="utf-8")
    ok(kernel, f"%%codeact --backend replay --model {script}\nprint three long reports")
    ok(kernel, "%config CodeActMagics.max_tokens = 64")
    ok(kernel, "extra = list(range(5))")
    shown = ok(kernel, f"%%codeact -c --backend llama --model {quiet_model}\nsummarise the reports")
    run = last_run(kernel)
    assert run["error"] is None and run["done"] == "answered"
    assert "no longer fit the model's context window" in shown
    messages = run["messages"]
    old = [m["content"] for m in messages[2:8] if m["role"] == "user"]
    assert any(SHORTENED_MARKER in text or DROPPED_MARKER in text for text in old)
    # The tasks themselves are kept: the first one and the follow-up.
    assert messages[1]["content"].endswith("Task: print three long reports")
    assert tasks(messages)[-1].endswith("Task: summarise the reports")

    # And the conversation goes on: a third task continues it, still within the window.
    ok(kernel, "more = 1")
    ok(kernel, f"%%codeact -c --backend llama --model {quiet_model}\nand once more")
    third = last_run(kernel)
    assert third["error"] is None and third["done"] == "answered"
    assert third["conversation"] == run["conversation"]
    assert [t.rsplit("Task: ", 1)[1] for t in tasks(third["messages"])] == [
        "summarise the reports", "and once more"]


def tasks(messages: list[dict]) -> list[str]:
    return [m["content"] for m in messages if m["content"].startswith(FOLLOW_UP_HEADER)]


def test_the_task_cell_is_taken_out_of_a_document_whose_oldest_cells_were_left_out():
    """The browser leaves the oldest cells out of a large document (left_out) and counts the
    task cell's index in the whole notebook: the kernel must take out that cell, no other."""
    from codeact_jupyter.lab import mirror

    cells = [{"cell_type": "code", "id": name, "source": name} for name in ("c3", "c4", "task", "c6")]
    mirror._keep_document("session", {"notebook": {"cells": cells, "left_out": 2},
                                      "cell_id": "task", "task_cell": 4})
    try:
        kept = mirror._documents[("session", "task")]["cells"]
        assert [c["id"] for c in kept] == ["c3", "c4", "c6"]
    finally:
        mirror.forget_mirrors()
