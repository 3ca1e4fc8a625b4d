"""Benchmark: exact fast Self-BLEU on real Japanese sentences vs sacrebleu's naive loop.

Sentences come from ../shared/data/gold (JSTS train and JNLI valid, both sentences of each pair),
tokenized with MeCab (surface forms). Prints the fast path at N = 1,000, 5,000 and 25,000 and the naive
loop (sacrebleu sentence_score of each text against all others) at N = 1,000, with the ratio, and checks
that both give the same per-text scores. Targets: 25,000 sentences in <= 2 s; >= 300x the naive loop.

    .venv/bin/python bench/self_bleu.py
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sacrebleu.metrics import BLEU  # noqa: E402

from japagen_core.metrics.self_bleu import self_bleu  # noqa: E402
from japagen_core.metrics.tokenizers import Tokenizer  # noqa: E402

GOLD = ROOT.parent / "shared" / "data" / "gold" / "jglue"


def sentences() -> list[str]:
    out = []
    for name in ("jsts-v1.3_train-v1.3.json", "jnli-v1.3_valid-v1.3.json"):
        for line in (GOLD / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            out += [row["sentence1"], row["sentence2"]]
    random.Random(0).shuffle(out)
    return out


def naive(tokens: list[list[str]]) -> list[float]:
    texts = [" ".join(t) for t in tokens]
    bleu = BLEU(tokenize="none", effective_order=True)
    return [bleu.sentence_score(texts[i], texts[:i] + texts[i + 1 :]).score for i in range(len(texts))]


def main() -> None:
    tokenizer = Tokenizer()
    pool = sentences()
    print(f"{len(pool):,} real sentences available; tokenizer {tokenizer.signature}")
    print(f"{'N':>8}{'tokenize s':>12}{'self-bleu s':>13}{'Self-BLEU':>11}")
    timings = {}
    for n in (1_000, 5_000, 25_000):
        t0 = time.perf_counter()
        tokens = tokenizer.tokenize_all(pool[:n])
        t1 = time.perf_counter()
        result = self_bleu(tokens)
        t2 = time.perf_counter()
        timings[n] = (t1 - t0, t2 - t1, tokens, result)
        print(f"{n:>8,}{t1 - t0:>12.2f}{t2 - t1:>13.3f}{result.score:>11.2f}")
    tokens, fast = timings[1_000][2], timings[1_000][3]
    t = time.perf_counter()
    slow = naive(tokens)
    naive_s = time.perf_counter() - t
    delta = max(abs(a - b) for a, b in zip(fast.per_text, slow, strict=True))
    fast_s = timings[1_000][1]
    print(f"naive sacrebleu loop at N=1,000: {naive_s:.1f} s vs fast {fast_s:.3f} s: {naive_s / fast_s:,.0f}x "
          f"(max per-text difference {delta:.1e})")  # fmt: skip
    total_25k = timings[25_000][0] + timings[25_000][1]
    print(f"target 25,000 in <= 2 s: {'met' if total_25k <= 2 else 'NOT met'} ({total_25k:.2f} s with tokenizing, "
          f"{timings[25_000][1]:.2f} s Self-BLEU alone)")  # fmt: skip
    print(f"target >= 300x naive at N=1,000: {'met' if naive_s / fast_s >= 300 else 'NOT met'}")


if __name__ == "__main__":
    main()
