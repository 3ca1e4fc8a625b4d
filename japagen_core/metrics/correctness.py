"""Label correctness (paper §4.3): a classifier trained on gold data predicts a set's labels.

This is the *quick estimate* (the paper uses a fine-tuned BERT, ``japagen_core.training``): scikit-learn
over MeCab tokens, TF-IDF of unigrams and bigrams with class-balanced logistic regression (classes) or
ridge regression (JSTS-like scores, reported as MSE). For pair tasks the features mark which sentence a
token is in, and which tokens both sentences share.

A classifier never scores its own training rows: an evaluated row whose content is also in the training
data is predicted by a model fitted without it (k-fold, seeded; rows with the same content share a
fold), which is ``sklearn.model_selection.cross_val_predict`` when the evaluated set *is* the training
set, and what cleanlab needs (out-of-sample probabilities).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # scikit-learn loads when a model is fitted or scored, not with the pages and the CLI
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, Ridge

QUICK_METHOD = "quick estimate: TF-IDF + logistic regression, class-balanced"
DEGENERATE_RECALL = 0.05  # a label present in the scored set with a recall below this: degenerate
FOLDS = 5


@dataclass(frozen=True)
class Correctness:
    metric: str  # "accuracy" (higher is better) or "mse" (lower is better)
    overall: float  # accuracy (0-1) or MSE
    per_label: dict[str, float]  # by assigned label: recall (classes), MSE by nearest grade (scores)
    labels: list[str]
    confusion: list[list[int]] | None  # rows: assigned label, columns: predicted label
    predicted: list  # per example: a label name, or a score
    probabilities: list[list[float]] | None  # per example, in ``labels`` order
    signature: str
    balanced_accuracy: float | None = None  # mean recall over the labels present (classes only)
    recall: dict[str, float] = field(default_factory=dict)  # classes only; the same as per_label
    degenerate: bool = False  # some present label has recall < DEGENERATE_RECALL
    out_of_sample: bool = True  # no row was predicted by a model that trained on it
    cross_validated: int = 0  # rows predicted out-of-fold because the training data holds them
    folds: int | None = None  # k of the k-fold, when any row was cross-validated


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
    """A classifier (or, for score tasks, a regressor) trained on a gold split, with that split kept
    so that rows it holds can be predicted out-of-fold."""

    vectorizer: TfidfVectorizer
    model: LogisticRegression | Ridge
    labels: list[str] | None  # None: a score task
    signature: str
    train_features: list[list[str]]
    train_targets: list
    train_keys: list[Hashable]  # content of each training row (rows alike share a fold)
    seed: int


def _fit(train_features, train_targets, labels, seed):
    # One BLAS thread: on these small sparse problems a thread pool only fights itself (measured 10x
    # slower on a busy two-core machine, 20 s against 2 s for gold JNLI valid).
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _fit_now(train_features, train_targets, labels, seed)


def _fit_now(train_features, train_targets, labels, seed):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, Ridge

    vectorizer = TfidfVectorizer(analyzer=lambda feats: feats, min_df=1, sublinear_tf=True)
    x_train = vectorizer.fit_transform(train_features)
    if labels is None:
        return vectorizer, Ridge(alpha=1.0, random_state=seed).fit(x_train, np.asarray(train_targets, dtype=float))
    model = LogisticRegression(max_iter=2000, class_weight="balanced", random_state=seed)
    return vectorizer, model.fit(x_train, list(train_targets))


def train_gold_model(
    train_features: Sequence[Sequence[str]],
    train_targets: Sequence,
    *,
    labels: Sequence[str] | None,
    seed: int = 0,
    tokenizer_signature: str = "tok:given",
    keys: Sequence[Hashable] | None = None,
) -> GoldModel:
    """Fit on gold data. ``labels`` None means a score task (ridge regression). ``keys``: the content of
    each training row (default: its features), matched against evaluated rows' keys."""
    if len(train_features) != len(train_targets):
        raise ValueError("features and targets must have the same length")
    if labels is not None:
        unknown = sorted({str(t) for t in train_targets} - set(labels))
        if unknown:
            raise ValueError(f"the training split has examples without a known label: {unknown[:5]}")
        present = sorted(set(train_targets), key=list(labels).index)
        if len(present) < 2:
            raise ValueError(f"the training split needs at least two labels, found {present}")
    vectorizer, model = _fit(train_features, train_targets, labels, seed)
    head = "ridge" if labels is None else "logreg-balanced"
    signature = (
        f"correctness|method:quick|sklearn-{version('scikit-learn')}|tfidf-uni-bi+{head}|seed:{seed}"
        f"|{tokenizer_signature}"
    )
    return GoldModel(
        vectorizer, model, None if labels is None else list(labels), signature,
        [list(f) for f in train_features], list(train_targets),
        list(keys) if keys is not None else [tuple(f) for f in train_features], seed,
    )  # fmt: skip


