"""Agreement between reviewers: kappa from events equals scikit-learn's on the same labels; undone and
score relabels are left out; confirmations count; the disagreements form a queue."""

from __future__ import annotations

from datetime import datetime

import pytest
from sklearn.metrics import cohen_kappa_score

from japagen_core.errors import JapagenError
from japagen_core.review import agreement as ag
from japagen_core.review import events as ev
from japagen_core.review.events import Action, Event
from tests.review_data import make_run

LABELS = ["entailment", "contradiction", "neutral"]
# Two reviewers over ten examples (a made example: 7 agreements, 3 disagreements).
AIKO = ["entailment", "entailment", "neutral", "contradiction", "neutral", "entailment", "neutral", "contradiction",
        "entailment", "neutral"]  # fmt: skip
BEN = ["entailment", "neutral", "neutral", "contradiction", "entailment", "entailment", "neutral", "contradiction",
       "contradiction", "neutral"]  # fmt: skip


def _events(rows: list[tuple]) -> list[Event]:
    """(reviewer, row, action, value[, undoes]) -> events with ids in order."""
    out = []
    for i, (who, row, action, value, *undoes) in enumerate(rows, start=1):
        out.append(Event(i, f"b{i}", "run", row, action, None, value, None, who, datetime(2026, 1, 1),
                         undoes[0] if undoes else None))  # fmt: skip
    return out


def _made() -> list[Event]:
    rows = [("aiko", i, "relabel", label) for i, label in enumerate(AIKO)]
    rows += [("ben", i, "relabel", label) for i, label in enumerate(BEN)]
    return _events(rows)


def test_kappa_per_pair_and_per_label_equals_sklearn():
    [pair] = ag.agreement(_made(), labels=LABELS)
    assert (pair.first, pair.second, pair.examples, pair.agreed) == ("aiko", "ben", 10, 7)
    assert pair.kappa == pytest.approx(cohen_kappa_score(AIKO, BEN))
    assert 0 < pair.kappa < 1
    for label in LABELS:
        expected = cohen_kappa_score([a == label for a in AIKO], [b == label for b in BEN])
        assert pair.per_label[label] == pytest.approx(expected)
    assert pair.pairs[("entailment", "neutral")] == 1 and pair.pairs[("neutral", "neutral")] == 3
    assert sum(pair.pairs.values()) == 10


def test_undone_and_newer_relabels_decide_a_reviewers_label():
    events = _events([
        ("aiko", 0, "relabel", "neutral"),
        ("aiko", 0, "relabel", "entailment"),  # her newest word on row 0
        ("ben", 0, "relabel", "entailment"),
        ("ben", 1, "relabel", "neutral"),
        ("aiko", 1, "relabel", "contradiction"),
        ("aiko", 1, "undo", "x", 5),  # takes back her row-1 label
        ("ben", 2, "relabel", "score:3.5"),  # a score is not a label
    ])  # fmt: skip
    given = ag.reviewer_labels(events)
    assert given == {"aiko": {("run", 0): "entailment"}, "ben": {("run", 0): "entailment", ("run", 1): "neutral"}}
    [pair] = ag.agreement(events, labels=LABELS)
    assert (pair.examples, pair.agreed, pair.kappa) == (1, 1, None)  # one shared answer: kappa undefined


def test_disagreements_are_the_queue_of_examples_labelled_differently():
    found = ag.disagreements(_made())
    assert [d.key for d in found] == [("run", 1), ("run", 4), ("run", 8)]
    assert found[0].labels == {"aiko": "entailment", "ben": "neutral"}
    assert ag.disagreements(_made(), reviewers=["aiko"]) == []


def test_agreement_refuses_labels_outside_the_task():
    with pytest.raises(JapagenError, match="not among the task's labels"):
        ag.agreement(_made(), labels=["entailment", "neutral"])
    with pytest.raises(JapagenError, match="score task"):
        ag.agreement(_made(), labels=[])


def test_a_second_reviewer_confirming_a_label_is_recorded_and_counts(project):
    """Through the store: ben agrees with aiko's relabel and with an original label (confirm=True): both
    are his labels for agreement, and neither changes the example's state."""
    run = make_run(project, [("犬がいる。", "動物がいる。", "entailment"), ("猫。", "犬。", "neutral")])
    task = project.registry["jnli"]
    ev.apply(project, task, [(run, 0)], Action("relabel", "neutral"), reviewer="aiko")
    ev.apply(project, task, [(run, 1)], Action("relabel", "neutral"), reviewer="aiko", confirm=True)
    assert ev.apply(project, task, [(run, 0)], Action("relabel", "neutral"), reviewer="ben", confirm=True)[1] == 1
    assert ev.apply(project, task, [(run, 0)], Action("relabel", "neutral"), reviewer="ben", confirm=True)[1] == 0
    assert ev.apply(project, task, [(run, 1)], Action("relabel", "neutral"), reviewer="ben")[1] == 0  # no confirm
    states = ev.states(project, [(run, 0), (run, 1)])
    assert (states[(run, 0)].label, states[(run, 1)].label) == ("neutral", None)  # a confirmation is no relabel
    events = ev.all_events(project, run)
    [pair] = ag.agreement(events, labels=task.label_names)
    assert (pair.examples, pair.agreed) == (1, 1)  # ben's row 1 was not confirmed, aiko's was


def test_a_resent_batch_is_applied_once(project):
    run = make_run(project, [("犬がいる。", "動物がいる。", "entailment")])
    task = project.registry["jnli"]
    first = ev.apply(project, task, [(run, 0)], Action("flag", "mislabeled"), reviewer="aiko", batch_id="c1-1")
    again = ev.apply(project, task, [(run, 0)], Action("flag", "bad_text"), reviewer="aiko", batch_id="c1-1")
    assert (first, again) == (("c1-1", 1), ("c1-1", 0))
    undone = ev.undo_batch(project, "c1-1", reviewer="aiko", undo_batch_id="c1-2")
    assert [(e.action, e.new_value) for e in undone] == [("flag", "mislabeled")]
    assert ev.undo_batch(project, "c1-1", reviewer="aiko", undo_batch_id="c1-2") == []
    assert ev.states(project, [(run, 0)])[(run, 0)].flag is None
    assert len(ev.all_events(project, run)) == 2
