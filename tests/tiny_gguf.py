"""Write a tiny random-weight llama GGUF for tests and benchmarks (well under a second).

The model has a GPT-2 style byte-level BPE tokenizer (256 byte tokens, a few merges,
``<|im_start|>`` / ``<|im_end|>`` control tokens) and, unless told otherwise, a ChatML Jinja
template in ``tokenizer.chat_template``. Its weights are random, so it writes gibberish, but
only printable ASCII: embedding channel 0 is a constant that attention and feed-forward never
change, and the output row of every token that would decode to other bytes reads that channel
with a large negative weight. The control tokens are pushed down the same way (so a reply runs
to ``max_tokens``) unless ``end_of_turn_logit`` asks for ``<|im_end|>`` to be favoured.

    python tests/tiny_gguf.py /tmp/tiny.gguf     # writes one by hand
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

MODEL_NAME = "tiny-codeact"
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
# Merges, each a pair of existing tokens (plain text); the results become tokens too.
_WORDS = ("<execute>", "</execute>", "print", "import", "the", "def ", "result", " = ",
          "system", "user", "assistant")
_PRINTABLE = set(range(0x20, 0x7F)) | {0x0A}
_TOKEN_NORMAL, _TOKEN_CONTROL = 1, 3
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


def _vocabulary() -> tuple[list[str], list[int], list[str], list[bytes | None]]:
    """Token texts, token types, merges, and the bytes each token decodes to (None: control)."""
    b2u = _byte_to_unicode()
    tokens = [b2u[b] for b in range(256)]
    merges: list[str] = []
    known = {t: i for i, t in enumerate(tokens)}
    for word in _WORDS:
        data = word.encode()
        current = b2u[data[0]]
        for byte in data[1:]:
            piece = b2u[byte]
            merged = current + piece
            if merged not in known:
                merges.append(f"{current} {piece}")
                known[merged] = len(tokens)
                tokens.append(merged)
            current = merged
    u2b = {u: b for b, u in b2u.items()}
    raw: list[bytes | None] = [bytes(u2b[c] for c in tok) for tok in tokens]
    types = [_TOKEN_NORMAL] * len(tokens)
    for special in SPECIAL_TOKENS:
        tokens.append(special)
        types.append(_TOKEN_CONTROL)
        raw.append(None)
    return tokens, types, merges, raw


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
    seed: int = 0,
    name: str = MODEL_NAME,
) -> Path:
    """Write the model to ``path`` and return it. ``chat_template=None`` leaves the template out;
    ``end_of_turn_logit`` (e.g. 30.0) makes ``<|im_end|>`` the likeliest next token;
    ``token_logits`` ({"<execute>": 3.0}) raises the logit of those tokens (texts in the
    vocabulary) by about that much."""
    import gguf

    path = Path(path)
    rng = np.random.default_rng(seed)
    tokens, types, merges, raw = _vocabulary()
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
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(tokens.index("<|endoftext|>"))
    writer.add_eos_token_id(tokens.index("<|im_end|>"))
    writer.add_add_bos_token(False)
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
    u2b_text = {bytes(data).decode("latin-1"): i for i, data in enumerate(raw) if data is not None}
    for text, logit in (token_logits or {}).items():
        output[u2b_text[text], 0] = logit / np.sqrt(hidden)

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
