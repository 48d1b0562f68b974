"""The llama engine: a GGUF model run by llama-cpp-python, inside the model host process.

This is what runs in the child process that ``model_host`` starts; the kernel talks to it
through ``backends.llama.LlamaBackend`` and never imports llama_cpp itself. Tests may also
use the engine directly in their own process, where a crash costs nothing.

Options (``BackendConfig.extras``; the kernel side resolves the model path and the chat
template before they get here):

* ``n_ctx_cap`` (8192): the context is the model's trained length (GGUF
  ``<arch>.context_length``), capped at this.
* ``device``: ``"auto"`` (default: every layer on the GPU when llama.cpp was built with one,
  the CPU otherwise), ``"cpu"``, or ``"gpu"`` (an error when llama.cpp has no GPU support).
* ``n_gpu_layers`` (alias ``gpu_layers``): how many layers to offload; -1 or absent: all.
* ``threads``: CPU threads for decoding and prompt reading; 0 or absent: the physical cores.
* ``cpu_extra_buffers``: let llama.cpp put weights in its extra CPU buffer types (AMX,
  repacked layouts). Off by default: on Xeons with AMX, llama-cpp-python 0.3.x segfaults at
  the first decode of a quantized model with them on.
* ``chat_template``: Jinja text that replaces the file's template (see chat_templates.py).
* ``grammar``: truthy to constrain every reply to thoughts plus one ``<execute>`` block, or a
  plain answer (``prompts/codeact_action.gbnf``); a string with ``::=`` is used as the GBNF
  grammar itself, a path ending in ``.gbnf`` is read from disk.

The loaded model is kept for every request with the same file and load options, so its KV
cache carries over between turns and tasks: each turn evaluates only the new tokens.
"""
from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator

from ..base import BackendConfig, BackendError, Message, Usage
from .chat_templates import choose_template
from .gguf import read_gguf_info
from .hub import resolve_model_path
from .model import LoadOptions, get_model, plan_device, unload, validate_grammar
from .prompt import PromptBuilder

__all__ = ["LlamaEngine", "unload", "DEFAULT_N_CTX_CAP"]

DEFAULT_N_CTX_CAP = 8192
GRAMMAR_RESOURCES = {"code": "codeact_action.gbnf", "tools": "codeact_tool_call.gbnf"}


# New prompt tokens from which a reply's caller is told the model is reading (Reading).
READING_TOLD = 256

