"""``%%codeact`` and ``%codeact``: a thin view over ``runner.run_task``.

Options come from the magic's arguments, then traitlets config
(``%config CodeActMagics.backend = "openai"``, ``c.CodeActMagics.max_turns = 5``), then the
ecosystem's environment variables (OPENAI_API_KEY, OPENAI_BASE_URL), then defaults.
"""
from __future__ import annotations

import os
import re

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, Float, Int, Unicode

from .backends.base import BackendConfig
from .context import ErrorLog
from .settings import TaskSettings


@magics_class
class CodeActMagics(Magics):
    backend = Unicode("llama", help="Backend: llama (local GGUF), openai (any OpenAI-compatible "
                      "endpoint), replay (a JSON file of replies), or one a plugin adds.").tag(config=True)
    model = Unicode(None, allow_none=True, help="llama: a .gguf path or 'owner/repo:file.gguf'; "
                    "openai: a model name; replay: a JSON file.").tag(config=True)
    base_url = Unicode(None, allow_none=True, help="OpenAI-compatible endpoint, e.g. "
                       "http://127.0.0.1:8080/v1 (else OPENAI_BASE_URL).").tag(config=True)
    api_key = Unicode(None, allow_none=True, help="API key (else OPENAI_API_KEY).").tag(config=True)
    max_turns = Int(10, help="Model replies per task before it is stopped.").tag(config=True)
    timeout = Float(300.0, help="Seconds a step may run before it is interrupted.").tag(config=True)
    confirm = Bool(False, help="Ask before running each step.").tag(config=True)
    temperature = Float(0.0, help="Sampling temperature.").tag(config=True)
    max_tokens = Int(1024, help="Most tokens the model may write in one reply.").tag(config=True)
    request_timeout = Float(120.0, help="Seconds to wait for an endpoint to answer.").tag(config=True)
    observation_limit = Int(4000, help="Characters of a step's output the model reads; longer "
                            "output is cut head and tail.").tag(config=True)
    context_budget = Int(3000, help="Tokens of notebook context given with the task.").tag(config=True)
    context_size = Int(8192, help="llama: cap on the context window (the GGUF's own size "
                       "when smaller).").tag(config=True)
    gpu_layers = Int(-1, help="llama: layers to offload to the GPU (-1: all).").tag(config=True)
    device = Unicode("auto", help="llama: auto, gpu or cpu.").tag(config=True)
    grammar = Bool(False, help="llama: constrain replies to one <execute> step or a plain "
                   "answer (for small models that break the format).").tag(config=True)

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self.error_log = ErrorLog()

    @magic_arguments()
    @argument("--backend", "-b", default=None, help="llama, openai or replay (default: llama).")
    @argument("--model", "-m", default=None, help="GGUF path or hub reference, model name, or replay file.")
    @argument("--base-url", default=None, help="OpenAI-compatible endpoint URL (implies --backend openai).")
    @argument("--max-turns", type=int, default=None, help="Turn limit (default 10).")
    @argument("--timeout", type=float, default=None, help="Seconds per step (default 300).")
    @argument("--confirm", action="store_true", default=None, help="Ask before each step: run, skip or stop.")
    @argument("--grammar", action="store_true", default=None, help="llama: grammar-constrained replies.")
    @argument("task", nargs="*", help="What to do; the cell body continues it.")
    @line_cell_magic
    def codeact(self, line: str, cell: str | None = None):
        """Solve a task with a CodeAct agent: the model writes Python, it runs in this kernel,
        the output goes back to the model, until it answers.

            %%codeact load data.csv and plot the monthly sales
            %codeact --backend openai --model gpt-4o-mini what is in df?
        """
        from .runner import run_task
        from .views import task_views

        options, words = split_options(line, self.codeact.parser)
        args = parse_argstring(self.codeact, options)
        task = "\n".join(part for part in (words.strip(), (cell or "").strip()) if part)
        if not task:
            raise UsageError("Say what to do, e.g. `%%codeact load data.csv and plot the sales` "
                             "(see %%codeact? for options).")
        overrides = {k: v for k, v in vars(args).items() if v is not None and k != "task"}
        settings = self.resolve(overrides)
        views = task_views(self.shell)  # the cell's display, and JupyterLab's mirror
        try:
            run_task(self.shell, task, settings, views.sinks, errors=self.error_log.errors)
        finally:
            views.close()

    def resolve(self, overrides: dict) -> TaskSettings:
        """Magic arguments or panel settings first, then this object's config, then env."""
        def pick(key, trait_value):
            value = overrides.get(key)
            return trait_value if value is None or value == "" else value

        backend = pick("backend", None)
        if backend is None:
            backend = "openai" if overrides.get("base_url") else self.backend
        env_base = os.environ.get("OPENAI_BASE_URL") if backend == "openai" else None
        config = BackendConfig(
            model=pick("model", self.model),
            base_url=pick("base_url", self.base_url) or env_base,
            api_key=pick("api_key", self.api_key) or os.environ.get("OPENAI_API_KEY"),
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            request_timeout=self.request_timeout,
            extras={"n_ctx_cap": self.context_size, "n_gpu_layers": self.gpu_layers,
                    "device": self.device, "grammar": bool(pick("grammar", self.grammar))},
        )
        return TaskSettings(
            backend=backend,
            backend_config=config,
            max_turns=int(pick("max_turns", self.max_turns)),
            step_timeout=float(pick("timeout", self.timeout)),
            confirm=bool(pick("confirm", self.confirm)),
            observation_limit=self.observation_limit,
            context_budget=self.context_budget,
        )


def resolve_settings(shell, overrides: dict) -> TaskSettings:
    """Settings for a task started outside the magic (the side panel), with the same
    precedence: ``overrides`` (keys: backend, model, base_url, max_turns, timeout, confirm,
    api_key, grammar), then the shell's CodeActMagics config, then env, then defaults."""
    magics = shell.magics_manager.registry.get("CodeActMagics") or CodeActMagics(shell=shell)
    return magics.resolve(overrides)


def split_options(line: str, parser) -> tuple[str, str]:
    """Split ``--backend replay --model f.json find the 3 "best" rows`` into the options and
    the task, keeping the task's words verbatim (quotes and apostrophes included)."""
    rest = line.strip()
    consumed = []
    while rest.startswith("-"):
        match = re.match(r"(-{1,2}[\w-]+)(=\S+)?\s*", rest)
        if not match:
            break
        action = parser._option_string_actions.get(match.group(1))
        if action is None:
            raise UsageError(f"Unknown option {match.group(1)} for %%codeact (see %%codeact?).")
        consumed.append(match.group(0).strip())
        rest = rest[match.end():]
        if action.nargs != 0 and not match.group(2):
            value = re.match(r"(\"[^\"]*\"|'[^']*'|\S+)\s*", rest)
            if not value:
                raise UsageError(f"Option {match.group(1)} needs a value (see %%codeact?).")
            consumed.append(value.group(1))
            rest = rest[value.end():]
    return " ".join(consumed), rest


def empty_body_transformer(lines: list[str]) -> list[str]:
    """IPython refuses a cell magic with an empty body before calling it; the headline
    usage is exactly that (``%%codeact solve this`` alone), so run it as the line magic."""
    if lines and lines[0].lstrip().startswith("%%codeact") and not "".join(lines[1:]).strip():
        first = lines[0].replace("%%codeact", "%codeact", 1)
        return [first if first.endswith("\n") else first + "\n"]
    return lines
