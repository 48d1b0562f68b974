"""The options of one task, resolved once: magic arguments or panel settings, then traitlets
config, then the ecosystem's environment variables, then defaults.

``resolve_settings(config, overrides)`` is the one place this happens: the magic, the side
panel and ``codeact run`` all call it, with the loaded extension's ``CodeActMagics`` object as
``config`` (``magics.task_config(shell)``), so none of them reads the magics registry.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

from ..backends.base import BackendConfig
from ..context.parts import CONTEXT_CHOICES
from ..errors import SettingsError
from ..figures.vision import VisionSettings


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
    # Secrets masked in everything sent to the model (context/redaction.py): on, extra regexes,
    # variable names never masked.
    redact: bool = True
    redact_patterns: tuple[str, ...] = ()
    redact_allow: tuple[str, ...] = ()
    # What of the notebook goes with the task (context.parts.CONTEXT_CHOICES), and the context
    # parts the user unticked in the panel's manifest (ContextPart keys).
    context: str = "all"
    context_exclude: tuple[str, ...] = ()
    # Images of step outputs for vision models (figures/vision.py).
    vision: VisionSettings = field(default_factory=VisionSettings)
    # Runs of this kernel that keep what %codeact undo needs (undo/records.py), and the most
    # memory (MB) those kept objects may hold together (undo/memory.py).
    undo_depth: int = 5
    undo_memory: int = 2048
    # "code" (<execute> blocks) or "tools" (a python tool declared; agent/tool_calls.py).
    actions: str = "code"
    # A reply's thinking in the transcript sent back: "auto", "drop" or "keep" (agent/reasoning.py).
    reasoning_history: str = "auto"
    # The model family's conventions (agent/profiles.py): "auto" or a profile's name.
    profile: str = "auto"


def resolve_settings(config: Any, overrides: dict) -> TaskSettings:
    """``overrides`` (magic arguments or panel settings; keys: backend, model, base_url,
    max_turns, timeout, confirm, context, vision, api_key, grammar, request_timeout, actions,
    profile) first, then ``config`` (an object with the ``CodeActMagics`` traits), then env.
    Raises SettingsError."""
    def pick(key, trait_value):
        value = overrides.get(key)
        return trait_value if value is None or value == "" else value

    backend = pick("backend", None)
    if backend is None:
        backend = "openai" if overrides.get("base_url") else config.backend
    env_base = os.environ.get("OPENAI_BASE_URL") if backend == "openai" else None
    actions = check_actions(pick("actions", getattr(config, "actions", "code")))
    backend_config = BackendConfig(
        model=pick("model", config.model),
        base_url=pick("base_url", config.base_url) or env_base,
        api_key=pick("api_key", config.api_key) or os.environ.get("OPENAI_API_KEY"),
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        request_timeout=float(pick("request_timeout", config.request_timeout)),
        extras={"n_ctx_cap": config.context_size, "n_gpu_layers": config.gpu_layers,
                "device": config.device, "grammar": pick("grammar", config.grammar),
                "chat_template": config.chat_template, "threads": config.threads,
                "cpu_extra_buffers": config.cpu_extra_buffers, "actions": actions},
    )
    settings = TaskSettings(
        backend=backend,
        backend_config=backend_config,
        max_turns=int(pick("max_turns", config.max_turns)),
        step_timeout=float(pick("timeout", config.timeout)),
        confirm=bool(pick("confirm", config.confirm)),
        observation_limit=config.observation_limit,
        context_budget=config.context_budget,
        redact=config.redact,
        redact_patterns=tuple(config.redact_patterns),
        redact_allow=tuple(config.redact_allow),
        context=check_context(pick("context", config.context)),
        vision=VisionSettings(mode=str(pick("vision", config.vision)).lower(),
                              models=tuple(config.vision_models),
                              per_step=max(0, config.vision_images_per_step),
                              per_task=max(0, config.vision_images_per_task),
                              max_side=max(16, config.vision_image_size)),
        undo_depth=int(config.undo_depth),
        undo_memory=max(0, int(config.undo_memory)),
        actions=actions,
        reasoning_history=str(getattr(config, "reasoning_history", "auto")),
        profile=check_profile(pick("profile", getattr(config, "profile", "auto"))),
    )
    check_limits(settings.max_turns, settings.step_timeout)
    return settings


def check_limits(max_turns, timeout) -> None:
    """The turn limit and step timeout a task may run with; the message names every way of
    setting them (magic option, %config trait, panel setting)."""
    if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1:
        raise SettingsError(f"--max-turns (max_turns) must be a whole number of at least 1: it is "
                            f"how many replies the model may send. Got {max_turns!r}.")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not math.isfinite(timeout) or timeout < 0:
        raise SettingsError(f"--timeout (timeout) must be a number of seconds per step, or 0 for "
                            f"no limit. Got {timeout!r}.")


def check_context(value) -> str:
    if value not in CONTEXT_CHOICES:
        raise SettingsError(f"--context (context) must be one of {', '.join(CONTEXT_CHOICES)}: what "
                            f"of the notebook the model is sent. Got {value!r}.")
    return value


def check_actions(value) -> str:
    from .tool_calls import ACTIONS

    if value not in ACTIONS:
        raise SettingsError(f"--actions (actions) must be one of {', '.join(ACTIONS)}: how the "
                            f"model acts, in <execute> blocks or through a python tool. Got {value!r}.")
    return value


def check_profile(value) -> str:
    from .profiles import by_name

    if value != "auto":
        by_name(value)  # a SettingsError naming the choices
    return value
