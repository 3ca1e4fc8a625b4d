"""Metrics of predictions on a gold split: pure functions (no files, no database), computed with
scikit-learn and scipy. Values are fractions (accuracy 0.9019, not 90.19); tables show them x 100.

Every task reports its own metric (``Task.metric``: accuracy, Spearman or MCC) as ``main``, plus the
others that apply: for classes accuracy, MCC and macro F1; for scores Spearman, Pearson and MSE.
A prediction of None (an LLM answer that named no label) counts as wrong: for classes it is a class
of its own, ``(unparsable)``; for scores it is the middle of the task's score range.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np

from japagen_core.tasks import Task

UNPARSABLE = "(unparsable)"


def _check_lengths(y_true: Sequence, y_pred: Sequence) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} gold values but {len(y_pred)} predictions")
    if not len(y_true):
        raise ValueError("no examples to score")


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def classification_metrics(y_true: Sequence[str], y_pred: Sequence[str | None], *, labels: Sequence[str]
                           ) -> dict[str, Any]:  # fmt: skip
    """Accuracy, MCC and macro F1 over label names; ``labels`` is the task's label order."""
    _check_lengths(y_true, y_pred)
    unknown = sorted({y for y in y_true if y not in labels}, key=str)
    if unknown:
        raise ValueError(f"gold labels {unknown} are not among {list(labels)}")
    pred = [UNPARSABLE if p is None else p for p in y_pred]
    from sklearn import metrics as skm  # loads when scoring, not with every page and command

    return {
        "accuracy": float(skm.accuracy_score(y_true, pred)),
        "mcc": float(skm.matthews_corrcoef(y_true, pred)),
        "macro_f1": float(skm.f1_score(y_true, pred, labels=list(labels), average="macro", zero_division=0)),
        "examples": len(y_true),
        "unparsable": sum(p is None for p in y_pred),
    }


def score_metrics(y_true: Sequence[float], y_pred: Sequence[float | None], *,
                  fill: float | None = None) -> dict[str, Any]:  # fmt: skip
    """Spearman, Pearson (None when a side is constant) and MSE; None predictions become ``fill``."""
    _check_lengths(y_true, y_pred)
    missing = sum(p is None for p in y_pred)
    if missing and fill is None:
        raise ValueError(f"{missing} predictions are missing and no fill value was given")
    true = np.asarray(y_true, dtype=float)
    pred = np.asarray([fill if p is None else p for p in y_pred], dtype=float)
    constant = len(true) < 2 or np.ptp(true) == 0 or np.ptp(pred) == 0
    from scipy import stats
    from sklearn import metrics as skm

    return {
        "spearman": None if constant else _finite_or_none(stats.spearmanr(true, pred).statistic),
        "pearson": None if constant else _finite_or_none(stats.pearsonr(true, pred).statistic),
        "mse": float(skm.mean_squared_error(true, pred)),
        "examples": len(true),
        "unparsable": missing,
    }


def task_metrics(task: Task, y_true: Sequence, y_pred: Sequence) -> dict[str, Any]:
    """The metrics of a task's predictions, with ``main`` = the task's own metric (``metric`` names it)."""
    if task.target == "score":
        low, high = task.score_range or (0.0, 0.0)
        result = score_metrics(y_true, y_pred, fill=(low + high) / 2)
    else:
        result = classification_metrics(y_true, y_pred, labels=task.label_names)
    main = result.get(task.metric)
    if task.metric not in result:
        raise ValueError(f"task {task.name} measures {task.metric!r}, which a {task.target} task does not have")
    return {"metric": task.metric, "main": main, **result}


def mean_std(values: Sequence[float | None]) -> tuple[float | None, float | None, int]:
    """Mean and sample standard deviation (n - 1) over seeds, and how many values there were.

    None values (a metric that was undefined for a run) are left out; with one value the std is None.
    """
    present = [float(v) for v in values if v is not None]
    if not present:
        return None, None, 0
    std = statistics.stdev(present) if len(present) > 1 else None
    return statistics.fmean(present), std, len(present)
