"""The options of one task, resolved once: magic arguments, then traitlets config, then the
ecosystem's environment variables, then defaults."""
from __future__ import annotations

from dataclasses import dataclass, field

from .backends.base import BackendConfig
from .vision import VisionSettings


@dataclass(frozen=True)
class TaskSettings:
    backend: str = "llama"
    backend_config: BackendConfig = field(default_factory=BackendConfig)
    max_turns: int = 10
    step_timeout: float = 300.0
    confirm: bool = False
    # Characters of one observation the model reads; longer ones are cut head and tail.
    observation_limit: int = 4000
    # Tokens of notebook context (earlier cells, variables) in the first message.
    context_budget: int = 3000
    # Secrets masked in everything sent to the model (redaction.py): on, extra regexes,
    # variable names never masked.
    redact: bool = True
    redact_patterns: tuple[str, ...] = ()
    redact_allow: tuple[str, ...] = ()
    # What of the notebook goes with the task (context.CONTEXT_CHOICES), and the context
    # parts the user unticked in the panel's manifest (ContextPart keys).
    context: str = "all"
    context_exclude: tuple[str, ...] = ()
    # Images of step outputs for vision models (vision.py).
    vision: VisionSettings = field(default_factory=VisionSettings)
