"""Model profiles: each model family gets the conventions it was trained on.

A small table, matched on the model's name (the endpoint's model id, the GGUF's
``general.name`` and file name), overridable with ``%config CodeActMagics.profile``. A profile
picks the system prompt's opening words, extra stop strings, where the system prompt goes,
and whether the family thinks before it acts; the notebook rules that follow (the kernel,
the data, figures, the user's variables) are the same words for every profile, in one small
prompt file per action format (``system.md``, ``system_tools.md``).

Why each differs:

- **codeact** (CodeActAgent-Mistral-7b, -Llama-2-7b): fine-tuned with its own system message
  (an interactive Python environment, code in ``<execute>``, fewer things at a time, run the
  code for the user), ``Observation:`` user turns, and the stops ``</execute>`` and
  ``<|im_end|>`` (its generation config stops at ``</s>`` only).
- **qwen3** (Qwen3, QwQ) and **deepseek-r1** (R1 and its distills): they think first, and a
  draft step in the thinking would meet the ``</execute>`` stop string; so they are not given
  it (the parser takes only the first block anyway). DeepSeek advises against a system
  prompt for R1: its instructions go at the start of the first user message.
- **gpt-oss**: thinks in its analysis channel; a harmony turn ends at ``<|return|>`` or
  ``<|call|>``, never at ``<|end|>`` (which ends the thinking, not the reply).
- **llama3** (Llama 3.x): its turns end at ``<|eot_id|>`` (``<|eom_id|>`` after a tool call).
- **generic**: everything else; our own wording.
"""
from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch


@dataclass(frozen=True)
class Profile:
    name: str
    family: str  # in words, for `%codeact context`
    patterns: tuple[str, ...] = ()  # fnmatch patterns on lower-case model names
    intro: str = "intro_generic.md"  # the system prompt's opening paragraph
    stop: tuple[str, ...] = ()  # stop strings besides the loop's own
    thinks: bool = False  # reasons before it acts: no </execute> stop (see above)
    system_in_user: bool = False  # instructions at the start of the first user message

    def system_prompt(self, actions: str = "code") -> str:
        from .prompts import load_prompt
        from .tool_calls import system_prompt

        return load_prompt(system_prompt(actions)).replace("{intro}", load_prompt(self.intro))


PROFILES = (
    Profile("codeact", "CodeActAgent (the CodeAct paper's model)", ("*codeactagent*", "*codeact-agent*"),
            intro="intro_codeact.md"),
    Profile("qwen3", "Qwen3 / QwQ (thinks in <think>)", ("*qwen3*", "*qwq*"), thinks=True),
    Profile("deepseek-r1", "DeepSeek-R1 and its distills (thinks in <think>)",
            ("*deepseek-r1*", "*r1-distill*", "*deepseek-reasoner*", "*deepseek_r1*"),
            thinks=True, system_in_user=True),
    Profile("gpt-oss", "gpt-oss (thinks in its analysis channel)", ("*gpt-oss*", "*gpt_oss*"),
            stop=("<|return|>", "<|call|>"), thinks=True),
    Profile("llama3", "Llama 3.x", ("*llama-3*", "*llama3*", "*llama-4*"), stop=("<|eot_id|>", "<|eom_id|>")),
    Profile("generic", "any other model"),
)
NAMES = ("auto",) + tuple(p.name for p in PROFILES)
GENERIC = PROFILES[-1]


@dataclass(frozen=True)
class Chosen:
    profile: Profile
    why: str  # "matched 'qwen3-8b'", "the profile setting", "no family matched"

    def line(self) -> str:
        return f"Profile: {self.profile.name} · {self.profile.family} · {self.why}"


def choose_profile(setting: str, model_names: list[str | None]) -> Chosen:
    """The profile the setting names, or (``auto``) the first whose pattern matches a name."""
    if setting and setting != "auto":
        return Chosen(by_name(setting), "chosen by the profile setting")
    for name in filter(None, model_names):
        lowered = name.lower()
        for profile in PROFILES:
            if any(fnmatch(lowered, pattern) for pattern in profile.patterns):
                return Chosen(profile, f"matched {name!r}")
    return Chosen(GENERIC, "no family matched the model's name")


def model_names(settings, backend) -> list[str]:
    """What the model is called: the setting (a GGUF's file name, an endpoint's model id) and
    what the backend says (a GGUF's ``general.name``); no request is made for it."""
    from pathlib import PurePath

    model = settings.backend_config.model
    names = [PurePath(model).name if model and settings.backend == "llama" else model]
    said = getattr(backend, "model_name", None) if backend is not None else None
    return [n for n in (*names, said) if isinstance(n, str) and n]


def by_name(name: str) -> Profile:
    from ..errors import SettingsError

    for profile in PROFILES:
        if profile.name == name:
            return profile
    raise SettingsError(f"--profile (profile) must be one of {', '.join(NAMES)}: the model family "
                        f"whose conventions to follow. Got {name!r}.")


def first_messages(profile: Profile, actions: str, user: str) -> list[dict]:
    """The task's first messages: a system prompt, then the user's; or one user message
    opening with the instructions, for families that want no system prompt."""
    system = profile.system_prompt(actions)
    if profile.system_in_user:
        return [{"role": "user", "content": f"{system}\n\n{user}"}]
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
