"""Where the model host writes: one log file per kernel, never the notebook.

llama.cpp logs on standard error (model loading, buffer sizes, timings). In a kernel those
lines would land in whatever cell runs; the host sends them to
``~/.cache/codeact-jupyter/logs/model-host-<kernel pid>.log`` (``$XDG_CACHE_HOME`` is
honoured, ``$CODEACT_LOG_DIR`` overrides the folder), and error messages name the file.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

KEEP_DAYS = 7


def log_dir() -> Path:
    override = os.environ.get("CODEACT_LOG_DIR")
    if override:
        return Path(override).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "codeact-jupyter" / "logs"


def log_path() -> str:
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    _forget_old(folder)
    return str(folder / f"model-host-{os.getpid()}.log")


def tail(path: str, lines: int = 6, max_bytes: int = 16_384, width: int = 160) -> list[str]:
    """The last ``lines`` non-empty lines of the log, each cut to ``width`` characters."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    kept = [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]
    return [line if len(line) <= width else line[: width - 1] + "…" for line in kept]


def _forget_old(folder: Path) -> None:
    cutoff = time.time() - KEEP_DAYS * 86_400
    for old in folder.glob("model-host-*.log"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass
