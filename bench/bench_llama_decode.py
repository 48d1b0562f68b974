"""Decode throughput through the llama backend versus raw llama-cpp-python, same run.

Both stream the same greedy reply from the same prompt tokens on the same loaded model
(a generated random-weight GGUF, big enough that decoding dominates): raw is
``Llama.create_completion(tokens, stream=True)`` with the same stop strings the backend
passes; ours is ``LlamaBackend.stream(messages, stop)``. Each repetition starts from the same
cache state (the prompt cached), and the two alternate so drift hits both; the ratio is
given of the medians and as the median ratio of side-by-side pairs. Throughput counts
the tokens after the first one, over the time from the first chunk to the last.
Target: ours / raw >= 0.95.

    python bench/bench_llama_decode.py [--tokens 256] [--repeats 15] [--hidden 256 --layers 4]
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
from codeact_jupyter.backends.llama import LlamaBackend, unload  # noqa: E402
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
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = write_tiny_gguf(Path(folder) / "bench.gguf", hidden=args.hidden,
                               layers=args.layers, heads=max(1, args.hidden // 64))
        backend = LlamaBackend(BackendConfig(model=str(path), max_tokens=args.tokens,
                                             temperature=0.0))
        llm = backend.llm
        prompt = backend.prompt.tokens(backend.prompt.render(MESSAGES))
        stops = STOP + backend.prompt.end_of_turn_stops()

        # Both must run to max_tokens (a greedy reply that hits no stop), so both decode
        # exactly args.tokens tokens; chunks are not counted (stop handling merges some).
        def raw():
            last, seconds = timed(llm.create_completion(
                prompt, max_tokens=args.tokens, temperature=0.0, stop=stops, stream=True))
            assert last["choices"][0]["finish_reason"] == "length"
            return args.tokens - 1, seconds

        def ours():
            _, seconds = timed(backend.stream(MESSAGES, STOP))
            assert backend.last_usage.generated_tokens == args.tokens
            return args.tokens - 1, seconds

        raw(), ours()  # warm up; both now start from the cached prompt
        rates: dict[str, list[float]] = {"raw": [], "ours": []}
        for i in range(args.repeats):
            order = (("raw", raw), ("ours", ours))
            for name, run in order if i % 2 else order[::-1]:
                n, seconds = run()
                rates[name].append(n / seconds)
        print(f"{backend.describe()} · hidden {args.hidden} · {args.layers} layers · "
              f"{args.tokens} tokens × {args.repeats}")
        unload()

    raw_rate, our_rate = statistics.median(rates["raw"]), statistics.median(rates["ours"])
    print(f"raw create_completion(stream=True): {raw_rate:8.0f} tok/s  (median; "
          f"min {min(rates['raw']):.0f}, max {max(rates['raw']):.0f})")
    print(f"LlamaBackend.stream:                {our_rate:8.0f} tok/s  (median; "
          f"min {min(rates['ours']):.0f}, max {max(rates['ours']):.0f})")
    paired = statistics.median(o / r for o, r in zip(rates["ours"], rates["raw"]))
    print(f"ours / raw: {our_rate / raw_rate:.3f}   (target >= 0.95; median of the "
          f"{args.repeats} side-by-side pairs: {paired:.3f})")


if __name__ == "__main__":
    main()
