"""The sample protocol of the paper's analyses: up to N examples per class, drawn with a seed."""

from __future__ import annotations

import random
from collections.abc import Sequence


def sample_per_label(labels: Sequence[object], per_label: int | None, *, seed: int = 0) -> list[int]:
    """Indices of up to ``per_label`` rows of each label (all rows when None), in their original order."""
    if per_label is None:
        return list(range(len(labels)))
    if per_label < 1:
        raise ValueError(f"per_label {per_label!r} must be >= 1")
    by_label: dict[object, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    rng = random.Random(seed)
    chosen: list[int] = []
    for label in sorted(by_label, key=str):
        rows = by_label[label]
        chosen += rows if len(rows) <= per_label else rng.sample(rows, per_label)
    return sorted(chosen)


def sample_signature(per_label: int | None, seed: int) -> str:
    return "sample:all" if per_label is None else f"sample:{per_label}-per-label|seed:{seed}"
