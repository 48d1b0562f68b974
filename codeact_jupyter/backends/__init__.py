"""Backends: the seam (base.py), and the built-in llama/, openai/ and replay/, found by name.

Backends are found through the ``codeact_jupyter.backends`` entry-point group, so other
packages can add one; the built-in ones are also known by name when the package is used
from a source tree that was never installed."""
from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from .base import Backend, BackendConfig, BackendError, Usage, approx_tokens

__all__ = ["Backend", "BackendConfig", "BackendError", "Usage", "approx_tokens",
           "available_backends", "create_backend", "register_backend"]

ENTRY_POINT_GROUP = "codeact_jupyter.backends"

_BUILTIN = {
    "llama": "codeact_jupyter.backends.llama:LlamaBackend",
    "openai": "codeact_jupyter.backends.openai:OpenAIBackend",
    "replay": "codeact_jupyter.backends.replay:ReplayBackend",
}


_REGISTERED: dict[str, str] = {}  # added at run time, in this process only


def register_backend(name: str, target: str) -> None:
    """Make a backend known by name in this process (``"module:Class"``, imported when used):
    for wrappers a program sets up itself, such as ``codeact eval --action-mode``. Packages
    that add a backend for everyone use the entry-point group instead."""
    _REGISTERED[name] = target


def _targets() -> dict[str, str]:
    targets = {**_BUILTIN, **_REGISTERED}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        targets[ep.name] = ep.value
    return targets


def available_backends() -> list[str]:
    return sorted(_targets())


def create_backend(name: str, config: BackendConfig) -> Backend:
    targets = _targets()
    if name not in targets:
        raise BackendError(
            f"Unknown backend {name!r}. Available backends: {', '.join(sorted(targets))}."
        )
    module_name, _, attr = targets[name].partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except ImportError as exc:
        raise BackendError(
            f"The {name!r} backend could not be loaded ({exc}). "
            f"Is the package that provides it installed in this kernel's environment?"
        ) from exc
    return cls(config)
