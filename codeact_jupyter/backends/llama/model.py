"""Loading a GGUF model with llama-cpp-python, once per kernel process.

One model is kept loaded (a 7B model takes gigabytes). Every task that asks for the same file
with the same load options gets the same ``Llama`` object back, so its KV cache carries over;
asking for another file or other options frees the old one first. :func:`unload` frees it on
request.
"""
from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..base import BackendError
from .cpu_threads import physical_cores
from .gguf import GGUFInfo

# llama.cpp's own log lines (loading, buffer sizes, timings). The model host turns them on:
# its standard error is a log file. Elsewhere (tests, benchmarks) they stay quiet.
VERBOSE = False

DEVICES = ("auto", "cpu", "gpu")
_GPU_KINDS = (("CUDA", "CUDA"), ("ROCm", "ROCm"), ("HIP", "ROCm"), ("Metal", "Metal"),
              ("Vulkan", "Vulkan"), ("SYCL", "SYCL"), ("MUSA", "MUSA"), ("CANN", "CANN"),
              ("OpenCL", "OpenCL"))


@dataclass(frozen=True)
class LoadOptions:
    """Everything that makes one loaded model different from another."""

    path: str
    size: int
    mtime_ns: int
    n_ctx: int
    n_gpu_layers: int
    threads: int = 0  # 0: the machine's physical cores
    extra_buffers: bool = False  # llama.cpp's extra CPU buffer types (AMX, repacking)

    @classmethod
    def for_file(cls, path: Path, *, n_ctx: int, n_gpu_layers: int, threads: int = 0,
                 extra_buffers: bool = False) -> "LoadOptions":
        stat = path.stat()
        return cls(str(path), stat.st_size, stat.st_mtime_ns, n_ctx, n_gpu_layers,
                   max(0, threads), extra_buffers)


@dataclass
class LoadedModel:
    llm: Any  # llama_cpp.Llama
    options: LoadOptions
    info: GGUFInfo

    @property
    def threads(self) -> int:
        return int(self.llm.n_threads)


_current: LoadedModel | None = None


def get_model(options: LoadOptions, info: GGUFInfo) -> LoadedModel:
    """The loaded model for ``options``: the one already in memory when the options match."""
    global _current
    if _current is not None and _current.options == options:
        return _current
    unload()
    _current = LoadedModel(_load(options, info), options, info)
    return _current


def current_model() -> LoadedModel | None:
    return _current


def unload() -> bool:
    """Free the loaded model (weights, KV cache, GPU memory). True when one was loaded."""
    global _current
    if _current is None:
        return False
    loaded, _current = _current, None
    loaded.llm.close()
    del loaded
    gc.collect()
    return True


def _load(options: LoadOptions, info: GGUFInfo) -> Any:
    import llama_cpp

    threads = options.threads or physical_cores()
    try:
        with _extra_buffers(options.extra_buffers):
            return llama_cpp.Llama(
                model_path=options.path,
                n_ctx=options.n_ctx,
                n_batch=min(512, options.n_ctx),
                n_gpu_layers=options.n_gpu_layers,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=VERBOSE,
            )
    except (ValueError, RuntimeError, MemoryError, OSError) as exc:
        raise BackendError(_load_failed_message(options, info, exc)) from exc


@contextmanager
def _extra_buffers(enabled: bool):
    """Load with llama.cpp's extra CPU buffer types on or off.

    With them on, llama.cpp moves quantized weights into AMX or repacked layouts; on Xeons with
    AMX the first decode of a Q4 model then segfaults in llama-cpp-python 0.3.x. ``Llama()``
    takes no argument for this and reads ``llama_model_default_params()`` while it loads, so
    the defaults are adjusted for the duration of the load."""
    import llama_cpp.llama_cpp as low  # the module Llama() reads them from

    original = low.llama_model_default_params

    def params():
        value = original()
        value.use_extra_bufts = enabled
        return value

    low.llama_model_default_params = params
    try:
        yield
    finally:
        low.llama_model_default_params = original


