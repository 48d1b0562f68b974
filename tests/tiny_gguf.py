"""Write a tiny random-weight llama GGUF for tests and benchmarks (well under a second).

The model has a GPT-2 style byte-level BPE tokenizer (256 byte tokens, a few merges,
``<|im_start|>`` / ``<|im_end|>`` control tokens) and, unless told otherwise, a ChatML Jinja
template in ``tokenizer.chat_template``. ``tokenizer="spm"`` gives it a SentencePiece
vocabulary instead, like Mistral's (``<s>`` added at the start, ``</s>`` as end of sequence,
a space before each text fragment, byte fallback tokens).

Its weights are random, so it writes gibberish, but only printable ASCII: embedding channel 0
is a constant that attention and feed-forward never change, and the output row of every
token that would decode to other bytes reads that channel with a large negative weight. The
control tokens are pushed down the same way (so a reply runs to ``max_tokens``) unless
``end_of_turn_logit`` asks for ``<|im_end|>`` to be favoured.

    python tests/tiny_gguf.py /tmp/tiny.gguf     # writes one by hand
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

MODEL_NAME = "tiny-codeact"
# Merges, each a pair of existing tokens (plain text); the results become tokens too.
_WORDS = ("<execute>", "</execute>", "print", "import", "the", "def ", "result", " = ",
          "system", "user", "assistant")
_PRINTABLE = set(range(0x20, 0x7F)) | {0x0A}
_TOKEN_NORMAL, _TOKEN_UNKNOWN, _TOKEN_CONTROL, _TOKEN_BYTE = 1, 2, 3, 6
_BANNED_WEIGHT = -4.0  # times ~8 (channel 0 after RMSNorm): logit about -32


def _byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable unicode characters."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars = list(keep)
    extra = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(keep, chars)}


@dataclass
class _Vocabulary:
    model: str  # tokenizer.ggml.model
    tokens: list[str]
    types: list[int]
    raw: list[bytes | None]  # what each token decodes to; None for control tokens
    bos: str
    eos: str
    add_bos: bool
    merges: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)


# Control tokens of each kind of chat vocabulary, and the end-of-sequence token among them.
CHAT_TOKENS = {
    "chatml": (("<|endoftext|>", "<|im_start|>", "<|im_end|>"), "<|im_end|>"),
    "gemma": (("<|endoftext|>", "<start_of_turn>", "<end_of_turn>"), "<end_of_turn>"),
    "none": (("<|endoftext|>",), "<|endoftext|>"),
}


def _bpe_vocabulary(chat_tokens: str = "chatml") -> _Vocabulary:
    b2u = _byte_to_unicode()
    tokens = [b2u[b] for b in range(256)]
    merges: list[str] = []
    known = set(tokens)
    for word in _WORDS:
        data = word.encode()
        current = b2u[data[0]]
        for byte in data[1:]:
            piece = b2u[byte]
            merged = current + piece
            if merged not in known:
                merges.append(f"{current} {piece}")
                known.add(merged)
                tokens.append(merged)
            current = merged
    u2b = {u: b for b, u in b2u.items()}
    raw: list[bytes | None] = [bytes(u2b[c] for c in tok) for tok in tokens]
    types = [_TOKEN_NORMAL] * len(tokens)
    specials, eos = CHAT_TOKENS[chat_tokens]
    for special in specials:
        tokens.append(special)
        types.append(_TOKEN_CONTROL)
        raw.append(None)
    return _Vocabulary("gpt2", tokens, types, raw, "<|endoftext|>", eos, False, merges)


def _spm_vocabulary() -> _Vocabulary:
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [_TOKEN_UNKNOWN, _TOKEN_CONTROL, _TOKEN_CONTROL] + [_TOKEN_BYTE] * 256
    raw: list[bytes | None] = [None, None, None] + [bytes([b]) for b in range(256)]
    pieces = ["\u2581"] + [chr(c) for c in range(0x21, 0x7F)]
    for word in _WORDS:
        text = word.replace(" ", "\u2581")
        for n in range(2, len(text) + 1):
            pieces.append(text[:n])
            pieces.append("\u2581" + text[:n])
    for piece in dict.fromkeys(pieces):
        tokens.append(piece)
        types.append(_TOKEN_NORMAL)
        raw.append(piece.replace("\u2581", " ").encode())
    for special in ("<|im_start|>", "<|im_end|>"):
        tokens.append(special)
        types.append(_TOKEN_CONTROL)
        raw.append(None)
    scores = [float(len(t)) if ty == _TOKEN_NORMAL else 0.0 for t, ty in zip(tokens, types)]
    return _Vocabulary("llama", tokens, types, raw, "<s>", "</s>", True, scores=scores)


def write_tiny_gguf(
    path: str | Path,
    *,
    context_length: int = 4096,
    chat_template: str | None = CHATML_TEMPLATE,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    end_of_turn_logit: float | None = None,
    token_logits: dict[str, float] | None = None,
    tokenizer: str = "bpe",
    seed: int = 0,
    name: str = MODEL_NAME,
    chat_tokens: str = "chatml",
) -> Path:
    """Write the model to ``path`` and return it. ``chat_template=None`` leaves the template out;
    ``end_of_turn_logit`` (e.g. 30.0) makes ``<|im_end|>`` the likeliest next token;
    ``token_logits`` ({"<execute>": 3.0}) raises the logit of those tokens (texts in the
    vocabulary) by about that much; ``chat_tokens`` ("chatml", "gemma", "none") picks the
    control tokens of the byte-level vocabulary."""
    import gguf

    path = Path(path)
    rng = np.random.default_rng(seed)
    vocab = _spm_vocabulary() if tokenizer == "spm" else _bpe_vocabulary(chat_tokens)
    tokens, raw = vocab.tokens, vocab.raw
    n_vocab, n_ff, head_dim = len(tokens), hidden * 2, hidden // heads

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_context_length(context_length)
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model(vocab.model)
    if vocab.model == "gpt2":
        writer.add_tokenizer_pre("gpt-2")
        writer.add_token_merges(vocab.merges)
    else:
        writer.add_token_scores(vocab.scores)
        writer.add_unk_token_id(0)
    writer.add_token_list(tokens)
    writer.add_token_types(vocab.types)
    writer.add_bos_token_id(tokens.index(vocab.bos))
    writer.add_eos_token_id(tokens.index(vocab.eos))
    writer.add_add_bos_token(vocab.add_bos)
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    def rand(*shape: int, std: float = 0.02) -> np.ndarray:
        return (rng.standard_normal(shape) * std).astype(np.float32)

    embed = rand(n_vocab, hidden, std=0.01)
    embed[:, 0] = 1.0  # the constant channel (after RMSNorm it reads about sqrt(hidden))
    output = rand(n_vocab, hidden, std=1.0)
    for token_id, data in enumerate(raw):
        allowed = data is not None and all(b in _PRINTABLE for b in data)
        output[token_id, 0] = 0.0 if allowed else _BANNED_WEIGHT
    if end_of_turn_logit is not None:
        output[tokens.index("<|im_end|>"), 0] = end_of_turn_logit / np.sqrt(hidden)
    by_text = {data.decode("latin-1"): i for i, data in enumerate(raw) if data is not None}
    for text, logit in (token_logits or {}).items():
        output[by_text[text], 0] = logit / np.sqrt(hidden)

    writer.add_tensor("token_embd.weight", embed)
    writer.add_tensor("output_norm.weight", np.ones(hidden, dtype=np.float32))
    writer.add_tensor("output.weight", output)
    for i in range(layers):
        attn_out, ffn_down = rand(hidden, hidden), rand(hidden, n_ff)
        attn_out[0, :] = 0.0  # nothing writes into the constant channel
        ffn_down[0, :] = 0.0
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(hidden, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.attn_q.weight", rand(hidden, hidden))
        writer.add_tensor(f"blk.{i}.attn_k.weight", rand(hidden, hidden))
        writer.add_tensor(f"blk.{i}.attn_v.weight", rand(hidden, hidden))
        writer.add_tensor(f"blk.{i}.attn_output.weight", attn_out)
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(hidden, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", rand(n_ff, hidden))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", rand(n_ff, hidden))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", ffn_down)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def write_tiny_gguf_without_template(path: str | Path, **options) -> Path:
    """The same model with no ``tokenizer.chat_template`` (the backend falls back to ChatML)."""
    return write_tiny_gguf(path, chat_template=None, **options)


if __name__ == "__main__":
    print(write_tiny_gguf(sys.argv[1] if len(sys.argv) > 1 else "tiny.gguf"))
