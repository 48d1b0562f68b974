"""How much of each turn's prompt the llama backend really evaluates, over a 10-turn task.

A generated tiny GGUF (tests/tiny_gguf.py) plays the model; the transcript grows the way the
loop grows it (an assistant reply and an observation per turn). Printed per turn: prompt
tokens, tokens evaluated (the backend's Usage, checked against llama.cpp's own decode
counters), and tokens that were new (text the model had not seen: the new messages and
template tokens around them). Target: evaluated / new <= 1.05.

By default the turns go through the model host, as in a kernel (the figures are the host's);
``--in-process`` runs the engine in this process instead, and also checks the figures against
llama.cpp's own decode counters. For comparison: what a loop without any cache evaluates (every prompt in full, near
turns/2 times the new tokens over a task), and what llama-cpp-python's prefix matching alone
saves when the prompt is re-tokenized from text each turn (the reply's tokens then differ
from the generated ones, so the reply is evaluated again).

    python bench/bench_llama_cache.py [--turns 10] [--tokenizer bpe|spm] [--in-process]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codeact_jupyter.backends import BackendConfig  # noqa: E402
from codeact_jupyter.backends.llama.backend import LlamaBackend  # noqa: E402
from codeact_jupyter.backends.llama.backend import unload as stop_host  # noqa: E402
from codeact_jupyter.backends.llama.engine import LlamaEngine, unload  # noqa: E402
from tests.tiny_gguf import write_tiny_gguf  # noqa: E402

TASK = ("Load sales.csv into a DataFrame, find the month with the highest revenue and plot "
        "revenue by month.\n\nNotebook so far:\n" + "\n".join(
            f"In [{i}]: df_{i} = pd.read_csv('part_{i}.csv')  # {i * 37} rows" for i in range(12)))


def observation(turn: int) -> str:
    rows = "\n".join(f"{turn:02d}-{m:02d}  revenue={1000 + 37 * m * (turn + 1)}" for m in range(6))
    return f"Execution Output:\n{rows}\n"


def decoded(llm, reset: bool = False) -> int:
    """Tokens llama.cpp decoded since the last reset (its own performance counters)."""
    import llama_cpp

    perf = llama_cpp.llama_perf_context(llm._ctx.ctx)
    if reset:
        llama_cpp.llama_perf_context_reset(llm._ctx.ctx)
    return perf.n_p_eval + perf.n_eval


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--tokenizer", choices=["bpe", "spm"], default="bpe")
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--in-process", action="store_true",
                        help="run the engine here instead of in the model host")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = write_tiny_gguf(Path(folder) / "tiny.gguf", tokenizer=args.tokenizer,
                               token_logits={"<execute>": 2.0, "</execute>": 2.0})
        config = BackendConfig(model=str(path), max_tokens=args.max_tokens, temperature=0.8)
        # The engine here renders prompts and counts new tokens (and, in process, answers).
        engine = LlamaEngine(config)
        backend = engine if args.in_process else LlamaBackend(config)
        llm, head = engine.llm, engine.prompt.context.head
        messages = [{"role": "system", "content": "You are a CodeAct agent in a Jupyter kernel."},
                    {"role": "user", "content": TASK}]
        seen_text = ""
        naive_context: list[int] = []
        totals = {"prompt": 0, "evaluated": 0, "new": 0, "naive": 0}
        where = "in process" if args.in_process else "through the model host"
        print(f"{backend.describe()} · {args.tokenizer} tokenizer · {args.turns} turns · {where}")
        print(f"{'turn':>4} {'prompt':>7} {'evaluated':>9} {'new':>5} {'ratio':>6} {'re-tokenized':>12}")
        for turn in range(1, args.turns + 1):
            prompt_text = engine.prompt.render(messages)
            new = engine.count_tokens(prompt_text[len(seen_text):]) + len(head) * (turn == 1)
            decoded(llm, reset=True)
            reply = "".join(backend.stream(messages, ["</execute>"]))
            usage = backend.last_usage
            if args.in_process:
                really = decoded(llm) - (usage.generated_tokens - 1)
                assert really == usage.evaluated_tokens, (really, usage)

            # A loop that re-tokenizes the prompt text and lets llama-cpp-python match prefixes
            # (only in process: it needs the tokens in the context).
            naive_evaluated = 0
            if args.in_process:
                naive = head + llm.tokenize(prompt_text.encode(), add_bos=False, special=True)
                naive_evaluated = len(naive) - min(common_prefix(naive, naive_context), len(naive) - 1)
                generated = llm.input_ids[usage.prompt_tokens: llm.n_tokens].tolist()
                naive_context = naive + generated
            print(f"{turn:>4} {usage.prompt_tokens:>7} {usage.evaluated_tokens:>9} {new:>5} "
                  f"{usage.evaluated_tokens / new:>6.2f} {naive_evaluated or '-':>12}")
            totals["prompt"] += usage.prompt_tokens
            totals["evaluated"] += usage.evaluated_tokens
            totals["new"] += new
            totals["naive"] += naive_evaluated
            seen_text = prompt_text + reply
            messages += [{"role": "assistant", "content": reply},
                         {"role": "user", "content": observation(turn)}]
        unload()
        stop_host()

    new = totals["new"]
    print()
    print(f"tokens evaluated / tokens new:                 {totals['evaluated']} / {new} = "
          f"{totals['evaluated'] / new:.3f}   (target <= 1.05)")
    print(f"without a cache (every prompt in full):        {totals['prompt']} / {new} = "
          f"{totals['prompt'] / new:.2f}")
    if args.in_process:
        print(f"re-tokenized prompt, llama-cpp prefix reuse:   {totals['naive']} / {new} = "
              f"{totals['naive'] / new:.2f}")


if __name__ == "__main__":
    main()
