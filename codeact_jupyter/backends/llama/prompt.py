"""Prompt text for a local model from its chat template (chat_templates.py picks which), and
the end-of-turn texts that stop a reply."""
from __future__ import annotations

import re
from typing import Any

from ..base import BackendError
from .chat_templates import CHATML
from .kv_tokens import ContextTokens, token_piece

# End-of-turn texts that also stop a reply when they appear as plain text.
_END_OF_TURN_TEXTS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                      "<|return|>", "<|call|>")
# gpt-oss's harmony format ends each channel's message with <|end|>: after the thinking (the
# analysis channel) the reply goes on, so there <|end|> ends nothing.
_HARMONY = "<|channel|>"
_TOOL_ROLE = re.compile(r"""role['"\]]*\s*==\s*['"]tool['"]""")


class PromptBuilder:
    """Renders messages with a chat template and turns prompt text into tokens for ``llm``."""

    def __init__(self, llm: Any, chat_template: str | None):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llm = llm
        self.template = chat_template or CHATML
        self.bos = llm.token_bos()
        self.eos = llm.token_eos()
        self.bos_text = _text(llm, self.bos)
        self.eos_text = _text(llm, self.eos)
        try:
            self._formatter = Jinja2ChatFormatter(
                self.template, eos_token=self.eos_text, bos_token=self.bos_text,
                add_generation_prompt=True,
            )
        except Exception as exc:  # jinja2.TemplateSyntaxError and friends
            raise BackendError(
                f"The model's chat template (tokenizer.chat_template in the GGUF file) is not a "
                f"valid Jinja template: {exc}"
            ) from exc
        add_bos = self.bos >= 0 and bool(llm._model.add_bos_token())
        # The model wants a BOS token first; the template may write it itself.
        needs_bos = add_bos and not (self.bos_text and "bos_token" in self.template)
        self.context = ContextTokens(llm, [self.bos] if needs_bos else [])

    # -- text -------------------------------------------------------------------------------

    def render(self, messages: list[dict], tools: list[dict] | None = None) -> str:
        """The prompt text, ending where the assistant's reply begins; ``tools`` are given to
        the template (Qwen's and Llama 3.1's declare them in their own words)."""
        try:
            return self._formatter(messages=messages, tools=tools).prompt
        except Exception as exc:  # the template's raise_exception, or a Jinja error
            raise BackendError(
                f"The model's chat template could not format this conversation: {exc}"
            ) from exc

    def end_of_turn_stops(self) -> list[str]:
        """End-of-turn texts of this template, for when the model writes them as plain text
        (as control tokens they end the reply anyway)."""
        stops = [t for t in _END_OF_TURN_TEXTS if t in self.template
                 and not (t == "<|end|>" and _HARMONY in self.template)]
        if self.eos_text and self.eos_text not in stops:
            stops.append(self.eos_text)
        return stops

    @property
    def reads_thinking(self) -> bool:
        """Does the template handle ``</think>`` in earlier replies itself (Qwen3, R1 distills)?"""
        return "</think>" in self.template

    @property
    def writes_tool_turns(self) -> bool:
        """Does the template write a tool's result its own way (Qwen2.5's ``<tool_response>``
        user turn, Llama 3.1's ``ipython`` role)? Then results go to it as ``tool`` messages."""
        return bool(_TOOL_ROLE.search(self.template))

    # -- tokens -----------------------------------------------------------------------------

    def count(self, text: str) -> int:
        """Tokens in ``text`` on its own (control-token texts count as one token)."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def tokens(self, text: str) -> list[int]:
        """Tokens for the prompt ``text``, reusing those already in the model's context."""
        return self.context.tokens(text)


def _text(llm: Any, token: int) -> str:
    return token_piece(llm, token).decode("utf-8", "replace") if token >= 0 else ""
