"""Agreement between reviewers: Cohen's kappa per reviewer pair, overall and per label, and the
examples they disagree on (a queue to review).

Pure functions over review events (``events.Event``), no storage. A reviewer's label for an example
is the newest of their relabel events on it that is not undone (a relabel that confirms the label the
example already had counts: ``events.apply(..., confirm=True)`` records it). Kappa is scikit-learn's
``cohen_kappa_score`` over the examples both reviewers labelled; per label it is one-vs-rest (did both
say "entailment" or not). Kappa is undefined (None) when both reviewers gave one and the same answer
to every shared example: chance agreement is then 1.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from sklearn.metrics import cohen_kappa_score

from japagen_core.errors import JapagenError
from japagen_core.review.events import Event, Key


@dataclass(frozen=True)
class PairAgreement:
    """Two reviewers over the examples both labelled."""

    first: str
    second: str
    examples: int  # labelled by both
    agreed: int
    kappa: float | None  # over all labels; None when undefined (or no shared example)
    per_label: dict[str, float | None]  # one-vs-rest kappa of each label
    pairs: dict[tuple[str, str], int]  # (first's label, second's label) -> examples

    @property
    def observed(self) -> float | None:
        return self.agreed / self.examples if self.examples else None


@dataclass(frozen=True)
class Disagreement:
    key: Key
    labels: dict[str, str]  # reviewer -> label


def reviewer_labels(events: Iterable[Event]) -> dict[str, dict[Key, str]]:
    """reviewer -> {example: label}: each reviewer's newest relabel of each example that is not undone.
    Score relabels (``score:<value>``) are left out: kappa is for labels."""
    ordered = sorted(events, key=lambda e: e.id)
    undone = {e.undoes for e in ordered if e.action == "undo"}
    labels: dict[str, dict[Key, str]] = {}
    for e in ordered:
        if e.action != "relabel" or e.id in undone or not e.new_value or e.new_value.startswith("score:"):
            continue
        labels.setdefault(e.reviewer, {})[(e.dataset_id, int(e.row_idx))] = e.new_value
    return labels


def _kappa(first: Sequence, second: Sequence, labels: Sequence | None) -> float | None:
    if not first:
        return None
    with warnings.catch_warnings():  # a single shared answer: undefined, reported as None
        warnings.simplefilter("ignore")
        value = cohen_kappa_score(first, second, labels=labels)
    return None if value != value else float(value)


def pair_agreement(first: str, second: str, given: dict[str, dict[Key, str]], labels: Sequence[str]) -> PairAgreement:
    a, b = given.get(first, {}), given.get(second, {})
    shared = sorted(set(a) & set(b))
    ya, yb = [a[k] for k in shared], [b[k] for k in shared]
    unknown = sorted({*ya, *yb} - set(labels))
    if unknown:
        raise JapagenError(f"reviewer labels {unknown} are not among the task's labels {list(labels)}")
    pairs: dict[tuple[str, str], int] = {}
    for x, y in zip(ya, yb, strict=True):
        pairs[(x, y)] = pairs.get((x, y), 0) + 1
    per_label = {label: _kappa([x == label for x in ya], [y == label for y in yb], [False, True]) for label in labels}
    return PairAgreement(
        first, second, len(shared), sum(x == y for x, y in zip(ya, yb, strict=True)),
        _kappa(ya, yb, list(labels)), per_label, pairs,
    )  # fmt: skip


def agreement(events: Iterable[Event], *, labels: Sequence[str], min_shared: int = 1) -> list[PairAgreement]:
    """Every pair of reviewers who labelled at least ``min_shared`` examples in common, most shared first."""
    if not labels:
        raise JapagenError("agreement needs the task's labels (a label task, not a score task)")
    given = reviewer_labels(events)
    found = [pair_agreement(a, b, given, labels) for a, b in combinations(sorted(given), 2)]
    return sorted((p for p in found if p.examples >= min_shared), key=lambda p: (-p.examples, p.first, p.second))


def disagreements(events: Iterable[Event], *, reviewers: Sequence[str] | None = None) -> list[Disagreement]:
    """The examples two or more reviewers (of ``reviewers``; all by default) labelled differently, in
    (dataset, row) order: a queue to settle."""
    given = reviewer_labels(events)
    chosen = [r for r in given if reviewers is None or r in reviewers]
    keys = sorted({k for r in chosen for k in given[r]})
    out = []
    for key in keys:
        said = {r: given[r][key] for r in chosen if key in given[r]}
        if len(set(said.values())) > 1:
            out.append(Disagreement(key, said))
    return out
