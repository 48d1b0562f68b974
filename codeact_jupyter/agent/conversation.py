"""A kernel's conversations: a follow-up task continues where the last one ended.

A conversation is the transcript sent to the model, grown task after task: a continued
task appends one user message saying what changed in the notebook since the last task
(cells run or edited since, variables new or changed), then the new task. Nothing earlier
is rewritten (except when the window overflows, transcript_fit.py), so a local model's KV
cache carries over and a follow-up's first turn reads only the new message.

What the model has already seen of the notebook is kept as a set of cell texts and variable
lines, added to at the end of each task by what that task could share (so the task's own
steps count as seen, and a task that shared nothing changes nothing).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Callable

from .transcript_fit import follow_up_message

# Cells that start a task: the model knows its tasks, so they are not news.
_TASK_CELL = re.compile(r"^\s*%%?codeact\b|_magic\(\s*['\"]codeact['\"]")
_ACTIVE = " (active cell)"
NO_CONVERSATION = "There is no earlier conversation in this kernel to continue: this task starts a new one."
# Said in our own words, in the follow-up's user message: the model's own messages hold only
# what it wrote (a reply cut by Stop is kept as it streamed).
STOPPED_NOTE = ("The user stopped the previous task before it finished: your last reply is cut "
                "where they stopped it, or missing if you had not begun one.")
UNKNOWN_CONVERSATION = ("That conversation is not in this kernel any more (was the kernel restarted?): "
                        "this task starts a new one.")


@dataclass
class Seen:
    """What the model was shown of the notebook, as of the end of the last task."""

    cells: set[str] = field(default_factory=set)  # rendered cells, active-cell mark left out
    variables: set[str] = field(default_factory=set)  # variable summary lines
    codes: set[str] = field(default_factory=set)  # code of the conversation's own steps


@dataclass
class Conversation:
    conversation_id: str
    messages: list[dict] = field(default_factory=list)  # the transcript as last sent
    run_ids: list[str] = field(default_factory=list)
    seen: Seen = field(default_factory=Seen)
    stopped: bool = False  # the last task was stopped by the user


_conversations: dict[str, Conversation] = {}
_last_id: str | None = None
KEPT = 20  # conversations a kernel keeps (the oldest go first)


def new_conversation() -> Conversation:
    conversation = Conversation(uuid.uuid4().hex[:12])
    _conversations[conversation.conversation_id] = conversation
    for old in list(_conversations)[:-KEPT]:
        if old != _last_id:
            del _conversations[old]
    return conversation


def find_conversation(which: str | None) -> tuple[Conversation, str | None]:
    """The conversation a task belongs to, and a notice when it could not continue one.

    ``which``: None or "new" starts one; "last" continues this kernel's latest; anything
    else names one (the side panel keeps its notebook's current conversation's id)."""
    if which in (None, "", "new"):
        return new_conversation(), None
    wanted = _last_id if which == "last" else which
    found = _conversations.get(wanted) if wanted else None
    if found is not None and found.messages:
        return found, (f"Follow-up: task {len(found.run_ids) + 1} of conversation "
                       f"{found.conversation_id}; the model sees the earlier tasks.")
    notice = NO_CONVERSATION if which == "last" or not _conversations else UNKNOWN_CONVERSATION
    return new_conversation(), notice


def last_conversation() -> Conversation | None:
    return _conversations.get(_last_id) if _last_id else None


def forget_conversations() -> None:
    global _last_id
    _conversations.clear()
    _last_id = None


def record_task(conversation: Conversation, run_id: str, messages: list[dict],
                cells: list[str], variables: list[str], codes: list[str], stopped: bool = False) -> None:
    """After a task: its transcript is the conversation's, and what the notebook holds now
    (its cells, variables and the steps the model ran) counts as seen."""
    global _last_id
    if not messages:  # the task never reached the model (a bad setting, a missing model)
        return
    conversation.messages = [dict(m) for m in messages]
    conversation.run_ids.append(run_id)
    conversation.stopped = stopped
    seen = conversation.seen  # what the model was shown, over the whole conversation: a task
    seen.cells |= {_plain(c) for c in cells}  # that shares less (--context none) forgets nothing
    seen.variables |= set(variables)
    seen.codes |= {c.strip() for c in codes}
    _last_id = conversation.conversation_id


def continue_from_record(trace: dict) -> bool:
    """A run reproduced from the notebook's record (no model asked) becomes this kernel's
    latest conversation, its transcript the recorded one, so that a follow-up (``-c``)
    continues it as if it had just run. False when the record holds no messages (JupyterLab
    tells the kernel only which runs the notebook holds)."""
    messages = trace.get("messages")
    if not isinstance(messages, list) or not messages \
            or not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        return False
    codes = [str(s.get("code") or "") for s in trace.get("steps") or [] if isinstance(s, dict)]
    # What the model was shown of the cells is not kept apart from the text: the follow-up
    # shows the notebook's cells again, which after a restart is what the kernel now holds.
    record_task(new_conversation(), str(trace.get("run_id") or ""), messages, [], [], codes,
                stopped=trace.get("done_reason") == "stopped")
    return True


def continuation(conversation: Conversation, cells: list[tuple[str, str]], variables: list[str],
                 task: str, budget_tokens: int, count_tokens: Callable[[str], int],
                 present: set[str] | None = None, cells_shared: bool = True) -> list[dict]:
    """The messages of a continued task: the conversation so far, then one user message
    with what changed in the notebook and the task. ``cells``: (source, rendered) in
    notebook order; ``present``: the names the kernel holds now (None: not said)."""
    previous = [dict(m) for m in conversation.messages]
    if previous and previous[-1].get("role") != "assistant":
        # Chat templates want turns to alternate. The model wrote nothing here (stopped
        # before it began, or during a step), so its turn is empty: no words of ours in it.
        previous.append({"role": "assistant", "content": ""})
    changes = describe_changes(conversation.seen, cells, variables, budget_tokens, count_tokens,
                               present, cells_shared)
    if conversation.stopped:
        changes = f"{STOPPED_NOTE}\n\n{changes}"
    return previous + [{"role": "user", "content": follow_up_message(changes, task)}]


def describe_changes(seen: Seen, cells: list[tuple[str, str]], variables: list[str],
                     budget_tokens: int, count_tokens: Callable[[str], int],
                     present: set[str] | None = None, cells_shared: bool = True) -> str:
    """Cells run or edited since the model last saw them (not the model's own steps, not
    task cells) and variables new or changed, within the budget (the newest cells kept
    first). A name is said to be gone only when it was shown before and is not in
    ``present`` (context.parts.names_a_follow_up_may_miss: what the kernel holds, plus what
    the user hides); None says nothing of names."""
    changed = [text for source, text in cells
               if _plain(text) not in seen.cells and source.strip() not in seen.codes
               and not _TASK_CELL.search(source)]
    new_vars = [line for line in variables if line not in seen.variables]
    shown = {_name(line) for line in seen.variables} - {""}
    gone = sorted(shown - present) if present is not None else []
    var_text = "\n".join(new_vars)
    if count_tokens(var_text) > budget_tokens // 3:
        var_text = var_text[: budget_tokens // 3 * 4] + "\n[...]"
    remaining = budget_tokens - count_tokens(var_text)
    kept: list[str] = []
    for text in reversed(changed):
        cost = count_tokens(text)
        if cost > remaining:
            break
        kept.append(text)
        remaining -= cost
    parts = []
    if changed:
        header = "Cells run or edited since your last answer"
        if len(kept) < len(changed):
            header += f" ({len(changed) - len(kept)} earlier ones left out for length)"
        parts.append(f"{header}:\n\n" + "\n\n".join(reversed(kept)))
    elif not cells_shared:
        parts.append("The user does not share the notebook's cells.")
    else:
        parts.append("No cells were run or edited since your last answer.")
    if new_vars:
        parts.append("New or changed variables:\n" + var_text)
    if gone:
        parts.append("No longer defined: " + ", ".join(gone))
    return "\n\n".join(parts)


def _name(line: str) -> str:
    """The variable a summary line is about; "" for a note such as "(and 3 more variables)"."""
    return "" if line.startswith("(") else line.split(":", 1)[0].strip()


def _plain(rendered: str) -> str:
    """A cell's text without the active-cell mark: moving the cursor is no change."""
    return rendered.replace(_ACTIVE, "", 1)
