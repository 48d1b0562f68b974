"""Chat templates for GGUF files that carry none, or a wrong one.

The setting ``CodeActMagics.chat_template`` takes a known name (``chatml``, ``gemma``,
``llama-3``, ``mistral``), Jinja text, or the path of a ``.jinja`` file. The kernel resolves
it to text (:func:`resolve_setting`, paths are relative to the kernel's folder); the model host
then picks what the prompt uses (:func:`choose_template`): the setting, else the file's own
template, else a template guessed from the file's vocabulary (a Gemma file has
``<start_of_turn>`` tokens), else ChatML, the format CodeActAgent was trained on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..base import BackendError

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# Gemma has no system role: the system text opens the first user turn.
GEMMA = (
    "{{ bos_token }}{% set ns = namespace(system='') %}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{% set ns.system = message['content'] + '\n\n' %}"
    "{% else %}"
    "{{ '<start_of_turn>' + ('model' if message['role'] == 'assistant' else 'user') + '\n' }}"
    "{{ ns.system + message['content'] + '<end_of_turn>\n' }}{% set ns.system = '' %}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
LLAMA_3 = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}"
    "{{ message['content'] + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    "{% endif %}"
)
# Mistral instruct: [INST] ... [/INST] around user turns, </s> after each reply.
MISTRAL = (
    "{{ bos_token }}{% set ns = namespace(system='') %}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{% set ns.system = message['content'] + '\n\n' %}"
    "{% elif message['role'] == 'user' %}"
    "{{ '[INST] ' + ns.system + message['content'] + ' [/INST]' }}{% set ns.system = '' %}"
    "{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}"
)

KNOWN = {"chatml": CHATML, "gemma": GEMMA, "llama-3": LLAMA_3, "mistral": MISTRAL}
_ALIASES = {"llama3": "llama-3", "llama-3.1": "llama-3", "gemma3": "gemma", "gemma-3": "gemma",
            "gemma2": "gemma", "im_start": "chatml", "mistral-instruct": "mistral"}
# A special token that only that family's vocabulary has, to guess a missing template.
_MARKERS = (("chatml", "<|im_start|>"), ("gemma", "<start_of_turn>"),
            ("llama-3", "<|start_header_id|>"), ("mistral", "[INST]"))
HOW_TO_SET = ("set one with `%config CodeActMagics.chat_template = 'gemma'` (or chatml, "
              "llama-3, mistral, Jinja text, or a .jinja file)")


@dataclass(frozen=True)
class ChosenTemplate:
    text: str
    label: str  # for the task's first line: "from the file", "gemma (setting)", ...
    notices: list[str] = field(default_factory=list)


def resolve_setting(spec: str | None) -> tuple[str, str] | None:
    """``(jinja_text, label)`` for the chat_template setting, or None when it is empty."""
    spec = (spec or "").strip()
    if not spec:
        return None
    name = _ALIASES.get(spec.lower(), spec.lower())
    if name in KNOWN:
        return KNOWN[name], name
    if "{{" in spec or "{%" in spec:
        return spec, "custom"
    path = Path(spec).expanduser()
    if path.is_file():
        try:
            return path.read_text("utf-8"), path.name
        except (OSError, UnicodeDecodeError) as exc:
            raise BackendError(f"Could not read the chat template file {path}: {exc}") from exc
    if path.suffix in (".jinja", ".j2", ".jinja2", ".txt") or "/" in spec:
        raise BackendError(f"Chat template file not found: {path.resolve()}.")
    raise BackendError(
        f"Unknown chat template {spec!r}: use one of {', '.join(KNOWN)}, Jinja text, or the "
        "path of a .jinja file."
    )


def choose_template(llm: Any, from_file: str | None,
                    setting: tuple[str, str] | None) -> ChosenTemplate:
    """The template the prompt uses, and what the user should be told about it."""
    if setting is not None:
        text, label = setting
        return ChosenTemplate(text, f"{label} (setting)")
    if from_file:
        return ChosenTemplate(from_file, "from the file")
    family = next((name for name, marker in _MARKERS if _is_one_token(llm, marker)), None)
    if family is not None:
        notice = (f"The model file has no chat template; using {family}, guessed from its "
                  f"vocabulary. If replies look wrong, {HOW_TO_SET}.")
        return ChosenTemplate(KNOWN[family], f"{family} (guessed)", [notice])
    notice = ("The model file has no chat template and its vocabulary has no ChatML tokens "
              "(<|im_start|> is plain text to it), so ChatML prompts will read poorly: "
              f"{HOW_TO_SET}.")
    return ChosenTemplate(CHATML, "chatml (none in the file: set chat_template)", [notice])


def _is_one_token(llm: Any, text: str) -> bool:
    return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)) == 1