def _predict_with(vectorizer, model, labels, eval_features) -> tuple[np.ndarray, np.ndarray | None]:
    x_eval = vectorizer.transform(eval_features)
    if labels is None:
        return np.asarray(model.predict(x_eval), dtype=float), None
    proba = model.predict_proba(x_eval)
    full = np.zeros((len(eval_features), len(labels)))
    for j, name in enumerate(model.classes_):
        full[:, labels.index(name)] = proba[:, j]
    return full.argmax(axis=1), full


def _fold_of_training_rows(trained: GoldModel, folds: int) -> tuple[np.ndarray, int]:
    """A fold number per training row, and the number of folds. Rows with the same key share a fold; the
    distinct keys are split k-fold (stratified by label for classes), shuffled with the model's seed."""
    group_ids: dict[Hashable, int] = {}
    groups = np.array([group_ids.setdefault(k, len(group_ids)) for k in trained.train_keys])
    k = min(folds, len(group_ids))
    if k < 2:
        raise ValueError("the training split has fewer than two distinct rows: it cannot be cross-validated")
    first_row = np.unique(groups, return_index=True)[1]  # the first row of each group, in group order
    from sklearn.model_selection import KFold, StratifiedKFold

    if trained.labels is None:
        splits = KFold(n_splits=k, shuffle=True, random_state=trained.seed).split(first_row)
    else:
        group_labels = [str(trained.train_targets[i]) for i in first_row]
        counts = np.unique(group_labels, return_counts=True)[1]
        k = min(k, int(counts.max()))
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=trained.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a label with fewer rows than folds: sklearn warns, still splits
            splits = list(splitter.split(first_row, group_labels))
    group_fold = np.empty(len(first_row), dtype=int)
    for f, (_, test_idx) in enumerate(splits):
        group_fold[test_idx] = f
    return group_fold[groups], k


def predict_out_of_sample(
    trained: GoldModel, eval_features: Sequence[Sequence[str]], eval_keys: Sequence[Hashable] | None = None, *,
    folds: int = FOLDS,
) -> tuple[np.ndarray, np.ndarray | None, int, int | None]:  # fmt: skip
    """Predictions (N,) (class indices, or scores) and probabilities (N, K) (None for scores) of evaluated
    rows, each by a model that never trained on its content; with how many rows were cross-validated, and k."""
    keys = list(eval_keys) if eval_keys is not None else [tuple(f) for f in eval_features]
    predicted, proba = _predict_with(trained.vectorizer, trained.model, trained.labels, eval_features)
    known = {k: i for i, k in enumerate(trained.train_keys)}
    seen = [i for i, k in enumerate(keys) if k in known]
    if not seen:
        return predicted, proba, 0, None
    fold, k = _fold_of_training_rows(trained, folds)
    eval_fold = np.array([fold[known[keys[i]]] for i in seen])
    for f in range(k):
        rows = [i for i, ef in zip(seen, eval_fold, strict=True) if ef == f]
        if not rows:
            continue
        fit_rows = np.flatnonzero(fold != f)
        targets = [trained.train_targets[i] for i in fit_rows]
        if trained.labels is not None and len(set(targets)) < 2:
            raise ValueError(f"fold {f} of {k} leaves a single label to train on: too few gold rows")
        vectorizer, model = _fit([trained.train_features[i] for i in fit_rows], targets, trained.labels, trained.seed)
        fold_pred, fold_proba = _predict_with(vectorizer, model, trained.labels, [eval_features[i] for i in rows])
        predicted[rows] = fold_pred
        if proba is not None:
            proba[rows] = fold_proba
    return predicted, proba, len(seen), k


