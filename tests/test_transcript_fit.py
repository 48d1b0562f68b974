"""fit_to_context: a pure function, tested with a one-token-per-character counter."""
from __future__ import annotations

import copy

import pytest

from codeact_jupyter.agent.transcript_fit import (
    DROPPED_MARKER,
    KEEP_HEAD_CHARS,
    KEEP_TAIL_CHARS,
    MESSAGE_OVERHEAD_TOKENS,
    SHORTENED_MARKER,
    fit_to_context,
)

OVERHEAD = MESSAGE_OVERHEAD_TOKENS


def chars(text: str) -> int:
    return len(text)


def cost(messages: list[dict]) -> int:
    return sum(len(m["content"]) + OVERHEAD for m in messages)


def observation(n: int, size: int) -> str:
    """A recognisable observation: a head line, filler, a tail line."""
    head, tail = f"HEAD-{n}\n", f"\nTAIL-{n}"
    return head + "x" * (size - len(head) - len(tail)) + tail


def transcript(turns: int, obs_size: int = 3000, last_size: int = 50) -> list[dict]:
    messages = [
        {"role": "system", "content": "S" * 200},
        {"role": "user", "content": "TASK " + "t" * 300},
    ]
    for n in range(turns):
        messages.append({"role": "assistant", "content": f"step {n} <execute>print({n})</execute>"})
        messages.append({"role": "user", "content": observation(n, obs_size)})
    messages[-1]["content"] = observation(turns - 1, last_size)
    return messages


def test_nothing_changes_when_it_fits():
    messages = transcript(3)
    fitted, notice = fit_to_context(messages, cost(messages), chars)
    assert notice is None
    assert fitted == messages


def test_input_is_never_modified():
    messages = transcript(5)
    before = copy.deepcopy(messages)
    fit_to_context(messages, 1000, chars)
    assert messages == before


def test_oldest_observation_is_shortened_first_and_only_as_far_as_needed():
    messages = transcript(4)
    fitted, notice = fit_to_context(messages, cost(messages) - 100, chars)
    assert len(fitted) == len(messages)
    first_obs = fitted[3]["content"]
    assert SHORTENED_MARKER in first_obs
    assert first_obs.startswith("HEAD-0") and first_obs.endswith("TAIL-0")
    assert first_obs == messages[3]["content"][:KEEP_HEAD_CHARS] + "\n" + SHORTENED_MARKER + "\n" \
        + messages[3]["content"][-KEEP_TAIL_CHARS:]
    assert fitted[5:] == messages[5:]  # newer observations untouched
    assert cost(fitted) <= cost(messages) - 100
    assert notice == ("The conversation no longer fit the model's context window "
                      f"({cost(messages) - 100} tokens for the prompt): shortened 1 old step output.")


def test_shortening_moves_on_to_newer_observations_in_order():
    messages = transcript(5)
    saving = len(messages[3]["content"]) - 1000 - len(SHORTENED_MARKER) - 2
    fitted, notice = fit_to_context(messages, cost(messages) - saving - 10, chars)
    shortened = [i for i, m in enumerate(fitted) if SHORTENED_MARKER in m["content"]]
    assert shortened == [3, 5]
    assert "shortened 2 old step outputs" in notice


def test_observations_are_dropped_when_shortening_is_not_enough():
    messages = transcript(4)
    fitted, notice = fit_to_context(messages, 3000, chars)
    contents = [m["content"] for m in fitted]
    assert contents[3] == DROPPED_MARKER
    assert cost(fitted) <= 3000
    assert fitted[0] == messages[0] and fitted[1] == messages[1] and fitted[-1] == messages[-1]
    assert [m["role"] for m in fitted] == [m["role"] for m in messages]
    assert "dropped" in notice


