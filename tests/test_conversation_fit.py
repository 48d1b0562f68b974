"""A conversation's transcript in the context window: old observations and old follow-ups'
notebook changes give way first, tasks stay, the latest task is never touched."""
from codeact_jupyter.backends.base import approx_tokens
from codeact_jupyter.agent.transcript_fit import (CHANGES_MARKER, SHORTENED_MARKER, fit_to_context,
                                            follow_up_message)


def conversation() -> list[dict]:
    return [
        {"role": "system", "content": "system"},
        {"role": "user", "content": "cells\n\nTask: first"},
        {"role": "assistant", "content": "<execute>print(1)</execute>"},
        {"role": "user", "content": "Observation:\n" + "x" * 8000},
        {"role": "assistant", "content": "First answer."},
        {"role": "user", "content": follow_up_message("cell " * 2000, "second")},
        {"role": "assistant", "content": "Second answer."},
        {"role": "user", "content": follow_up_message("new cell " * 400, "third")},
    ]


def cost(messages):
    return sum(approx_tokens(m["content"]) + 6 for m in messages)


def test_old_observations_then_old_changes_give_way_and_tasks_stay():
    messages = conversation()
    fitted, notice = fit_to_context(messages, 1500, approx_tokens)
    assert SHORTENED_MARKER in fitted[3]["content"]
    assert fitted[5]["content"].endswith("Task: second") and CHANGES_MARKER in fitted[5]["content"]
    assert fitted[-1] == messages[-1]  # the latest task, with its changes, as it was
    assert cost(fitted) <= 1500
    assert "left out the notebook changes of 1 earlier follow-up" in notice


def test_an_earlier_follow_up_is_removed_whole_when_nothing_else_is_left():
    fitted, notice = fit_to_context(conversation(), 935, approx_tokens)
    contents = [m["content"] for m in fitted]
    assert not any(c.endswith("Task: second") for c in contents)
    assert contents[1].endswith("Task: first") and contents[-1].endswith("Task: third")
    roles = [m["role"] for m in fitted]
    assert all(a != b for a, b in zip(roles[1:], roles[2:]))  # turns still alternate
    assert "removed the 1 oldest follow-up task of the conversation" in notice
