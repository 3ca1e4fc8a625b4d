"""Showcase pins and example cards: pinned first, then a seeded draw; reviewed labels; pins go with
their dataset."""

import pytest

from japagen_core import showcase
from japagen_core.errors import DatasetNotFoundError
from japagen_core.review import events as ev
from japagen_core.review.events import Action
from japagen_core.storage import repository as repo
from tests.review_data import make_run

ROWS = [(f"前提{i}です。", f"仮説{i}です。", ("entailment", "contradiction", "neutral")[i % 3]) for i in range(30)]


@pytest.fixture
def run(project):
    return make_run(project, ROWS)


def test_cards_are_seeded_and_per_label_in_the_task_order(project, run):
    cards = showcase.example_cards(project, "jnli", per_label=2, seed=7)
    assert [c.label for c in cards] == ["entailment", "entailment", "contradiction", "contradiction", "neutral",
                                        "neutral"]  # fmt: skip
    assert cards == showcase.example_cards(project, "jnli", per_label=2, seed=7)  # the same store and seed
    assert cards != showcase.example_cards(project, "jnli", per_label=2, seed=8)
    card = cards[0]
    assert (card.setting, card.model, card.kind, card.pinned) == ("kadg", "test-model", "synthetic", False)
    assert card.kadg_word in ("公園", "海", "台所") and card.text == ROWS[card.row_idx][0]


def test_pins_come_first_and_relabels_and_flags_count(project, run):
    task = project.registry["jnli"]
    showcase.pin(project, run, 4, pinned_by="ann", note="typical")  # row 4 is contradiction...
    ev.apply(project, task, [(run, 4)], Action("relabel", "neutral"), reviewer="ann")  # ...reviewed as neutral
    flagged = [r for r in range(30) if r % 3 == 0 and r != 0]
    ev.apply(project, task, [(run, r) for r in flagged], Action("flag", "bad_text"), reviewer="ann")
    cards = showcase.example_cards(project, "jnli", per_label=3)
    neutral = [c for c in cards if c.label == "neutral"]
    assert (
        neutral[0].row_idx == 4
        and neutral[0].pinned
        and neutral[0].relabeled
        and neutral[0].assigned == "contradiction"
    )
    assert neutral[0].note == "typical" and neutral[0].pinned_by == "ann"
    assert {c.row_idx for c in cards if c.label == "entailment"} == {0}  # the flagged ones are not drawn
    assert [p.row_idx for p in showcase.list_pins(project, task="jnli")] == [4]


def test_pin_errors_unpin_and_delete(project, run):
    with pytest.raises(showcase.ShowcaseError, match="has no row 99"):
        showcase.pin(project, run, 99, pinned_by="ann")
    with pytest.raises(DatasetNotFoundError, match="'nope'"):
        showcase.pin(project, "nope", 1, pinned_by="ann")
    with pytest.raises(showcase.ShowcaseError, match="reviewer's name"):
        showcase.pin(project, run, 1, pinned_by=" ")
    with pytest.raises(showcase.ShowcaseError, match="per_label 0"):
        showcase.example_cards(project, "jnli", per_label=0)
    showcase.pin(project, run, 1, pinned_by="ann")
    showcase.pin(project, run, 1, pinned_by="bob", note="again")  # replaces
    assert [(p.pinned_by, p.note) for p in showcase.list_pins(project, dataset_id=run)] == [("bob", "again")]
    assert showcase.unpin(project, run, 1) and not showcase.unpin(project, run, 1)
    showcase.pin(project, run, 2, pinned_by="ann")
    with project.db.transaction() as con:
        repo.delete_dataset(con, run)
        assert con.execute("SELECT count(*) FROM showcase").fetchall()[0][0] == 0


def test_a_task_without_any_data_has_no_cards(project):
    assert showcase.example_cards(project, "jnli") == []


def test_demo_cards_are_not_drawn_once_real_synthetic_data_exists(project):
    from japagen_core.demo import load_demo

    load_demo(project.db, project.registry, analyse=False)
    demo_only = showcase.example_cards(project, "jnli", per_label=3)
    assert demo_only and all(c.is_demo for c in demo_only)  # the demo alone: its cards, marked DEMO
    run = make_run(project, ROWS)
    for seed in range(3):
        assert {c.dataset_id for c in showcase.example_cards(project, "jnli", per_label=3, seed=seed)} == {run}
