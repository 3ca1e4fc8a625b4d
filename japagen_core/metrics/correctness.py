"""Label correctness (paper §4.3): a classifier trained on gold data predicts a synthetic set.

The CPU classifier is scikit-learn over MeCab tokens: TF-IDF of unigrams and bigrams with logistic
regression (classes) or ridge regression (JSTS-like scores, reported as MSE). For pair tasks the
features mark which sentence a token is in, and which tokens both sentences share.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, confusion_matrix, mean_squared_error


@dataclass(frozen=True)
class Correctness:
    metric: str  # "accuracy" (higher is better) or "mse" (lower is better)
    overall: float
    per_label: dict[str, float]  # by assigned label (score tasks: by nearest grade)
    labels: list[str]
    confusion: list[list[int]] | None  # rows: assigned label, columns: predicted label
    predicted: list  # per example: a label name, or a score
    probabilities: list[list[float]] | None  # per example, in ``labels`` order
    signature: str


def features(tokens: Sequence[str], tokens_b: Sequence[str] | None = None) -> list[str]:
    """Classifier features of one example: unigrams and bigrams; for a pair, sentence-marked ones."""

    def grams(toks: Sequence[str], mark: str) -> list[str]:
        return [mark + t for t in toks] + [f"{mark}{a}_{b}" for a, b in itertools.pairwise(toks)]

    if tokens_b is None:
        return grams(tokens, "")
    shared = set(tokens) & set(tokens_b)
    return (
        grams(tokens, "a:")
        + grams(tokens_b, "b:")
        + [f"both:{t}" for t in shared]
        + [f"b_only:{t}" for t in set(tokens_b) - shared]
    )


@dataclass(frozen=True)
class GoldModel:
    """A classifier (or, for score tasks, a regressor) trained once on a gold split."""

    vectorizer: TfidfVectorizer
    model: LogisticRegression | Ridge
    labels: list[str] | None  # None: a score task
    signature: str


def train_gold_model(
    train_features: Sequence[Sequence[str]],
    train_targets: Sequence,
    *,
    labels: Sequence[str] | None,
    seed: int = 0,
    tokenizer_signature: str = "tok:given",
) -> GoldModel:
    """Fit on gold data. ``labels`` None means a score task (ridge regression)."""
    if len(train_features) != len(train_targets):
        raise ValueError("features and targets must have the same length")
    if labels is not None:
        unknown = sorted({str(t) for t in train_targets} - set(labels))
        if unknown:
            raise ValueError(f"the training split has examples without a known label: {unknown[:5]}")
        present = sorted(set(train_targets), key=list(labels).index)
        if len(present) < 2:
            raise ValueError(f"the training split needs at least two labels, found {present}")
    vectorizer = TfidfVectorizer(analyzer=lambda feats: feats, min_df=1, sublinear_tf=True)
    x_train = vectorizer.fit_transform(train_features)
    signature = f"correctness|sklearn-{version('scikit-learn')}|tfidf-uni-bi|seed:{seed}|{tokenizer_signature}"
    if labels is None:
        model = Ridge(alpha=1.0, random_state=seed).fit(x_train, np.asarray(train_targets, dtype=float))
        return GoldModel(vectorizer, model, None, signature + "|ridge")
    model = LogisticRegression(max_iter=2000, random_state=seed).fit(x_train, list(train_targets))
    return GoldModel(vectorizer, model, list(labels), signature + "|logreg")


def label_correctness(trained: GoldModel, eval_features: Sequence[Sequence[str]], eval_targets: Sequence, *,
                      grade_of=None) -> Correctness:  # fmt: skip
    """Predict an evaluated set with a gold-trained model and score its labels (or scores)."""
    if len(eval_features) != len(eval_targets):
        raise ValueError("features and targets must have the same length")
    if not eval_features:
        raise ValueError("the evaluated set is empty")
    x_eval = trained.vectorizer.transform(eval_features)
    if trained.labels is None:
        predicted = trained.model.predict(x_eval)
        truth = np.asarray(eval_targets, dtype=float)
        groups: dict[str, list[int]] = {}
        for i, score in enumerate(truth):
            groups.setdefault(grade_of(score) if grade_of else str(score), []).append(i)
        per_label = {g: float(mean_squared_error(truth[idx], predicted[idx])) for g, idx in sorted(groups.items())}
        return Correctness(
            "mse", float(mean_squared_error(truth, predicted)), per_label, sorted(groups), None,
            [float(v) for v in predicted], None, trained.signature,
        )  # fmt: skip
    labels = trained.labels
    proba = trained.model.predict_proba(x_eval)
    full = np.zeros((len(eval_features), len(labels)))
    for j, name in enumerate(trained.model.classes_):
        full[:, labels.index(name)] = proba[:, j]
    predicted = [labels[k] for k in full.argmax(axis=1)]
    truth = list(eval_targets)
    per_label = {}
    for name in labels:
        idx = [i for i, t in enumerate(truth) if t == name]
        if idx:
            per_label[name] = float(accuracy_score([truth[i] for i in idx], [predicted[i] for i in idx]))
    return Correctness(
        "accuracy",
        float(accuracy_score(truth, predicted)),
        per_label,
        list(labels),
        confusion_matrix(truth, predicted, labels=labels).tolist(),
        predicted,
        full.round(6).tolist(),
        trained.signature,
    )
