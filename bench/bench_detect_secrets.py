"""detect-secrets (Yelp's plugins and filters, default settings) against our own rules, on
the recall table (tests/test_redaction_recall.py), the false-positive corpus
(tests/secret_corpus.py) and a 10 MB output: recall, masks per 10,000 lines, seconds.
Needs ``pip install detect-secrets``. Prints the figures; asserts nothing.

    python bench/bench_detect_secrets.py [--sample 7]   # every 7th corpus file (1: all)
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import secret_corpus  # noqa: E402
from test_redaction_recall import RECALL  # noqa: E402

from codeact_jupyter.context.redaction import Redactor  # noqa: E402


def detect_secrets_finds(text: str, suffix: str = ".txt") -> list:
    """What detect-secrets reports in ``text`` scanned as a file (its normal mode: the
    plugins, then its filters), as PotentialSecret objects."""
    from detect_secrets import SecretsCollection

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"output{suffix}"
        path.write_text(text, encoding="utf-8")
        found = SecretsCollection()
        found.scan_file(str(path))
        return [secret for secrets in found.data.values() for secret in secrets]


def ours_masks(text: str) -> bool:
    return Redactor.for_task({}, environ={}).redact(text) != text


def recall() -> None:
    ours = theirs = 0
    missed_ours, missed_theirs = [], []
    for shape, text, secret in RECALL:
        masked = Redactor.for_task({}, environ={}).redact(text)
        if secret in masked:
            missed_ours.append(shape)
        else:
            ours += 1
        # Found when it reports the secret, or anything on a line that holds part of it (it
        # reports lines: a PEM block is found by its BEGIN line, whose line masking would miss
        # the body, but we count it).
        lines = [number for number, line in enumerate(text.splitlines(), 1) if secret[:12] in line]
        found = detect_secrets_finds(text)
        if any(secret in (s.secret_value or "") or s.line_number in lines or shape.startswith("PEM")
               for s in found):
            theirs += 1
        else:
            missed_theirs.append(shape)
    print(f"recall table, {len(RECALL)} rows: ours {ours}, detect-secrets {theirs}")
    print(f"  ours missed: {missed_ours or 'none'}")
    print(f"  detect-secrets missed: {missed_theirs}")


def precision(sample: int) -> None:
    for title, packages, notebooks in (("no-credential corpus", secret_corpus.PACKAGES, True),
                                       ("credential-handling corpus", secret_corpus.CREDENTIAL_PACKAGES, False)):
        lines = ours = theirs = 0
        theirs_by_type: dict[str, int] = {}
        examples: dict[str, str] = {}
        seconds_ours = seconds_theirs = 0.0
        for number, (name, text) in enumerate(secret_corpus.documents(packages, notebooks)):
            if number % sample:
                continue
            lines += text.count("\n") + 1
            started = time.perf_counter()
            if ours_masks(text):
                ours += sum(ours_masks(line) for line in text.splitlines())
            seconds_ours += time.perf_counter() - started
            started = time.perf_counter()
            for found in detect_secrets_finds(text, ".py" if name.endswith(".py") else ".txt"):
                theirs += 1
                theirs_by_type[found.type] = theirs_by_type.get(found.type, 0) + 1
                if found.type not in ("Base64 High Entropy String", "Hex High Entropy String"):
                    examples.setdefault(found.type, f"{name}:{found.line_number}")
            seconds_theirs += time.perf_counter() - started
        print(f"{title} (every {sample}th file): {lines:,} lines; masked lines: ours {ours} "
              f"({10_000 * ours / lines:.2f} per 10,000, {seconds_ours:.1f} s), detect-secrets {theirs} "
              f"({10_000 * theirs / lines:.2f} per 10,000, {seconds_theirs:.1f} s)")
        print(f"  detect-secrets by plugin: {dict(sorted(theirs_by_type.items(), key=lambda i: -i[1]))}")
        print(f"  e.g. {examples}")


def speed() -> None:
    text = "\n".join(f"{i},product-{i % 97},{i * 7 % 1000}.{i % 100:02d},2024-{1 + i % 12:02d}-01"
                     for i in range(400_000))[:10_000_000]
    started = time.perf_counter()
    Redactor.for_task({}, environ={}).redact(text)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    detect_secrets_finds(text)
    theirs = time.perf_counter() - started
    print(f"10 MB output ({text.count(chr(10)) + 1:,} lines): ours {ours:.2f} s, detect-secrets {theirs:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=7)
    args = parser.parse_args()
    from detect_secrets.settings import default_settings

    with default_settings():
        recall()
        speed()
        precision(args.sample)


if __name__ == "__main__":
    main()
