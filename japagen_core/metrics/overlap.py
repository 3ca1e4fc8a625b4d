"""Token-frequency overlap between two example sets (the paper's Figure 2), and the weighted Jaccard.

With p and q the relative token frequencies of the gold and synthetic sets (each sums to 1):

    weighted Jaccard = sum_t min(p_t, q_t) / sum_t max(p_t, q_t)          (1.0 identical, 0.0 disjoint)

The paper does not print its exact form; this is the standard weighted (Ruzicka) Jaccard over relative
frequencies, so sets of different sizes compare fairly. Figure 2's three parts are the tokens seen only
in gold, only in synthetic data, and in both, with their share of each set's token mass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Overlap:
    weighted_jaccard: float
    gold_tokens: int  # token occurrences
    synthetic_tokens: int
    only_gold_types: int  # distinct tokens
    only_synthetic_types: int
    both_types: int
    only_gold_mass: float  # share of the gold token mass on tokens never seen in synthetic data
    only_synthetic_mass: float  # share of the synthetic mass on tokens never seen in gold
    both_gold_mass: float  # share of the gold mass on shared tokens (= 1 - only_gold_mass)
    both_synthetic_mass: float
    over_represented: list[tuple[str, float, float]]  # (token, gold freq, synthetic freq), most over first
    under_represented: list[tuple[str, float, float]]
    signature: str

    def as_dict(self) -> dict:
        return asdict(self)


def count_tokens(token_lists: Iterable[Sequence[str]]) -> Counter:
    counts: Counter = Counter()
    for tokens in token_lists:
        counts.update(tokens)
    return counts


def overlap(
    gold: Counter, synthetic: Counter, *, top: int = 20, tokenizer_signature: str = "tok:given",
    sample_signature: str = "sample:all",
) -> Overlap:  # fmt: skip
    """Compare two token counters. Raises ValueError when either set has no tokens."""
    if top < 0:
        raise ValueError(f"top {top!r} must be >= 0")
    n_gold, n_syn = sum(gold.values()), sum(synthetic.values())
    if not n_gold or not n_syn:
        raise ValueError(f"both sets need tokens (gold {n_gold}, synthetic {n_syn})")
    both = gold.keys() & synthetic.keys()
    p = {t: c / n_gold for t, c in gold.items()}
    q = {t: c / n_syn for t, c in synthetic.items()}
    mins = sum(min(p[t], q[t]) for t in both)
    maxes = sum(max(p.get(t, 0.0), q.get(t, 0.0)) for t in gold.keys() | synthetic.keys())
    shared_gold = sum(p[t] for t in both)
    shared_syn = sum(q[t] for t in both)
    diff = sorted(((q.get(t, 0.0) - p.get(t, 0.0), t) for t in gold.keys() | synthetic.keys()), reverse=True)
    over = [(t, p.get(t, 0.0), q.get(t, 0.0)) for d, t in diff[:top] if d > 0]
    under = [(t, p.get(t, 0.0), q.get(t, 0.0)) for d, t in reversed(diff[-top:]) if d < 0] if top else []
    return Overlap(
        weighted_jaccard=mins / maxes,
        gold_tokens=n_gold,
        synthetic_tokens=n_syn,
        only_gold_types=len(gold.keys() - both),
        only_synthetic_types=len(synthetic.keys() - both),
        both_types=len(both),
        only_gold_mass=1.0 - shared_gold,
        only_synthetic_mass=1.0 - shared_syn,
        both_gold_mass=shared_gold,
        both_synthetic_mass=shared_syn,
        over_represented=over,
        under_represented=under,
        signature=f"overlap|wjaccard:relfreq|{tokenizer_signature}|{sample_signature}",
    )
