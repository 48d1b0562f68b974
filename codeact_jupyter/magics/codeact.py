"""``%%codeact`` and ``%codeact``: a thin view over ``agent.task.run_task``.

Options come from the magic's arguments, then traitlets config
(``%config CodeActMagics.backend = "openai"``, ``c.CodeActMagics.max_turns = 5``), then the
ecosystem's environment variables (OPENAI_API_KEY, OPENAI_BASE_URL), then defaults.
"""
from __future__ import annotations

import sys

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import (Bool, CaselessStrEnum, Enum, Float, Int, List, TraitError, Unicode, Union,
                       validate)

from ..agent.settings import SettingsError, TaskSettings, check_limits
from ..agent.settings import resolve_settings as resolve_task_settings
from ..context.cells import ErrorLog
from ..context.parts import CONTEXT_CHOICES
from ..agent.profiles import NAMES as PROFILE_NAMES
from ..agent.tool_calls import ACTIONS
from ..figures.vision import MODES
from .input_rewrite import codeact_input_transformer
from .options import split_line

# Refused with this message when a step calls %%codeact: the step's output goes to the
# model, which reads why nothing ran.
NESTED = ("%%codeact cannot run inside a codeact step: a task is already running. Nothing was "
          "started; write the Python for this step directly instead.")


