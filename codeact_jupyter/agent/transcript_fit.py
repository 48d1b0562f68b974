"""Keep a conversation's transcript inside the model's context window.

The transcript only grows (system, user with the task, then assistant / observation pairs;
a follow-up task adds a user message that starts with :data:`FOLLOW_UP_HEADER`, saying what
changed in the notebook, then the task). When it no longer fits, :func:`fit_to_context`
gives up the oldest material first, in four stages, each oldest-first and only as far as
needed:

1. shorten an old observation to its first and last lines, with a marker in between (an
   earlier follow-up keeps its task and loses its notebook changes, for a marker);
2. drop an old observation's text, leaving only a marker;
3. remove the oldest assistant / observation exchanges entirely;
4. remove the oldest earlier follow-up tasks of the conversation entirely.

The system message, the first user message (the first task, with the notebook context), the
latest task's message and the last message are never touched. Shortened forms depend only on the observation itself, so
once an observation has been shortened it reads the same on every later turn and a local
backend keeps reusing its cache up to the next change.
"""
from __future__ import annotations

from typing import Callable

from ..backends.messages import IMAGE_TOKENS, content_text, image_count

SHORTENED_MARKER = "[observation shortened to fit the context window]"
IMAGES_MARKER = "[its images dropped to fit the context window]"
DROPPED_MARKER = "[observation dropped to fit the context window]"
CHANGES_MARKER = "[notebook changes left out to fit the context window]"
# The first line of a follow-up task's message (conversation.py).
FOLLOW_UP_HEADER = "[Follow-up task]"
TASK_SEPARATOR = "\n\nTask: "

# Template tokens around each message (ChatML: <|im_start|>, role, newline, <|im_end|>, newline,
# and one to spare for templates that spend more).
MESSAGE_OVERHEAD_TOKENS = 6
# What a shortened observation keeps, in characters: its beginning and its end.
KEEP_HEAD_CHARS = 600
KEEP_TAIL_CHARS = 400


def follow_up_message(changes: str, task: str) -> str:
    return f"{FOLLOW_UP_HEADER}\n\n{changes}{TASK_SEPARATOR}{task}"


def is_follow_up(message: dict) -> bool:
    return message.get("role") == "user" and content_text(message.get("content") or "").startswith(FOLLOW_UP_HEADER)


def latest_task_index(messages: list[dict]) -> int:
    """Index of the message that holds the latest task: the last follow-up, else the first
    user message."""
    for i in range(len(messages) - 1, -1, -1):
        if is_follow_up(messages[i]):
            return i
    return _first_user_index(messages)


def fit_to_context(
    messages: list[dict], limit_tokens: int, count_tokens: Callable[[str], int],
    target_tokens: int | None = None,
) -> tuple[list[dict], str | None]:
    """Return ``(messages, notice)``: messages whose tokens fit in ``limit_tokens``, and a
    sentence for the user saying what was given up (``None`` when nothing changed).

    ``count_tokens(text)`` counts the tokens of one message's content; each message also
    costs :data:`MESSAGE_OVERHEAD_TOKENS`. The input list and its dicts are not modified.
    Where even the untouchable messages are over the limit, the result is as short as the
    rules allow and the notice says that it still does not fit. ``target_tokens`` (at most the
    limit): once over the limit, trim down to this, leaving room for the next turns.
    """
    out = [dict(m) for m in messages]
    costs = [_cost(m, count_tokens) for m in out]
    total = sum(costs)
    if total <= limit_tokens:
        return out, None
    goal = min(limit_tokens, target_tokens) if target_tokens is not None else limit_tokens

    observations = _observation_indices(out)
    latest = latest_task_index(out)
    # Earlier follow-ups give up their notebook changes along with the observations.
    shrinkable = sorted(observations + [i for i in range(latest) if is_follow_up(out[i])])
    state: dict[int, str] = {}  # index -> "shortened" | "dropped" | "removed" | "tasks"

    for stage, replace in (("shortened", _shortened), ("dropped", _dropped)):
        for i in shrinkable:
            if total <= goal:
                break
            new_text = replace(out[i].get("content") or "")  # text (a list's images go)
            if new_text is None:
                continue
            out[i]["content"] = new_text
            new_cost = _cost(out[i], count_tokens)
            total += new_cost - costs[i]
            costs[i] = new_cost
            state[i] = stage if i in observations else "changes"

    # Stage 3: remove whole exchanges (an observation and the assistant turn before it).
    first_user = _first_user_index(out)
    gone: set[int] = set()
    for i in observations:
        if total <= goal:
            break
        pair = {i}
        if i - 1 > first_user and out[i - 1].get("role") == "assistant":
            pair.add(i - 1)
        total -= sum(costs[j] for j in pair)
        gone |= pair
        state[i] = "removed"
    # Stage 4: remove whole earlier follow-up tasks (the message and all up to the next).
    follow_ups = [i for i in range(latest) if is_follow_up(out[i])]
    for n, i in enumerate(follow_ups):
        if total <= goal:
            break
        end = follow_ups[n + 1] if n + 1 < len(follow_ups) else latest
        block = set(range(i, end)) - gone
        total -= sum(costs[j] for j in block)
        gone |= block
        state[i] = "tasks"
    out = [m for j, m in enumerate(out) if j not in gone]

    stages = ("shortened", "dropped", "removed", "changes", "tasks")
    counts = {stage: sum(1 for v in state.values() if v == stage) for stage in stages}
    return out, _notice(limit_tokens, total, **counts)