class LlamaEngine:
    name = "llama"

    def __init__(self, config: BackendConfig):
        self.config = config
        self.last_usage: Usage | None = None
        extras = dict(config.extras or {})
        path = resolve_model_path(config.model)
        self.info = read_gguf_info(path)
        arch = self.info.architecture
        n_layers = _int_or_none(self.info.metadata.get(f"{arch}.block_count"))
        gpu_layers = _int_or_none(extras.get("n_gpu_layers", extras.get("gpu_layers")))
        n_gpu_layers, self.device = plan_device(extras.get("device"), gpu_layers, n_layers)
        cap = _int_or_none(extras.get("n_ctx_cap")) or DEFAULT_N_CTX_CAP
        n_ctx = min(cap, self.info.context_length or cap)
        options = LoadOptions.for_file(
            path, n_ctx=n_ctx, n_gpu_layers=n_gpu_layers,
            threads=_int_or_none(extras.get("threads")) or 0,
            extra_buffers=bool(extras.get("cpu_extra_buffers")))
        self._loaded = get_model(options, self.info)
        self.llm = self._loaded.llm
        self.context_size: int | None = int(self.llm.n_ctx())
        setting = extras.get("chat_template") or None
        self.template = choose_template(
            self.llm, self.info.chat_template,
            (setting, extras.get("chat_template_label") or "custom") if setting else None)
        # Lines the user should read at the start of a task (a guessed template...).
        self.notices: list[str] = list(self.template.notices)
        self.prompt = PromptBuilder(self.llm, self.template.text)
        self._grammar = self._make_grammar(extras.get("grammar"), extras.get("actions") or "code")

    # -- the Backend seam ---------------------------------------------------------------------

    def describe(self) -> str:
        parts = ["llama", self.info.name, self.info.quantization or "?", self.device,
                 f"{self._loaded.threads} threads", f"ctx {self.context_size}",
                 f"template: {self.template.label}"]
        if self._grammar is not None:
            parts.append("grammar")
        return " · ".join(parts)

    def count_tokens(self, text: str) -> int:
        return self.prompt.count(text)

    def stream(self, messages: list[Message], stop: list[str], tools: list[dict] | None = None,
               cancelled: Callable[[], bool] | None = None,
               reading: Callable[[int], None] | None = None) -> Iterator[str]:
        """Yield the reply as llama.cpp writes it, until a stop, the token limit, or
        ``cancelled()`` turns true (checked between tokens; the KV cache is kept). ``tools``
        (``--actions tools``) go to the chat template, which declares them its own way.
        ``last_usage.seconds`` counts the time spent in the model (prompt and decoding), not
        the time the caller spends between chunks. ``reading(tokens)`` is told, before a read
        of at least READING_TOLD new prompt tokens, how many there are."""
        self.last_usage = None
        started = time.perf_counter()
        tokens = self.prompt.tokens(self.prompt.render(messages, tools))
        n_ctx = self.context_size or 0
        if len(tokens) >= n_ctx:
            raise BackendError(
                f"The conversation is {len(tokens)} tokens long, more than the model's context "
                f"window of {n_ctx} tokens. Shorten the task or the notebook context, or load "
                "the model with a larger context size."
            )
        evaluated = len(tokens) - self._reusable(tokens)
        if reading is not None and evaluated >= READING_TOLD:
            reading(evaluated)
        stops = list(dict.fromkeys([*stop, *self.prompt.end_of_turn_stops()]))
        completion = self.llm.create_completion(
            tokens,
            max_tokens=max(1, min(self.config.max_tokens, n_ctx - len(tokens))),
            temperature=self.config.temperature,
            stop=stops,
            stream=True,
            grammar=self._grammar,
        )
        busy = time.perf_counter() - started
        prompt_seconds = None  # llama.cpp reads the prompt before the first chunk comes
        finish_reason = None
        try:
            while True:
                if cancelled is not None and cancelled():
                    finish_reason = "cancelled"
                    break
                resumed = time.perf_counter()
                try:
                    chunk = next(completion, None)
                except (RuntimeError, ValueError, OSError) as exc:  # llama_decode failures
                    raise BackendError(
                        f"llama.cpp failed while writing the reply ({exc}). If this repeats, "
                        "load the model with a smaller context size or fewer GPU layers."
                    ) from exc
                busy += time.perf_counter() - resumed
                if prompt_seconds is None:
                    prompt_seconds = busy
                if chunk is None:
                    break
                choice = chunk["choices"][0]
                finish_reason = choice.get("finish_reason") or finish_reason
                if choice["text"]:
                    yield choice["text"]
        finally:
            completion.close()
            self.prompt.context.record(tokens)
            generated = max(0, self.llm.n_tokens - len(tokens) + 1)
            self.last_usage = Usage(prompt_tokens=len(tokens), evaluated_tokens=evaluated,
                                    generated_tokens=generated, seconds=busy,
                                    prompt_seconds=prompt_seconds, finish_reason=finish_reason)

    # -- helpers ----------------------------------------------------------------------------

    def _reusable(self, tokens: list[int]) -> int:
        """Prompt tokens llama-cpp-python will take from its KV cache instead of evaluating
        (it always evaluates at least the last prompt token, to get fresh logits)."""
        cached = self.llm.input_ids[: self.llm.n_tokens].tolist()
        prefix = self.llm.longest_token_prefix(cached, tokens)
        return min(prefix, len(tokens) - 1)

    def _make_grammar(self, option: Any, actions: str) -> Any:
        off = isinstance(option, str) and option.strip().lower() in {"0", "false", "off", "no"}
        if not option or off:
            return None
        text = _grammar_text(option, actions)
        validate_grammar(self.llm, text)
        from llama_cpp import LlamaGrammar

        return LlamaGrammar.from_string(text, verbose=False)


def default_grammar(actions: str = "code") -> str:
    """The packaged GBNF grammar: thoughts plus one ``<execute>`` block (with ``--actions
    tools``: one ``<tool_call>`` of the python tool), or a plain answer; a think block may
    come first."""
    prompts = resources.files("codeact_jupyter").joinpath("agent", "prompts")
    return prompts.joinpath(GRAMMAR_RESOURCES[actions]).read_text("utf-8")


def _grammar_text(option: Any, actions: str = "code") -> str:
    if isinstance(option, str) and "::=" in option:
        return option
    if isinstance(option, (str, Path)) and str(option).endswith(".gbnf"):
        try:
            return Path(option).expanduser().read_text("utf-8")
        except OSError as exc:
            raise BackendError(f"Could not read the grammar file {option}: {exc}") from exc
    return default_grammar(actions)


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BackendError(f"Expected a whole number, got {value!r}.") from None