def test_whole_exchanges_are_removed_as_a_last_resort():
    messages = transcript(12, obs_size=100)
    limit = cost(messages[:2]) + cost(messages[-4:]) + 5
    fitted, notice = fit_to_context(messages, limit, chars)
    assert cost(fitted) <= limit
    assert fitted[:2] == messages[:2] and fitted[-1] == messages[-1]
    roles = [m["role"] for m in fitted]
    assert roles[:2] == ["system", "user"]
    assert all(a == "assistant" and b == "user" for a, b in zip(roles[2::2], roles[3::2]))
    assert "removed the" in notice and "oldest steps entirely" in notice
    # What is left is the newest exchanges, in order.
    assert fitted[-2]["content"] == messages[-2]["content"]


@pytest.mark.parametrize("index", [0, 1, -1])
def test_protected_messages_survive_even_when_nothing_fits(index):
    messages = transcript(3)
    messages[index] = dict(messages[index], content=messages[index]["content"] + "z" * 20_000)
    fitted, notice = fit_to_context(messages, 1000, chars)
    assert messages[index] in fitted
    assert "still needs about" in notice and "larger context size" in notice


def test_system_task_and_last_are_untouched_when_over_the_limit():
    messages = transcript(6)
    fitted, _ = fit_to_context(messages, 2500, chars)
    assert fitted[0] == messages[0]
    assert fitted[1] == messages[1]
    assert fitted[-1] == messages[-1]
    assert all(m in messages for m in fitted if m["role"] == "assistant")


def test_result_is_stable_when_fitted_again():
    messages = transcript(6)
    fitted, notice = fit_to_context(messages, 6000, chars)
    assert notice is not None
    again, second_notice = fit_to_context(fitted, 6000, chars)
    assert again == fitted and second_notice is None


def test_a_growing_transcript_keeps_its_shortened_prefix():
    """A later turn's fit changes nothing before the first observation it newly shortens, so a
    local backend's cache stays valid up to there."""
    messages = transcript(6)
    limit = cost(messages) - 4000
    first, _ = fit_to_context(messages, limit, chars)
    grown = messages + [{"role": "assistant", "content": "more"},
                        {"role": "user", "content": observation(9, 3000)}]
    second, _ = fit_to_context(grown, limit, chars)
    changed = [i for i, (a, b) in enumerate(zip(first, second)) if a != b]
    assert changed, "the grown transcript must need more shortening"
    assert all(SHORTENED_MARKER in second[i]["content"] for i in changed)
    assert second[: changed[0]] == first[: changed[0]]


def test_the_counter_given_is_the_one_used():
    messages = transcript(4)
    words = lambda text: len(text.split())  # noqa: E731  - a whole observation is ~2 words
    fitted, notice = fit_to_context(messages, 100, words)
    assert notice is None and fitted == messages
    fitted, notice = fit_to_context(messages, 100, chars)
    assert notice is not None


@pytest.mark.parametrize(
    "roles, touchable",
    [
        (["system", "user", "assistant", "user"], []),
        (["system", "user", "assistant", "user", "assistant", "user"], [3]),
        (["user", "assistant", "user", "assistant"], [2]),
        (["system", "user", "assistant", "user", "assistant"], [3]),
        (["system", "user"], []),
    ],
)
def test_only_observations_between_task_and_last_message_are_touched(roles, touchable):
    messages = [{"role": r, "content": f"{r}-{i}-" + "x" * 2000} for i, r in enumerate(roles)]
    fitted, _ = fit_to_context(messages, 1, chars)
    kept = {m["content"] for m in fitted}
    for i, m in enumerate(messages):
        if i in touchable:
            assert m["content"] not in kept
        elif m["role"] != "assistant" or i == len(messages) - 1:
            assert m["content"] in kept


def test_once_over_the_limit_it_trims_to_the_target_leaving_room_for_later_turns():
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "task"}]
    for i in range(6):
        messages += [{"role": "assistant", "content": f"step {i}"},
                     {"role": "user", "content": f"obs {i} " + "x" * 2000}]
    count = lambda text: len(text)  # noqa: E731 - one token per character keeps the sums readable
    total = sum(count(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)
    fitted, notice = fit_to_context(messages, total - 100, count, target_tokens=total // 2)
    assert notice is not None
    assert sum(count(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in fitted) <= total // 2
    # Under the limit nothing changes, whatever the target.
    same, none = fit_to_context(messages, total, count, target_tokens=10)
    assert same == messages and none is None
