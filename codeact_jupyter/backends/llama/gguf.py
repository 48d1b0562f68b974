"""Read what the llama backend needs from a GGUF file's header, before llama.cpp loads it.

The header says how long a context the model was trained for (which bounds ``n_ctx``), its
name, quantization and chat template, and lets us refuse a file that is not GGUF at all with
a clear message instead of a crash inside llama.cpp. Arrays (the vocabulary) are skipped.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..base import BackendError

GGUF_MAGIC = b"GGUF"

# llama.h's LLAMA_FTYPE values (the GGUF key general.file_type).
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4_MOE",
}

# GGUF value types: struct format for the fixed-size ones.
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class GGUFInfo:
    """The header fields the backend uses; ``metadata`` holds every scalar and string key."""

    path: Path
    metadata: dict[str, Any]

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "llama"))

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name") or self.path.stem)

    @property
    def quantization(self) -> str | None:
        file_type = self.metadata.get("general.file_type")
        return FILE_TYPES.get(file_type, f"type {file_type}") if file_type is not None else None

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if value else None

    @property
    def chat_template(self) -> str | None:
        return self.metadata.get("tokenizer.chat_template") or None

    def kv_cache_bytes(self, n_ctx: int) -> int | None:
        """Bytes of an f16 K/V cache for ``n_ctx`` tokens, or None when the header lacks sizes."""
        arch, md = self.architecture, self.metadata
        try:
            layers = int(md[f"{arch}.block_count"])
            width = int(md[f"{arch}.embedding_length"])
            heads = int(md[f"{arch}.attention.head_count"])
            kv_heads = int(md.get(f"{arch}.attention.head_count_kv", heads))
        except (KeyError, TypeError, ValueError):
            return None
        return 2 * 2 * layers * n_ctx * kv_heads * (width // heads)


def is_gguf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == GGUF_MAGIC


def read_gguf_info(path: Path) -> GGUFInfo:
    """Parse the header of ``path``. Raise BackendError when it is not a readable GGUF file."""
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
            if magic != GGUF_MAGIC:
                raise BackendError(_not_gguf_message(path, magic))
            version = _read(f, "<I")
            if version < 2:
                raise BackendError(
                    f"{path} is a GGUF version {version} file, which llama.cpp no longer reads. "
                    "Download a current conversion of the model."
                )
            _read(f, "<Q")  # tensor count
            metadata: dict[str, Any] = {}
            for _ in range(_read(f, "<Q")):
                key = _read_string(f)
                metadata[key] = _read_value(f, _read(f, "<I"))
    except (struct.error, UnicodeDecodeError, OverflowError, MemoryError) as exc:
        raise BackendError(
            f"{path} starts like a GGUF file but its header is damaged ({exc}). The download may "
            "be incomplete: delete it and download it again."
        ) from exc
    return GGUFInfo(path=path, metadata=metadata)


def _not_gguf_message(path: Path, magic: bytes) -> str:
    hint = ""
    if magic[:2] == b"PK" or magic[:1] == b"{" or magic[:4] == b"\x80\x02\x8a\x0a":
        hint = (" It looks like a PyTorch or safetensors checkpoint; llama.cpp needs a GGUF "
                "conversion.")
    elif magic.lstrip().startswith(b"<") or magic.startswith(b"ver"):
        hint = " It looks like a web page or a Git LFS pointer rather than the model itself."
    return (
        f"{path} is not a GGUF model file (it does not start with the bytes 'GGUF').{hint} "
        "Pass the path of a .gguf file, e.g. `%%codeact --model /path/to/model.Q4_K_M.gguf`."
    )


def _read(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = f.read(size)
    return struct.unpack(fmt, data)[0]


def _read_string(f: BinaryIO) -> str:
    length = _read(f, "<Q")
    if length > 1 << 30:
        raise OverflowError(f"a string of {length} bytes")
    data = f.read(length)
    if len(data) != length:
        raise struct.error("unexpected end of file")
    return data.decode("utf-8")


def _read_value(f: BinaryIO, kind: int) -> Any:
    if kind in _SCALARS:
        return _read(f, _SCALARS[kind])
    if kind == _STRING:
        return _read_string(f)
    if kind == _ARRAY:
        item_kind, count = _read(f, "<I"), _read(f, "<Q")
        if item_kind in _SCALARS:
            f.seek(struct.calcsize(_SCALARS[item_kind]) * count, 1)
        elif item_kind == _STRING:
            for _ in range(count):
                f.seek(_read(f, "<Q"), 1)
        else:
            for _ in range(count):
                _read_value(f, item_kind)
        return None  # arrays (vocabulary, merges) are not needed here
    raise struct.error(f"unknown value type {kind}")
