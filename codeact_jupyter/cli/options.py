"""Options shared by ``codeact run`` and ``codeact eval``: which model, and its limits."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model (defaults: the kernel's CodeActMagics config, "
                                      "then OPENAI_BASE_URL / OPENAI_API_KEY, then llama)")
    group.add_argument("--backend", "-b", help="llama, openai, replay, or one a plugin adds")
    group.add_argument("--model", "-m", help="llama: a .gguf path or hub reference; openai: a "
                       "model name; replay: a JSON file of replies")
    group.add_argument("--base-url", help="an OpenAI-compatible endpoint (implies --backend openai)")
    group.add_argument("--max-turns", type=positive_int, help="model replies per task (default 10)")
    group.add_argument("--timeout", type=float, help="seconds per step, 0: no limit (default 300)")
    group.add_argument("--request-timeout", type=float, help="seconds to wait for the endpoint to "
                       "answer a request (default 120): a server that never answers fails the "
                       "run after this long")
    group.add_argument("--grammar", action="store_true", default=None,
                       help="llama: constrain replies to one step or a plain answer")
    group.add_argument("--profile", help="the model family's conventions (system prompt wording, "
                       "stop strings, thinking): auto, codeact, qwen3, deepseek-r1, gpt-oss, llama3 "
                       "or generic (default auto: from the model's name)")
    group.add_argument("--kernel", help="the kernel to run in (default: the notebook's, where "
                       "installed, else python3); codeact-jupyter must be installed in it")


def settings_of(args: argparse.Namespace) -> dict:
    """The options given, for the kernel's settings (in_kernel.run_headless). A model that
    names a file here is made absolute: the kernel runs in another folder."""
    model = args.model
    if model:
        file, hash_, run = model.partition("#")  # a replay may name a run: NOTEBOOK.ipynb#ID
        if file and Path(file).expanduser().exists():
            model = str(Path(file).expanduser().resolve()) + hash_ + run
    return {"backend": args.backend, "model": model, "base_url": args.base_url,
            "max_turns": args.max_turns, "timeout": args.timeout, "grammar": args.grammar,
            "request_timeout": args.request_timeout, "profile": args.profile}


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