def label_correctness(
    trained: GoldModel, eval_features: Sequence[Sequence[str]], eval_targets: Sequence, *,
    grade_of: Callable | None = None, eval_keys: Sequence[Hashable] | None = None, folds: int = FOLDS,
) -> Correctness:  # fmt: skip
    """Predict an evaluated set with a gold-trained model, out of sample, and score its labels (or scores)."""
    if len(eval_features) != len(eval_targets):
        raise ValueError("features and targets must have the same length")
    if not eval_features:
        raise ValueError("the evaluated set is empty")
    predicted, proba, crossed, k = predict_out_of_sample(trained, eval_features, eval_keys, folds=folds)
    signature = trained.signature + (f"|oos:cv-{k}fold-seed{trained.seed}" if crossed else "|oos:unseen")
    if trained.labels is None:
        return score_correctness([float(v) for v in predicted], eval_targets, grade_of=grade_of,
                                 signature=signature, cross_validated=crossed, folds=k)  # fmt: skip
    names = [trained.labels[i] for i in predicted]
    return class_correctness(names, proba.round(6).tolist(), eval_targets, labels=trained.labels,
                             signature=signature, cross_validated=crossed, folds=k)  # fmt: skip


def class_correctness(predicted: Sequence[str], probabilities: list[list[float]] | None, truth: Sequence[str], *,
                      labels: Sequence[str], signature: str, cross_validated: int = 0,
                      folds: int | None = None) -> Correctness:  # fmt: skip
    """Accuracy, balanced accuracy, recall per present label and the degenerate flag of predicted labels."""
    from sklearn.metrics import accuracy_score, confusion_matrix

    labels, truth, predicted = list(labels), list(truth), list(predicted)
    recall = {}
    for name in labels:
        idx = [i for i, t in enumerate(truth) if t == name]
        if idx:
            recall[name] = float(accuracy_score([truth[i] for i in idx], [predicted[i] for i in idx]))
    return Correctness(
        "accuracy", float(accuracy_score(truth, predicted)), recall, labels,
        confusion_matrix(truth, predicted, labels=labels).tolist(), predicted, probabilities, signature,
        balanced_accuracy=float(np.mean(list(recall.values()))) if recall else None, recall=dict(recall),
        degenerate=any(r < DEGENERATE_RECALL for r in recall.values()), cross_validated=cross_validated, folds=folds,
    )  # fmt: skip


def score_correctness(predicted: Sequence[float], truth: Sequence, *, grade_of: Callable | None, signature: str,
                      cross_validated: int = 0, folds: int | None = None) -> Correctness:  # fmt: skip
    """MSE overall and per grade of predicted scores."""
    from sklearn.metrics import mean_squared_error

    pred = np.asarray(predicted, dtype=float)
    true = np.asarray(truth, dtype=float)
    groups: dict[str, list[int]] = {}
    for i, score in enumerate(true):
        groups.setdefault(grade_of(score) if grade_of else str(score), []).append(i)
    per_label = {g: float(mean_squared_error(true[idx], pred[idx])) for g, idx in sorted(groups.items())}
    return Correctness("mse", float(mean_squared_error(true, pred)), per_label, sorted(groups), None,
                       [float(v) for v in pred], None, signature, cross_validated=cross_validated,
                       folds=folds)  # fmt: skip
