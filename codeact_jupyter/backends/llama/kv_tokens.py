"""Prompt tokens that reuse what the llama.cpp context already holds.

Within a task the prompt only grows: each turn's text starts with the previous prompt and
the reply the model just wrote. For every loaded model we remember which text the tokens in
its context stand for, and the places where a prefix of those tokens spells a prefix of that
text exactly: the end of each prompt, and every token the model generated. A new prompt keeps
the tokens up to the last such place that it shares, and only the rest is tokenized.

So the reply stays as it was generated (re-tokenizing its text can give other tokens, and the
cache would be lost from the first difference), and llama-cpp-python's prefix matching then
evaluates only the new tokens.
"""
from __future__ import annotations

import ctypes
import weakref
from dataclasses import dataclass
from typing import Any


@dataclass
class _Record:
    tokens: list[int]  # the context's tokens, as they were when recorded
    text: bytes  # what they stand for (a leading BOS token stands for nothing)
    cuts: list[tuple[int, int]]  # (n_tokens, n_bytes): tokens[:n_tokens] spell text[:n_bytes]


_records: "weakref.WeakKeyDictionary[Any, _Record]" = weakref.WeakKeyDictionary()


def token_piece(llm: Any, token: int) -> bytes:
    """The bytes ``token`` stands for, control tokens spelled out."""
    import llama_cpp

    size = 64
    while True:
        buffer = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_token_to_piece(llm._model.vocab, token, buffer, size, 0, True)
        if n >= 0:
            return buffer.raw[:n]
        size = -n


class ContextTokens:
    """Builds prompt tokens for one model, and records what each completion left behind."""

    def __init__(self, llm: Any, head: list[int]):
        self.llm = llm
        self.head = head  # [BOS] when the model wants one and the template does not write it
        self._pieces: dict[int, bytes] = {}
        self._pending: tuple[bytes, list[tuple[int, int]]] | None = None

    def tokens(self, text: str) -> list[int]:
        data = text.encode("utf-8")
        record = _records.get(self.llm)
        if record is not None:
            in_context = _common_prefix(record.tokens, self._context())
            shared = _common_prefix(record.text, data)
            for n_tokens, n_bytes in reversed(record.cuts):
                if n_tokens > in_context or n_bytes > shared or n_tokens < len(self.head):
                    continue
                new = self._continuation(data[n_bytes:]) if n_bytes else self._tokenize(data)
                if new is None:
                    continue
                cuts = [c for c in record.cuts if c[0] <= n_tokens]
                self._pending = (data, cuts + [(n_tokens + len(new), len(data))])
                return record.tokens[:n_tokens] + new
        new = self._tokenize(data)
        head = len(self.head)
        self._pending = (data, [(head, 0), (head + len(new), len(data))])
        return self.head + new

    def record(self, prompt: list[int]) -> None:
        """After a completion: the context holds ``prompt`` and the tokens generated since
        (all but the last, which is sampled and never evaluated)."""
        context = self._context()
        if self._pending is None or context[: len(prompt)] != prompt:
            _records.pop(self.llm, None)
            return
        data, cuts = self._pending
        self._pending = None
        parts, n_bytes = [data], len(data)
        for i, token in enumerate(context[len(prompt):], start=len(prompt) + 1):
            piece = self.piece(token)
            parts.append(piece)
            n_bytes += len(piece)
            cuts.append((i, n_bytes))
        _records[self.llm] = _Record(context, b"".join(parts), cuts)

    def piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = token_piece(self.llm, token)
        return piece

    def _context(self) -> list[int]:
        return self.llm.input_ids[: self.llm.n_tokens].tolist()

    def _tokenize(self, data: bytes) -> list[int]:
        return self.llm.tokenize(data, add_bos=False, special=True) if data else []

    def _continuation(self, rest: bytes) -> list[int] | None:
        """Tokens for text that continues the context mid-way, or None when the tokenizer
        would change the text. SentencePiece tokenizers put a space before the first word of
        any text they are given: then tokenize after a newline and drop the newline's tokens."""
        tokens = self._tokenize(rest)
        if self._spells_start(tokens, rest):
            return tokens
        marker = self._tokenize(b"\n")
        tokens = self._tokenize(b"\n" + rest)
        if tokens[: len(marker)] == marker and self._spells_start(tokens[len(marker):], rest):
            return tokens[len(marker):]
        return None

    def _spells_start(self, tokens: list[int], data: bytes) -> bool:
        """Do ``tokens`` spell ``data`` exactly up to their first special token? (After a
        special token a tokenizer may add a space, as it does when given the whole prompt.)"""
        n_bytes = 0
        for token in tokens:
            piece = self.piece(token)
            if self._is_special(token):
                return data.startswith(piece, n_bytes)
            if not data.startswith(piece, n_bytes):
                return False
            n_bytes += len(piece)
        return n_bytes == len(data)

    def _is_special(self, token: int) -> bool:
        import llama_cpp

        special = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
        return bool(llama_cpp.llama_vocab_get_attr(self.llm._model.vocab, token) & special)


def _common_prefix(a: Any, b: Any) -> int:
    """Length of the longest common prefix of two sequences (bytes or lists)."""
    low, high = 0, min(len(a), len(b))
    while low < high:  # binary search: slice comparisons run in C
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low
