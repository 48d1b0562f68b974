"""A reasoning model's thinking, taken out of its reply before anything in it is read.

Reasoning models (DeepSeek-R1 distills, QwQ, Qwen3, gpt-oss, Magistral) think before they
act, and their drafts hold code they then reject: nothing inside the thinking may run, and
none of it is the answer. Served without a reasoning parser, the thinking comes in the
reply's text, in one of these spellings:

- ``<think>…</think>``, ``<thinking>…</thinking>``, ``<reasoning>…</reasoning>``;
- a reply that begins inside the block: the chat template already wrote ``<think>`` into
  the prompt (R1 distills, QwQ), so only ``</think>`` comes back;
- gpt-oss's harmony channels: ``<|channel|>analysis<|message|>…<|end|>``, then
  ``<|start|>assistant<|channel|>final<|message|>`` and the reply proper;
- a block never closed, because the token limit cut the reply mid-thought: all of it is
  thinking (``Split.unclosed``).

Servers with a parser send the thinking apart (``reasoning_content`` / ``reasoning``
deltas); the loop joins both. The transcript keeps the reply without its thinking, as most
chat templates do with earlier turns (Qwen3's, DeepSeek-R1's, gpt-oss's), and DeepSeek's
API refuses ``reasoning_content`` sent back; the thinking itself is shown and traced.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_TAGS = "think|thinking|reasoning"
_BLOCK = re.compile(rf"<(?P<tag>{_TAGS})\s*>(?P<body>.*?)</(?P=tag)\s*>", re.S | re.I)
_OPEN = re.compile(rf"<(?:{_TAGS})\s*>", re.I)
_CLOSE = re.compile(rf"</(?:{_TAGS})\s*>", re.I)
# gpt-oss (harmony): thinking goes in the analysis channel; the reply in the final one.
_HARMONY_THINKING = re.compile(
    r"(?:<\|start\|>\s*assistant\s*)?<\|channel\|>\s*analysis\s*<\|message\|>(?P<body>.*?)"
    r"(?:<\|end\|>|(?=<\|start\|>)|(?=<\|channel\|>)|\Z)", re.S)
_HARMONY_FINAL = re.compile(r"(?:<\|start\|>\s*assistant\s*)?<\|channel\|>\s*final\s*<\|message\|>")
_HARMONY_ENDS = re.compile(r"<\|(?:return|end|call)\|>")


@dataclass(frozen=True)
class Split:
    reasoning: str  # the thinking, blocks joined by a blank line ("" when there was none)
    text: str  # the reply without it: what is parsed for a step or an answer
    unclosed: bool = False  # a thinking block ran to the end of the reply (cut mid-thought)


def split_reasoning(text: str) -> Split:
    thoughts: list[str] = []
    if "<|channel|>" in text:
        text = _harmony(text, thoughts)
    # Begun in the prompt: a closing tag before any opening one closes the reply's start.
    close, open_ = _CLOSE.search(text), _OPEN.search(text)
    if close and (open_ is None or close.start() < open_.start()):
        thoughts.append(text[: close.start()])
        text = text[close.end():]

    def take(match: re.Match) -> str:
        thoughts.append(match.group("body"))
        return ""

    text = _BLOCK.sub(take, text)
    unclosed = False
    open_ = _OPEN.search(text)
    if open_:
        thoughts.append(text[open_.end():])
        text, unclosed = text[: open_.start()], True
    reasoning = "\n\n".join(t.strip() for t in thoughts if t.strip())
    return Split(reasoning=reasoning, text=text.strip() if thoughts else text, unclosed=unclosed)


def _harmony(text: str, thoughts: list[str]) -> str:
    def take(match: re.Match) -> str:
        thoughts.append(match.group("body"))
        return ""

    text = _HARMONY_THINKING.sub(take, text)
    text = _HARMONY_FINAL.sub("", text)
    return _HARMONY_ENDS.sub("", text)


def stop_hit_inside(reasoning: str) -> bool:
    """Did the ``</execute>`` stop string end the reply inside its thinking? A draft step in
    the thinking was then cut at its closing tag: the thinking ends in an open block."""
    return reasoning.rfind("<execute>") > reasoning.rfind("</execute>")


def stopped_in_thinking(text: str, streamed_thinking: str, reply) -> bool:
    """Did the stop end a reply (``reply``: its parse) that held only thinking, inside it?"""
    if not reply.is_empty:
        return False
    in_text = reply.reasoning if reply.reasoning_unclosed else ""
    return stop_hit_inside(in_text or (streamed_thinking if not text.strip() else ""))


STOP_IN_THINKING = ("The model's thinking held a draft step, and the `</execute>` stop string "
                    "ended its reply there; asking again without that stop string for the rest "
                    "of the task.")


def history_rule(setting: str, backend) -> str:
    """``reasoning_history``: "auto" keeps the thinking for a local model whose chat template
    handles ``</think>`` itself (Qwen3's and the R1 distills' drop or keep it by their own
    rule), and drops it elsewhere."""
    if setting != "auto":
        return setting
    return "keep" if getattr(backend, "template_reads_thinking", False) else "drop"


def with_thinking(reasoning: str, history: str):
    """How a reply goes back into the transcript: without its thinking ("drop"), or after
    it in a ``<think>`` block ("keep"), for models trained to see their earlier thinking; a
    local model's chat template may still drop it."""
    if history != "keep" or not reasoning:
        return lambda text: text
    return lambda text: f"<think>\n{reasoning}\n</think>\n\n{text}"


def only_reasoned_nudge() -> str:
    """What the model reads after a reply that held thinking and nothing else."""
    return ("Observation:\n[Your reply held only your reasoning: nothing ran and the user has "
            "no answer. Now act on it: run Python code inside <execute></execute>, or answer "
            "the task in plain words.]")


def only_reasoned_notice(chars: int, cut: bool) -> str:
    why = " before the token limit cut it" if cut else ""
    return (f"The model only reasoned ({chars:,} characters of thinking){why} and gave no step "
            "or answer; asking it once more.")
