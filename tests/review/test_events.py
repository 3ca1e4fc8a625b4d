"""Review events: the state is always the fold of the log; undo; two writers; bad actions refused."""

from __future__ import annotations

import random

import pytest

from japagen_core.review import events as ev
from japagen_core.review.events import Action, ReviewError
from tests.review_data import make_run


@pytest.fixture
def run(project):
    rows = [
        (f"犬が{i}匹いる。", f"動物が{i}匹いる。", ["entailment", "contradiction", "neutral"][i % 3]) for i in range(12)
    ]
    return make_run(project, rows)


def _fold_from_log(project, run):
    by_row = {}
    for e in ev.all_events(project, run):
        by_row.setdefault(e.row_idx, []).append(e)
    return {row: ev.fold(events) for row, events in by_row.items()}


def test_state_equals_fold_of_events_after_random_actions(project, run):
    task = project.registry["jnli"]
    rng = random.Random(7)
    reviewers = ["aiko", "ben"]
    for _ in range(60):
        keys = [(run, rng.randrange(12)) for _ in range(rng.randint(1, 3))]
        reviewer = rng.choice(reviewers)
        choice = rng.random()
        if choice < 0.15:
            ev.undo_last(project, [run], reviewer=reviewer)
            continue
        action = rng.choice(
            [
                Action("flag", rng.choice(ev.FLAGS)),
                Action("unflag"),
                Action("relabel", rng.choice(task.label_names), reason="looks wrong"),
                Action("note", rng.choice(["", "check premise", "typo"])),
            ]
        )
        ev.apply(project, task, keys, action, reviewer=reviewer)
    stored = ev.states(project, [(run, r) for r in range(12)])
    folded = _fold_from_log(project, run)
    assert stored == {(run, r): s for r, s in folded.items()}
    assert stored  # the random walk did change something


def test_relabel_records_old_and_new_and_undo_restores(project, run):
    task = project.registry["jnli"]
    batch, n = ev.apply(
        project, task, [(run, 2)], Action("relabel", "entailment", reason="x2 follows"), reviewer="aiko"
    )
    assert n == 1
    [event] = ev.history(project, run, 2)
    assert (event.action, event.old_value, event.new_value, event.reviewer, event.reason) == (
        "relabel", "neutral", "entailment", "aiko", "x2 follows",
    )  # fmt: skip
    assert ev.states(project, [(run, 2)])[(run, 2)].label == "entailment"
    assert ev.undo_last(project, [run], reviewer="aiko") == (batch, 1)
    assert ev.states(project, [(run, 2)])[(run, 2)].label is None
    history = ev.history(project, run, 2)
    assert [e.action for e in history] == ["relabel", "undo"] and history[1].undoes == event.id
    assert ev.undo_last(project, [run], reviewer="aiko") is None  # nothing left to undo


def test_undo_is_per_reviewer_and_undoes_a_whole_bulk_action(project, run):
    task = project.registry["jnli"]
    ev.apply(project, task, [(run, r) for r in range(6)], Action("flag", "off_task"), reviewer="aiko")
    ev.apply(project, task, [(run, 7)], Action("flag", "bad_text"), reviewer="ben")
    assert ev.undo_last(project, [run], reviewer="aiko")[1] == 6
    states = ev.states(project, [(run, r) for r in range(12)])
    assert [k for k, s in states.items() if s.flag] == [(run, 7)]


def test_two_writers_on_one_example_both_land_in_the_log(project, run):
    """Two tabs: each acts on what it saw; the second event's 'old' is the first one's 'new'."""
    task = project.registry["jnli"]
    ev.apply(project, task, [(run, 0)], Action("relabel", "neutral"), reviewer="tab-1")
    ev.apply(project, task, [(run, 0)], Action("relabel", "contradiction"), reviewer="tab-2")
    log = ev.history(project, run, 0)
    assert [(e.old_value, e.new_value) for e in log] == [("entailment", "neutral"), ("neutral", "contradiction")]


def test_no_op_actions_write_nothing(project, run):
    task = project.registry["jnli"]
    assert ev.apply(project, task, [(run, 0)], Action("relabel", "entailment"), reviewer="a")[1] == 0
    assert ev.apply(project, task, [(run, 0)], Action("unflag"), reviewer="a")[1] == 0


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (Action("relabel", "maybe"), "not a label of jnli"),
        (Action("flag", "ugly"), "unknown flag"),
        (Action("delete"), "unknown review action"),
    ],
)
def test_bad_actions_are_refused_and_write_nothing(project, run, action, message):
    with pytest.raises(ReviewError, match=message):
        ev.apply(project, project.registry["jnli"], [(run, 0)], action, reviewer="a")
    assert ev.all_events(project, run) == []


def test_missing_reviewer_and_unknown_example_are_refused(project, run):
    task = project.registry["jnli"]
    with pytest.raises(ReviewError, match="reviewer name"):
        ev.apply(project, task, [(run, 0)], Action("flag", "duplicate"), reviewer=" ")
    with pytest.raises(ReviewError, match="no such example"):
        ev.apply(project, task, [(run, 99)], Action("flag", "duplicate"), reviewer="a")


def test_score_task_relabel_takes_a_score(project):
    from japagen_core.demo import load_demo

    demo = load_demo(project.db, project.registry, analyse=False)
    jsts = next(r.dataset_id for r in demo if r.dataset_id.startswith("jsts-"))
    task = project.registry["jsts"]
    ev.apply(project, task, [(jsts, 0)], Action("relabel", 4.2), reviewer="a")
    [event] = ev.history(project, jsts, 0)
    assert event.new_value == "score:4.2" and event.old_value.startswith("score:")
    assert ev.states(project, [(jsts, 0)])[(jsts, 0)].score == 4.2
    with pytest.raises(ReviewError, match="score"):
        ev.apply(project, task, [(jsts, 0)], Action("relabel", 9.0), reviewer="a")


def test_an_example_whose_actions_were_all_undone_is_not_reviewed(project, run):
    task = project.registry["jnli"]
    ev.apply(project, task, [(run, 0)], Action("flag", "duplicate"), reviewer="aiko")
    ev.apply(project, task, [(run, 1)], Action("flag", "duplicate"), reviewer="aiko")
    assert ev.reviewed(project, [(run, 0), (run, 1)]) == {(run, 0), (run, 1)}
    ev.undo_last(project, [run], reviewer="aiko")
    assert ev.reviewed(project, [(run, 0), (run, 1)]) == {(run, 0)}
