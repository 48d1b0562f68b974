"""Prompts ship as package data so they can be read and reviewed as text."""
from __future__ import annotations

from importlib.resources import files


def load_prompt(name: str) -> str:
    return files(__name__).joinpath(name).read_text(encoding="utf-8").strip()