def _cost(message: dict, count_tokens: Callable[[str], int]) -> int:
    content = message.get("content") or ""
    return count_tokens(content_text(content)) + image_count(content) * IMAGE_TOKENS + MESSAGE_OVERHEAD_TOKENS


def _first_user_index(messages: list[dict]) -> int:
    for i, m in enumerate(messages):
        if m.get("role") == "user":
            return i
    return len(messages)


def _observation_indices(messages: list[dict]) -> list[int]:
    """User messages after the first one that are not tasks, oldest first, never the last."""
    first = _first_user_index(messages)
    return [i for i in range(first + 1, len(messages) - 1)
            if messages[i].get("role") == "user" and not is_follow_up(messages[i])]


def _dropped(content) -> str | None:
    text = content_text(content)
    if text.startswith(FOLLOW_UP_HEADER):
        return _without_changes(text)
    return None if content == DROPPED_MARKER else DROPPED_MARKER


def _without_changes(text: str) -> str | None:
    """A follow-up's header and task, its notebook changes replaced by a marker."""
    if TASK_SEPARATOR not in text or CHANGES_MARKER in text:
        return None
    task = text[text.index(TASK_SEPARATOR):]
    return f"{FOLLOW_UP_HEADER}\n\n{CHANGES_MARKER}{task}"


def _shortened(content) -> str | None:
    """The observation's beginning and end around a marker; None when it is already short
    (or already shortened or dropped). Content parts lose their images first."""
    text = content_text(content)
    if text.startswith(FOLLOW_UP_HEADER):
        return _without_changes(text)
    if image_count(content):
        return f"{_shortened(text) or text}\n{IMAGES_MARKER}"
    if SHORTENED_MARKER in text or text == DROPPED_MARKER:
        return None
    if len(text) <= KEEP_HEAD_CHARS + KEEP_TAIL_CHARS + len(SHORTENED_MARKER) + 2:
        return None
    return f"{text[:KEEP_HEAD_CHARS]}\n{SHORTENED_MARKER}\n{text[-KEEP_TAIL_CHARS:]}"


def _notice(limit: int, total: int, shortened: int, dropped: int, removed: int,
            changes: int = 0, tasks: int = 0) -> str | None:
    parts = []
    if shortened:
        parts.append(f"shortened {_n(shortened, 'old step output')}")
    if dropped:
        parts.append(f"dropped {_n(dropped, 'old step output')}")
    if removed:
        parts.append(f"removed the {_n(removed, 'oldest step')} entirely")
    if changes:
        parts.append(f"left out the notebook changes of {_n(changes, 'earlier follow-up')}")
    if tasks:
        parts.append(f"removed the {_n(tasks, 'oldest follow-up task')} of the conversation")
    if not parts:
        text = ("The conversation is over the model's context window "
                f"({limit} tokens for the prompt)")
    else:
        text = (f"The conversation no longer fit the model's context window ({limit} tokens "
                f"for the prompt): {_join(parts)}")
    if total > limit:
        text += (f". It still needs about {total} tokens: the task and the latest message alone "
                 "are too long. Use a larger context size or a shorter task")
    return text + "."


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
