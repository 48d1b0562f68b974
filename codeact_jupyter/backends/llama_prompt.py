"""Prompts for a local model: the model's own chat template, and tokens that reuse the cache.

The transcript only grows, so each turn's prompt text starts with the previous prompt and
the reply the model just wrote. :meth:`PromptBuilder.tokens` keeps the tokens already in the
model's context for that common text, exactly as they were evaluated (the reply as it was
generated, not re-tokenized), and tokenizes only the rest. llama-cpp-python then reuses its
KV cache for the shared prefix and evaluates only the new tokens.
"""
from __future__ import annotations

from typing import Any

from .base import BackendError

# Used when the GGUF file carries no chat template (the format CodeActAgent was trained on).
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# End-of-turn texts that also stop a reply when they appear as plain text.
_END_OF_TURN_TEXTS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>")


class PromptBuilder:
    """Renders messages with a chat template and turns prompt text into tokens for ``llm``."""

    def __init__(self, llm: Any, chat_template: str | None):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llm = llm
        self.from_model = bool(chat_template)
        self.template = chat_template or CHATML_TEMPLATE
        self._pieces: dict[int, bytes] = {}
        self.bos = llm.token_bos()
        self.eos = llm.token_eos()
        self.bos_text = self._token_text(self.bos)
        self.eos_text = self._token_text(self.eos)
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
        self._add_bos = self.bos >= 0 and bool(llm._model.add_bos_token())
        self._space_prefix = self._adds_space_prefix()

    # -- text -------------------------------------------------------------------------------

    def render(self, messages: list[dict]) -> str:
        """The prompt text, ending where the assistant's reply begins."""
        try:
            return self._formatter(messages=messages).prompt
        except Exception as exc:  # the template's raise_exception, or a Jinja error
            raise BackendError(
                f"The model's chat template could not format this conversation: {exc}"
            ) from exc

    def end_of_turn_stops(self) -> list[str]:
        """End-of-turn texts of this template, for when the model writes them as plain text
        (as control tokens they end the reply anyway)."""
        stops = [t for t in _END_OF_TURN_TEXTS if t in self.template]
        if self.eos_text and self.eos_text not in stops:
            stops.append(self.eos_text)
        return stops

    # -- tokens -----------------------------------------------------------------------------

    def count(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def tokens(self, text: str) -> list[int]:
        """Tokens for the prompt ``text``, keeping those already in the context that spell the
        same text."""
        data = text.encode("utf-8")
        head = [self.bos] if self._add_bos and not text.startswith(self.bos_text or "\0") else []
        cached = self.llm.input_ids[: self.llm.n_tokens].tolist()
        keep, offset = len(head), 0
        if cached[: len(head)] == head:
            for token in cached[len(head):]:
                piece = self._piece(token)
                if not piece or not data.startswith(piece, offset):
                    break
                keep += 1
                offset += len(piece)
            if self._space_prefix:
                keep, offset = self._back_off_to_fragment_edge(cached, keep, offset, data, len(head))
        else:
            keep = 0
        rest = data[offset:]
        new = self.llm.tokenize(rest, add_bos=False, special=True) if rest else []
        return head + cached[len(head):keep] + new if keep else head + new

    def _back_off_to_fragment_edge(
        self, cached: list[int], keep: int, offset: int, data: bytes, start: int
    ) -> tuple[int, int]:
        """Tokenizers that add a space before each text fragment (SentencePiece) must resume
        where a fragment begins: right after a control token, or at one."""
        while keep > start:
            if self._is_control(cached[keep - 1]) or self._starts_with_control(data[offset:]):
                break
            keep -= 1
            offset -= len(self._piece(cached[keep]))
        return keep, offset

    def _starts_with_control(self, data: bytes) -> bool:
        if not data:
            return True
        first = self.llm.tokenize(data[:64], add_bos=False, special=True)[:1]
        return bool(first) and self._is_control(first[0])

    def _is_control(self, token: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_control(self.llm._model.vocab, token))

    def _piece(self, token: int) -> bytes:
        """The bytes ``token`` stands for, control tokens spelled out."""
        piece = self._pieces.get(token)
        if piece is None:
            import ctypes

            import llama_cpp

            size = 64
            while True:
                buffer = ctypes.create_string_buffer(size)
                n = llama_cpp.llama_token_to_piece(self.llm._model.vocab, token, buffer, size, 0, True)
                if n >= 0:
                    break
                size = -n
            piece = self._pieces[token] = buffer.raw[:n]
        return piece

    def _token_text(self, token: int) -> str:
        return self._piece(token).decode("utf-8", "replace") if token >= 0 else ""

    def _adds_space_prefix(self) -> bool:
        tokens = self.llm.tokenize(b"a", add_bos=False, special=False)
        return bool(tokens) and self._piece(tokens[0]).startswith(b" ")