def _tidy_help(doc: str) -> str:
    """IPython's argument help starts with a reST "::" meant for Sphinx; %%codeact? shows it
    raw, so drop it and the indent it brings."""
    if doc.startswith("::\n\n"):
        usage, sep, rest = doc[4:].partition("\n\n")
        first, *more = usage.strip().splitlines()
        indent = " " * (first.index("[") if "[" in first else 4)
        doc = "\n".join([first] + [indent + line.strip() for line in more]) + sep + rest
    return doc


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
    grammar = Union([Bool(), Unicode()], default_value=False, help="llama: True constrains "
                    "replies to one <execute> step or a plain answer (for small models that break "
                    "the format); a .gbnf file or GBNF text constrains them to that grammar."
                    ).tag(config=True)
    chat_template = Unicode("", help="llama: the prompt format when the GGUF file has none or a "
                            "wrong one: chatml, gemma, llama-3, mistral, Jinja text, or a "
                            ".jinja file.").tag(config=True)
    threads = Int(0, help="llama: CPU threads for generation and prompt reading (0: the "
                  "machine's physical cores).").tag(config=True)
    cpu_extra_buffers = Bool(False, help="llama: let llama.cpp repack weights into its extra "
                             "CPU buffer types (AMX, repacked layouts). Faster on some CPUs; off "
                             "because it crashes llama-cpp-python 0.3.x on Xeons with AMX."
                             ).tag(config=True)

    redact = Bool(True, help="Mask secrets (values of variables named like api_key or password, "
                  "well-known key formats, the backend's key) in all the model is sent.").tag(config=True)
    redact_patterns = List(Unicode(), help="Regular expressions of more text to mask.").tag(config=True)
    redact_allow = List(Unicode(), help="Variable names never masked.").tag(config=True)
    undo_depth = Int(5, help="Runs that can be undone (%codeact undo): each keeps the objects "
                     "its steps replaced or deleted until it is older than this.").tag(config=True)
    undo_memory = Int(2048, help="MB that the objects kept for undo may hold together; past "
                      "it the oldest runs let theirs go (and can no longer be undone), and a task "
                      "says when undo keeps much. 0: runs keep nothing.").tag(config=True)
    context = Enum(CONTEXT_CHOICES, default_value="all", help="What of the notebook the model is "
                   "sent with a task: all (cells and variables), cells, vars or none. A cell whose "
                   "first line is `# codeact: private` is never sent.").tag(config=True)

    actions = Enum(ACTIONS, default_value="code", help="How the model acts: code (Python in "
                   "<execute> tags, the CodeAct way) or tools (a `python` tool is declared to "
                   "the endpoint, for models that act better through function calling). Tool "
                   "calls run in either mode.").tag(config=True)
    profile = Enum(PROFILE_NAMES, default_value="auto", help="The model family whose conventions "
                   "to follow (system prompt wording, stop strings, thinking): auto (from the "
                   "model's name), codeact, qwen3, deepseek-r1, gpt-oss, llama3 or generic. "
                   "`%codeact context` shows which applies.").tag(config=True)
    reasoning_history = Enum(("auto", "drop", "keep"), default_value="auto", help="A reasoning "
                             "model's earlier thinking in the transcript sent back: auto (kept for "
                             "a GGUF whose chat template handles <think> itself, else dropped), "
                             "drop (as DeepSeek's API wants) or keep (as <think> blocks before each "
                             "reply, for models trained to see it).").tag(config=True)
    vision = CaselessStrEnum(MODES, default_value="auto", help="Images of step outputs to the "
                             "model: auto (openai backend, a model known or declared to accept "
                             "images), on (any model of the openai backend), off.").tag(config=True)
    vision_models = List(Unicode(), help="More model names (fnmatch patterns, e.g. 'my-vlm*') "
                         "that accept images, for --vision auto.").tag(config=True)
    vision_images_per_step = Int(2, help="Most images sent with one observation.").tag(config=True)
    vision_images_per_task = Int(8, help="Most images sent in one task.").tag(config=True)
    vision_image_size = Int(768, help="Pixels of an image's longer side; larger ones are "
                            "downscaled before they are sent.").tag(config=True)
    figure_description_chars = Int(1500, help="Characters of a matplotlib figure's description "
                                   "(what the model reads about a plot); 0: no descriptions."
                                   ).tag(config=True)

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self.error_log = ErrorLog(shell)

    @validate("max_turns")
    def _valid_max_turns(self, proposal):
        return self._checked(proposal, max_turns=proposal.value, timeout=self.timeout)

    @validate("timeout")
    def _valid_timeout(self, proposal):
        return self._checked(proposal, max_turns=self.max_turns, timeout=proposal.value)

    @staticmethod
    def _checked(proposal, max_turns, timeout):
        try:
            check_limits(max_turns, timeout)
        except SettingsError as exc:
            raise TraitError(str(exc)) from None
        return proposal.value

    @magic_arguments()
    @argument("--backend", "-b", default=None, help="llama, openai or replay (default: llama).")
    @argument("--model", "-m", default=None, help="GGUF path or hub reference, model name, or replay file.")
    @argument("--base-url", default=None, help="OpenAI-compatible endpoint URL (implies --backend openai).")
    @argument("--max-turns", type=int, default=None, help="Turn limit, at least 1 (default 10).")
    @argument("--timeout", type=float, default=None, help="Seconds per step; 0: no limit (default 300).")
    @argument("--confirm", action="store_true", default=None, help="Ask before each step: run, skip or stop.")
    @argument("--grammar", action="store_true", default=None, help="llama: grammar-constrained replies.")
    @argument("--context", choices=CONTEXT_CHOICES, default=None, help="What of the notebook is "
              "sent: all (default), cells, vars or none.")
    @argument("--actions", choices=ACTIONS, default=None, help="code (<execute> blocks) or tools "
              "(declare a `python` tool to the endpoint) (default code).")
    @argument("--profile", choices=PROFILE_NAMES, default=None, help="Model family conventions: "
              "auto (from the model's name) or a profile's name (default auto).")
    @argument("--vision", choices=MODES, default=None, help="Images of step outputs to the model: "
              "auto (a vision model of the openai backend), on, off (default auto).")
    @argument("--continue", "-c", dest="follow_up", action="store_true", default=None,
              help="Continue this kernel's last conversation (the model sees the earlier tasks "
              "and what changed since); without it a task starts a new one.")
    @argument("--again", action="store_true", default=None, help="Ask the model again though "
              "the notebook holds this task's run (without it, an unchanged task cell whose run is "
              "recorded reproduces that run and asks nothing).")
    @argument("task", nargs="*", help="What to do, after the options (`--` ends them); "
              "the cell body continues it. Sent as written: no $name or {expr} expansion.")
    @no_var_expand
    @line_cell_magic
    def codeact(self, line: str, cell: str | None = None):
        """Solve a task with a CodeAct agent: the model writes Python, it runs in this kernel,
        the output goes back to the model, until it answers.

            %%codeact load data.csv and plot the monthly sales
            %codeact --backend openai --model gpt-4o-mini what is in df?
            %codeact --model "my replies.json" -- -5 plus 3?
        """
        from ..agent.task import run_task, task_running
        from ..lab.mirror import announced_notebook, announced_record
        from .commands import find_command
        from .views import task_views

        if task_running():
            raise UsageError(NESTED)
        command = find_command(line, cell)
        if command is not None:
            handler, rest = command
            return handler(self, rest)
        parsed = split_line(line, self.codeact.parser)
        args = self.codeact.parser.parse_args(parsed.argv)
        if parsed.late_options:
            print(f"codeact: {', '.join(parsed.late_options)} came after the task's first word, so "
                  "it was sent to the model as part of the task. Options go before the task.",
                  file=sys.stderr)
        task = "\n".join(part for part in (parsed.task.strip(), (cell or "").strip()) if part)
        if not task:
            raise UsageError("Say what to do, e.g. `%%codeact load data.csv and plot the sales` "
                             "(see %%codeact? for options).")
        overrides = {k: v for k, v in vars(args).items()
                     if v is not None and k not in ("task", "follow_up", "again")}
        document, record = announced_notebook(), announced_record()
        if not args.again:
            written = f"%%codeact {line}\n{cell}" if cell is not None else f"%codeact {line}"
            recorded = recorded_run_of(self.shell, task, record, written)
            if recorded is not None:  # re-running the notebook: the record is the run
                from .reproduce import reproduce

                return reproduce(self.shell, recorded)
        settings = self.resolve(overrides)
        views = task_views(self.shell)  # the cell's display, and JupyterLab's mirror
        try:
            run_task(self.shell, task, settings, views.sinks, errors=self.error_log.errors,
                     history_end=self.error_log.history_end, notebook=document,
                     conversation="last" if args.follow_up else None)
        finally:
            views.close()

    codeact.__doc__ = _tidy_help(codeact.__doc__)

    def resolve(self, overrides: dict) -> TaskSettings:
        """Magic arguments or panel settings first, then this object's config, then env."""
        try:
            return resolve_task_settings(self, overrides)
        except SettingsError as exc:
            raise UsageError(str(exc)) from None


