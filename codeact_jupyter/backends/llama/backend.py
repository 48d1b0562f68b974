"""The default backend: a local GGUF model, run by llama-cpp-python in the model host.

The kernel never imports llama_cpp. It resolves the model file (a local ``.gguf`` path, or a
Hugging Face reference ``owner/repo:file.gguf`` downloaded once into the Hugging Face cache;
see llama_hub.py) and the chat template setting, then asks the model host, a child process,
to load and run the model (model_host/). A crash there (a segfault in llama.cpp, an abort,
the out-of-memory killer) ends the task with a message and leaves the kernel untouched.

With no model the default is the q8_0 GGUF of CodeActAgent-Mistral-7b-v0.1 that the CodeAct
authors published (``llama_hub.DEFAULT_MODEL``): a 7.7 GB download that needs about 9.5 GB
of RAM or GPU memory at the default 8,192-token context. The options (``BackendConfig.extras``)
are described in llama_engine.py; the model stays loaded in the host between tasks, with its
KV cache, until the kernel ends or :func:`unload` is called.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Iterator

from ..base import BackendConfig, BackendError, Message, Reading, Usage
from .chat_templates import resolve_setting
from .hub import DEFAULT_MODEL, resolve_model_path

__all__ = ["LlamaBackend", "unload", "DEFAULT_MODEL"]


class LlamaBackend:
    name = "llama"
    # --actions tools: the tools go to the GGUF's chat template; calls come back as text.
    declares_tools = True

    def __init__(self, config: BackendConfig):
        from .host import get_host

        extras = dict(config.extras or {})
        path = resolve_model_path(config.model)
        template = resolve_setting(extras.pop("chat_template", None))
        if template is not None:
            extras["chat_template"], extras["chat_template_label"] = template
        grammar = extras.get("grammar")
        if isinstance(grammar, str) and grammar.strip().endswith(".gbnf"):
            # The host's folder is the kernel's at the host's start; the kernel's may change.
            extras["grammar"] = str(Path(grammar.strip()).expanduser().resolve())
        self.config = config
        self.last_usage: Usage | None = None
        self.host, replaced = get_host()
        loaded = self.host.request("load", config=asdict(
            BackendConfig(**{**asdict(config), "model": str(path), "extras": extras})))
        self._raise_error(loaded)
        self._describe = loaded["describe"]
        self.context_size: int | None = loaded["context_size"]
        self.model_name: str | None = loaded.get("model_name")  # general.name (profiles.py)
        # The template writes tool results its own way: they go as `tool` messages (tool_calls.py).
        self.template_tool_turns = bool(loaded.get("template_tool_turns"))
        # The template handles earlier replies' </think> its own way (reasoning.py).
        self.template_reads_thinking = bool(loaded.get("template_reads_thinking"))
        # Said once at the start of a task (the loop shows them after the first line).
        self.notices: list[str] = ([replaced] if replaced else []) + (loaded.get("notices") or [])
        self._counts: dict[str, int] = {}

    def _raise_error(self, answer: dict) -> None:
        if answer.get("error"):
            raise BackendError(f"{answer['error']} (llama.cpp's log: {self.host.log_path})")

    def describe(self) -> str:
        return self._describe

    def count_tokens(self, text: str) -> int:
        if text not in self._counts:
            answer = self.host.request("count", texts=[text])
            self._raise_error(answer)
            self._counts[text] = answer["counts"][0]
        return self._counts[text]

    reports_reading = True  # stream(..., reading=True) yields Reading before a long prompt

    def stream(self, messages: list[Message], stop: list[str],
               tools: list[dict] | None = None, reading: bool = False) -> Iterator[str | Reading]:
        """Yield the reply as the host writes it (and, with ``reading``, a ``Reading`` before
        a long read of the prompt). A Stop (KeyboardInterrupt) while waiting tells the host
        to cancel between two tokens; it keeps its KV cache."""
        from ..messages import text_only

        self.last_usage = None  # text only: image parts never reach a local model (docs/llama.md)
        for message in self.host.stream("generate", messages=text_only(messages), stop=list(stop),
                                        tools=tools, reading=reading):
            if "text" in message:
                yield message["text"]
                continue
            if "reading" in message:
                yield Reading(int(message["reading"]))
                continue
            self._raise_error(message)
            if message.get("usage"):
                self.last_usage = Usage(**message["usage"])


def unload() -> bool:
    """End the model host, freeing the model (weights, KV cache, GPU memory)."""
    from .host import stop_host

    return stop_host()


