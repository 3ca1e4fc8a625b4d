"""Metrics on fixed predictions equal scikit-learn / scipy (and hand-computed values)."""

import math
import statistics

import pytest
from scipy import stats
from sklearn import metrics as skm

from japagen_core.tasks import load_registry
from japagen_core.training.evaluate import (
    classification_metrics,
    mean_std,
    score_metrics,
    task_metrics,
)

REGISTRY = load_registry(None)
GOLD = ["entailment", "neutral", "contradiction", "neutral", "entailment", "neutral", "contradiction", "entailment"]
PRED = ["entailment", "neutral", "neutral", "neutral", "contradiction", "entailment", "contradiction", "entailment"]


def test_accuracy_mcc_and_f1_equal_sklearn():
    result = classification_metrics(GOLD, PRED, labels=REGISTRY["jnli"].label_names)
    assert result["accuracy"] == skm.accuracy_score(GOLD, PRED) == 5 / 8
    assert result["mcc"] == pytest.approx(skm.matthews_corrcoef(GOLD, PRED))
    assert result["macro_f1"] == pytest.approx(skm.f1_score(GOLD, PRED, average="macro"))
    assert result["examples"] == 8 and result["unparsable"] == 0


def test_binary_mcc_by_hand():
    gold = ["acceptable"] * 4 + ["unacceptable"] * 4
    pred = ["acceptable", "acceptable", "acceptable", "unacceptable", "unacceptable", "unacceptable", "acceptable",
            "unacceptable"]  # fmt: skip
    tp, fn, fp, tn = 3, 1, 1, 3
    by_hand = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    result = task_metrics(REGISTRY["jcola"], gold, pred)
    assert result["metric"] == "mcc" and result["main"] == pytest.approx(by_hand) == pytest.approx(0.5)


def test_an_unparsable_answer_counts_as_wrong():
    pred = [*PRED[:-1], None]
    result = classification_metrics(GOLD, pred, labels=REGISTRY["jnli"].label_names)
    assert result["accuracy"] == 4 / 8 and result["unparsable"] == 1
    assert result["mcc"] == pytest.approx(skm.matthews_corrcoef(GOLD, [*PRED[:-1], "(unparsable)"]))


SCORES = [0.0, 1.2, 2.5, 3.3, 4.8, 4.1, 0.6, 2.0]
PREDICTED = [0.3, 1.0, 2.9, 3.1, 4.0, 4.5, 1.5, 1.8]


def test_spearman_pearson_and_mse_equal_scipy_and_sklearn():
    result = task_metrics(REGISTRY["jsts"], SCORES, PREDICTED)
    assert result["metric"] == "spearman"
    assert result["main"] == result["spearman"] == pytest.approx(stats.spearmanr(SCORES, PREDICTED).statistic)
    assert result["pearson"] == pytest.approx(stats.pearsonr(SCORES, PREDICTED).statistic)
    assert result["mse"] == pytest.approx(skm.mean_squared_error(SCORES, PREDICTED))
    ranks = [1, 3, 5, 6, 8, 7, 2, 4], [1, 2, 5, 6, 7, 8, 3, 4]  # no ties: 1 - 6 sum d^2 / (n (n^2 - 1))
    d2 = sum((a - b) ** 2 for a, b in zip(*ranks, strict=True))
    assert result["spearman"] == pytest.approx(1 - 6 * d2 / (8 * 63))


def test_score_metrics_fill_missing_and_undefined_correlation():
    result = task_metrics(REGISTRY["jsts"], SCORES, [*PREDICTED[:-1], None])
    assert result["unparsable"] == 1
    assert result["spearman"] == pytest.approx(stats.spearmanr(SCORES, [*PREDICTED[:-1], 2.5]).statistic)
    assert score_metrics(SCORES, [1.0] * 8)["spearman"] is None  # a constant prediction has no rank correlation
    with pytest.raises(ValueError, match="no fill value"):
        score_metrics(SCORES, [None] * 8)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="3 gold values but 2 predictions"):
        classification_metrics(["a", "b", "a"], ["a", "b"], labels=["a", "b"])
    with pytest.raises(ValueError, match="gold labels"):
        classification_metrics(["x"], ["a"], labels=["a", "b"])
    with pytest.raises(ValueError, match="no examples"):
        score_metrics([], [])


def test_mean_and_sample_std_over_seeds():
    values = [46.2, 47.9, 44.8, 46.5, 47.05]
    assert mean_std(values) == (pytest.approx(statistics.fmean(values)), pytest.approx(statistics.stdev(values)), 5)
    assert mean_std([50.0]) == (50.0, None, 1)
    assert mean_std([None, 40.0, 42.0]) == (41.0, pytest.approx(math.sqrt(2)), 2)
    assert mean_std([]) == (None, None, 0)
