"""Benchmark: token-frequency overlap of 225,000 texts (9 classes x 25,000) against gold.

The synthetic-like set is drawn (seeded, with replacement) from real gold sentences in
../shared/data/gold; gold is every real sentence. The fast path tokenizes with MeCab's wakati output
and counts with collections.Counter; the baseline tokenizes through fugashi's word objects, the usual
way, with the same counting. Both include tokenizing, overall and per-label overlap. Target: <= 10 s.

    .venv/bin/python bench/overlap.py
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from japagen_core.metrics.overlap import count_tokens, overlap  # noqa: E402
from japagen_core.metrics.tokenizers import Tokenizer, _tagger  # noqa: E402

GOLD = ROOT.parent / "shared" / "data" / "gold"
CLASSES, PER_CLASS = 9, 25_000


def gold_sentences() -> list[str]:
    out = []
    for path in sorted((GOLD / "jglue").glob("*.json")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            out += [row["sentence1"], row["sentence2"]]
    for path in sorted((GOLD / "jcola").glob("*.json")):
        out += [json.loads(line)["sentence"] for line in path.read_text(encoding="utf-8").splitlines()]
    return out


def run(texts, labels, gold, tokenize) -> tuple[float, float, dict]:
    t = time.perf_counter()
    tokens = [tokenize(x) for x in texts]
    gold_counts = count_tokens(tokenize(x) for x in gold)
    result = overlap(gold_counts, count_tokens(tokens))
    per_label = {}
    for k in range(CLASSES):
        per_label[k] = overlap(gold_counts, count_tokens(t for t, lab in zip(tokens, labels, strict=True) if lab == k),
                               top=0).weighted_jaccard  # fmt: skip
    return time.perf_counter() - t, result.weighted_jaccard, per_label


def main() -> None:
    gold = gold_sentences()
    rng = random.Random(0)
    texts = [rng.choice(gold) for _ in range(CLASSES * PER_CLASS)]
    labels = [i // PER_CLASS for i in range(len(texts))]
    fast_tok = Tokenizer().tokenize
    tagger = _tagger(False)

    def baseline_tok(text: str) -> list[str]:
        return [word.surface for word in tagger(text)]

    fast_s, wj, per_label = run(texts, labels, gold, fast_tok)
    base_s, wj_base, _ = run(texts, labels, gold, baseline_tok)
    print(f"{len(texts):,} texts ({CLASSES} classes x {PER_CLASS:,}) vs {len(gold):,} gold sentences")
    print(f"fast (wakati + Counter):        {fast_s:6.2f} s   weighted Jaccard {wj:.4f}")
    print(f"baseline (fugashi word objects): {base_s:6.2f} s   weighted Jaccard {wj_base:.4f}")
    print(f"per-label weighted Jaccard: {min(per_label.values()):.4f} to {max(per_label.values()):.4f}")
    print(f"ratio baseline/fast: {base_s / fast_s:.1f}x; target <= 10 s: {'met' if fast_s <= 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