def _load_failed_message(options: LoadOptions, info: GGUFInfo, exc: Exception) -> str:
    kv = info.kv_cache_bytes(options.n_ctx) or 0
    where = "GPU memory" if options.n_gpu_layers != 0 else "memory"
    available = _available_ram()
    have = f", and {_size(available)} of RAM is free" if available else ""
    return (
        f"llama.cpp could not load {options.path} ({exc}). It needs about "
        f"{_size(options.size + kv)} of {where} ({_size(options.size)} of weights, {_size(kv)} "
        f"of K/V cache for a {options.n_ctx}-token context){have}. If memory is short: use a "
        "smaller quantization of the model (e.g. Q4_K_M instead of Q8_0), offload fewer layers "
        "to the GPU (`gpu_layers`, or `device='cpu'`), or a smaller context (`context_size`, "
        "e.g. 4096). If memory is not the problem, the file may be incomplete (download it "
        "again) or newer than this llama.cpp (`pip install -U llama-cpp-python`)."
    )


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:.1f} MB"


def _available_ram() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def gpu_offload_supported() -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def gpu_kind() -> str:
    """The GPU back end llama.cpp was built with, as a short word (CUDA, Metal...)."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    for marker, kind in _GPU_KINDS:
        if marker in info:
            return kind
    return "GPU"


def plan_device(
    device: str | None, gpu_layers: int | None, n_layers: int | None
) -> tuple[int, str]:
    """``(n_gpu_layers, label)`` for the requested device: all layers on the GPU by default
    when llama.cpp has one, the CPU otherwise. Raise BackendError for a GPU it lacks."""
    device = (device or "auto").strip().lower()
    if device not in DEVICES:
        raise BackendError(f"Unknown device {device!r} for the llama backend: use one of "
                           f"{', '.join(DEVICES)}.")
    supported = gpu_offload_supported()
    if device == "gpu" and not supported:
        raise BackendError(no_gpu_message())
    if device == "cpu" or not supported or gpu_layers == 0:
        return 0, "CPU"
    layers = -1 if gpu_layers is None or gpu_layers < 0 else int(gpu_layers)
    kind = gpu_kind()
    if layers < 0 or (n_layers is not None and layers > n_layers):
        return -1, f"{kind} (all layers)"
    return layers, f"{kind} ({layers} of {n_layers} layers)" if n_layers else f"{kind} ({layers})"


def no_gpu_message() -> str:
    return (
        "The GPU was asked for (device='gpu'), but this llama-cpp-python was built without GPU "
        "support (llama_supports_gpu_offload() is False). Reinstall it with GPU support, e.g. "
        "NVIDIA: `CMAKE_ARGS=\"-DGGML_CUDA=on\" pip install --force-reinstall --no-cache-dir "
        "llama-cpp-python`; Apple Silicon: `CMAKE_ARGS=\"-DGGML_METAL=on\" pip install "
        "--force-reinstall --no-cache-dir llama-cpp-python`; or a prebuilt CUDA wheel: `pip "
        "install llama-cpp-python --extra-index-url "
        "https://abetlen.github.io/llama-cpp-python/whl/cu124` (cu121 to cu125, matching your "
        "CUDA). Then restart the kernel. Or run on the CPU with device='cpu' (or 'auto')."
    )


def validate_grammar(llm: Any, text: str) -> None:
    """Raise BackendError unless llama.cpp accepts the GBNF grammar ``text``.

    llama.cpp only parses a grammar when it builds the sampler, and a grammar it cannot parse
    crashes the process at the first sampled token; building a throwaway sampler here returns
    NULL for a bad grammar instead."""
    import llama_cpp

    sampler = llama_cpp.llama_sampler_init_grammar(llm._model.vocab, text.encode("utf-8"), b"root")
    if not sampler:
        raise BackendError(
            "The grammar for the model's replies is not valid GBNF (llama.cpp could not parse "
            "it, or it has no `root` rule). Fix it, or turn the grammar option off."
        )
    llama_cpp.llama_sampler_free(sampler)
