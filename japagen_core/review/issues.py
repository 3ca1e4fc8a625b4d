"""Suspected mislabels, ranked by cleanlab from a gold-trained model's out-of-sample predictions.

Arrays in, arrays out (cleanlab's functional layer): no files, no database. A low label quality means
the model is confident the assigned label is wrong; ``is_issue`` is cleanlab's confident-learning
verdict (``find_label_issues``), which adapts its threshold per class.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np

log = logging.getLogger(__name__)


def class_label_issues(
    assigned: Sequence[str], probabilities: np.ndarray, *, labels: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Label quality (N,) in [0, 1] and issue mask (N,) for class labels.

    assigned: the label name of each example; probabilities: (N, K) in ``labels`` order.
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    probs = np.asarray(probabilities, dtype=float)
    if probs.ndim != 2 or probs.shape != (len(assigned), len(labels)):
        raise ValueError(f"probabilities must have shape ({len(assigned)}, {len(labels)}), got {probs.shape}")
    index = {name: i for i, name in enumerate(labels)}
    unknown = sorted({a for a in assigned if a not in index})
    if unknown:
        raise ValueError(f"assigned label(s) {unknown[:5]} are not among {list(labels)}")
    given = np.array([index[a] for a in assigned], dtype=int)
    probs = probs / probs.sum(axis=1, keepdims=True).clip(min=1e-12)
    quality = get_label_quality_scores(given, probs, method="self_confidence")
    issues = np.zeros(len(given), dtype=bool)
    if len(given) >= 2 * len(labels):  # confident learning needs a few examples per class to set thresholds
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # cleanlab warns about classes absent from small sets
                # n_jobs=1: its pool splits the work per class (a few), and forking a threaded process
                # (the app loading the demo) can hang; the result does not depend on it.
                issues = find_label_issues(given, probs, filter_by="prune_by_noise_rate", n_jobs=1)
        except ValueError as exc:  # e.g. a class with no example at all
            log.warning("cleanlab find_label_issues skipped: %s", exc)
    return np.asarray(quality, dtype=float), np.asarray(issues, dtype=bool)


def score_label_issues(assigned: Sequence[float], predicted: Sequence[float]) -> np.ndarray:
    """Label quality (N,) of score labels (JSTS), from a regressor's predictions (cleanlab.regression)."""
    from cleanlab.regression.rank import get_label_quality_scores

    given = np.asarray(assigned, dtype=float)
    pred = np.asarray(predicted, dtype=float)
    if given.shape != pred.shape:
        raise ValueError(f"assigned and predicted must have the same length, got {given.shape} and {pred.shape}")
    return np.asarray(get_label_quality_scores(given, pred, method="residual"), dtype=float)
