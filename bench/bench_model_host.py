"""What the model host costs: a request's round trip, a turn, and a task's first token after
a kernel restart.

* round trip: a ``ping`` request to the host and its answer, over the pipes (median).
* per turn: one short reply (8 tokens, prompt cached) through the host versus the same
  engine in this process; the difference is what running llama.cpp out of the kernel costs
  each turn.
* first token after a kernel restart: a real ipykernel is restarted, then a task runs in it;
  the time from the task's start to its first reply text, timed in the kernel, which
  includes starting the host and loading the model. Also the same model loaded in this
  process, for comparison.

    python bench/bench_model_host.py [--model PATH] [--repeats 200]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from codeact_jupyter.backends import BackendConfig  # noqa: E402
from codeact_jupyter.backends.llama.backend import LlamaBackend  # noqa: E402
from codeact_jupyter.backends.llama.backend import unload as stop_host  # noqa: E402
from codeact_jupyter.backends.llama.engine import LlamaEngine, unload  # noqa: E402
from codeact_jupyter.backends.llama.host import get_host  # noqa: E402
from tests.tiny_gguf import write_tiny_gguf  # noqa: E402

MESSAGES = [{"role": "system", "content": "You are a CodeAct agent in a Jupyter kernel."},
            {"role": "user", "content": "Summarise the DataFrame df."}]


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def round_trips(repeats: int) -> list[float]:
    host, _ = get_host()
    host.request("ping")
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        host.request("ping")
        times.append(time.perf_counter() - started)
    return times


def turns(backend, repeats: int) -> list[float]:
    "".join(backend.stream(MESSAGES, []))  # the prompt is cached from here on
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        "".join(backend.stream(MESSAGES, []))
        times.append(time.perf_counter() - started)
    return times


FIRST_TOKEN = """
import time
from IPython import get_ipython
from codeact_jupyter.events import TextDelta
from codeact_jupyter.agent.task import run_task
shell = get_ipython()
settings = shell.magics_manager.registry["CodeActMagics"].resolve(
    {{"backend": "llama", "model": {model!r}, "max_turns": 1}})
first = []
started = time.perf_counter()
run_task(shell, "say hello", settings,
         [lambda e: first or not isinstance(e, TextDelta) or first.append(time.perf_counter())])
print("FIRST", first[0] - started)
import json, codeact_jupyter
print("MESSAGES", json.dumps(codeact_jupyter.last_run().messages[:2]))
"""


def first_token_after_restart(model: Path, repeats: int) -> tuple[list[float], list[dict]]:
    """Timed inside the kernel, from the task's start to its first reply text (the same
    runner the magic and the panel call; no front end's rendering is counted)."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    times = []
    try:
        for _ in range(repeats):
            km.restart_kernel(now=True)
            kc.wait_for_ready(timeout=60)
            kc.execute_interactive("%load_ext codeact_jupyter\n"
                                   "%config CodeActMagics.max_tokens = 8", timeout=60)
            printed: list[str] = []
            kc.execute_interactive(FIRST_TOKEN.format(model=str(model)), timeout=120,
                                   output_hook=lambda msg: printed.append(
                                       msg["content"].get("text", "")))
            for line in "".join(printed).splitlines():
                if line.startswith("FIRST "):
                    times.append(float(line.split()[1]))
                if line.startswith("MESSAGES "):
                    messages = json.loads(line.split(" ", 1)[1])
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    if not times:
        raise SystemExit("the kernel never reported a first token: " + "".join(printed)[-2000:])
    return times, messages


def first_token_in_process(model: Path, messages: list[dict]) -> float:
    unload()
    started = time.perf_counter()
    engine = LlamaEngine(BackendConfig(model=str(model), max_tokens=8))
    next(iter(engine.stream(messages, [])))
    seconds = time.perf_counter() - started
    unload()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a GGUF file for the turn and first-token figures")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--restarts", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        model = Path(args.model) if args.model else write_tiny_gguf(Path(folder) / "tiny.gguf")
        config = BackendConfig(model=str(model), max_tokens=8, temperature=0.0)
        print(f"model: {model.name}")
        ping = round_trips(args.repeats)
        print(f"round trip of a request (ping):        {median_ms(ping):7.3f} ms  (median of {len(ping)})")
        hosted = turns(LlamaBackend(config), max(10, args.repeats // 10))
        local = turns(LlamaEngine(config), max(10, args.repeats // 10))
        unload()
        print(f"a turn of 8 tokens through the host:   {median_ms(hosted):7.3f} ms")
        print(f"the same turn in this process:         {median_ms(local):7.3f} ms")
        print(f"the host's cost per turn:              {median_ms(hosted) - median_ms(local):7.3f} ms")
        stop_host()
        after_restart, messages = first_token_after_restart(model, args.restarts)
        in_process = first_token_in_process(model, messages)
        print(f"first token after a kernel restart:    {median_ms(after_restart):7.0f} ms  "
              f"(median of {len(after_restart)}: host start, model load, the task's prompt)")
        print(f"the same prompt, loaded in this process: {in_process * 1000:5.0f} ms  "
              "(no host: the difference is the host's start)")


if __name__ == "__main__":
    main()