def recorded_run_of(shell, task: str, document: dict | None, written: str):
    """The notebook's record of this cell's run (trace/rerun.py), or None: ask the model.
    ``document``: the record the browser sent (lab/mirror.py), where it sent one."""
    from ..lab.bridge import executing_cell_id, parent_request
    from ..trace.rerun import find_recorded

    try:
        content = parent_request().get("content") or {}
        headless = type(shell).__name__ == "ZMQInteractiveShell" and content.get("allow_stdin") is False
        return find_recorded(task, executing_cell_id(), document, getattr(shell, "user_ns", None), headless,
                             written=written)
    except Exception:  # a notebook we cannot read is no record; the task runs as asked
        return None


def task_config(shell) -> "CodeActMagics":
    """The traits tasks are configured by: the loaded extension's magics object, or (the
    extension not loaded in this kernel) a fresh one holding the config and defaults."""
    return shell.magics_manager.registry.get("CodeActMagics") or CodeActMagics(shell=shell)


def resolve_settings(shell, overrides: dict) -> TaskSettings:
    """Settings for a task of ``shell`` (``agent.settings.resolve_settings`` with this
    kernel's config); a bad value raises UsageError, as the magic shows it."""
    return task_config(shell).resolve(overrides)


# Registered by load_ipython_extension under this name.
empty_body_transformer = codeact_input_transformer

