"""The Review page: empty state, one-at-a-time relabel / flag / undo, the drill-down from a confusion
cell, bulk actions behind a confirmation, and snapshots with downloads."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from japagen_core.review import events as ev
from japagen_core.review import snapshots as snap
from japagen_core.settings import PROJECT_ROOT
from tests.pages.test_pages import texts

MAIN = str(PROJECT_ROOT / "app" / "main.py")


def _page(reviewer: str | None = "aiko") -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60)
    if reviewer:
        at.query_params["reviewer"] = reviewer
    at.run()
    at.switch_page("../pages/review.py").run()
    assert not at.exception, at.exception
    return at


def _current(at: AppTest) -> tuple[str, int]:
    caption = next(c.value for c in at.caption if c.value.startswith("Example "))
    dataset, row = caption.split(" · ")[1].split(" #")
    return dataset, int(row)


def test_empty_store_explains_what_to_do(home):
    at = _page()
    assert "Nothing to review yet" in texts(at)


def test_without_a_reviewer_name_actions_ask_for_one(project, jnli_review):
    at = _page(reviewer=None)
    assert "Set your name as **Reviewer**" in texts(at)
    assert not [b for b in at.button if b.key and b.key.startswith("rv_label_")]


def test_relabel_flag_and_undo_one_at_a_time(project, jnli_review):
    _gold, run = jnli_review
    at = _page()
    at.selectbox(key="rv_task").set_value("jnli").run()
    first = _current(at)
    assert first[0] == run  # synthetic runs are the default queue
    at.button(key="rv_label_1").click().run()  # 1 = entailment
    assert not at.exception
    [event] = ev.history(project, *first)
    assert (event.action, event.new_value, event.reviewer) == ("relabel", "entailment", "aiko")
    second = _current(at)
    assert second != first  # moved on to the next example
    at.button(key="rv_flag_bad_text").click().run()
    assert ev.states(project, [second])[second].flag == "bad_text"
    at.button(key="rv_undo").click().run()
    assert ev.states(project, [second]).get(second, ev.State()).flag is None
    assert [e.action for e in ev.history(project, *second)] == ["flag", "undo"]
    assert ev.states(project, [first])[first].label == "entailment"  # the earlier action stays
    at.button(key="rv_prev").click().run()
    assert "History of this example" in "".join(e.label for e in at.expander)


def test_drill_down_cell_opens_exactly_those_pairs(project, jnli_review):
    _, run = jnli_review
    at = _page()
    at.selectbox(key="rv_task").set_value("jnli").run()
    at.segmented_control(key="rv_mode").set_value("Drill-down").run()
    assert not at.exception and "click a cell" in texts(at)
    cell = at.selectbox(key="rv_cell_choice").value
    assert cell[:2] == ("neutral", "entailment")  # the biggest disagreement comes first
    at.button(key="rv_cell_go").click().run()
    assert at.segmented_control(key="rv_mode").value == "One at a time"
    assert at.multiselect(key="rv_assigned_jnli").value == ["neutral"]
    assert at.multiselect(key="rv_predicted_jnli").value == ["entailment"]
    assert f"of {cell[2]}" in texts(at)
    for _ in range(3):  # relabel three by keyboard-equivalent buttons: each leaves the queue
        at.button(key="rv_label_1").click().run()
    assert not at.exception
    relabeled = [e for e in ev.all_events(project, run) if e.action == "relabel"]
    assert len(relabeled) == 3 and {(e.old_value, e.new_value) for e in relabeled} == {("neutral", "entailment")}


def test_bulk_action_needs_confirmation_and_undoes_as_one(project, jnli_review):
    _, run = jnli_review
    at = _page()
    at.selectbox(key="rv_task").set_value("jnli").run()
    at.segmented_control(key="rv_mode").set_value("Page").run()
    at.multiselect(key="rv_words_jnli").set_value(["公園"]).run()
    at.selectbox(key="rv_bulk_action").set_value(("flag", "off_task")).run()
    at.button(key="rv_bulk_all").click().run()
    assert "this changes **16** examples" in texts(at)
    assert ev.all_events(project, run) == []  # nothing before the confirmation
    at.button(key="rv_bulk_confirm").click().run()
    assert len(ev.all_events(project, run)) == 16
    at.button(key="rv_undo_page").click().run()
    states = ev.states(project, [(run, r) for r in range(48)])
    assert not any(s.flag for s in states.values())


def test_export_makes_a_numbered_snapshot_with_downloads(project, jnli_review):
    _, run = jnli_review
    ev.apply(project, project.registry["jnli"], [(run, 1)], ev.Action("flag", "duplicate"), reviewer="x")
    at = _page()
    at.selectbox(key="rv_task").set_value("jnli").run()
    at.segmented_control(key="rv_mode").set_value("Export").run()
    at.button(key="rv_snapshot").click().run()
    assert not at.exception and "Snapshot 1: 47 rows" in texts(at)
    assert snap.get_snapshot(project, 1).exclude_flagged
    assert len(at.get("download_button")) == 3


def test_pin_to_showcase_from_the_review_card(project, jnli_review):
    from japagen_core.showcase import list_pins

    at = _page()
    at.selectbox(key="rv_task").set_value("jnli").run()
    current = _current(at)
    at.button(key="rv_pin").click().run()
    assert not at.exception
    assert [(p.dataset_id, p.row_idx, p.pinned_by) for p in list_pins(project, task="jnli")] == [(*current, "aiko")]
    assert at.button(key="rv_pin").label == "Unpin"
    at.button(key="rv_pin").click().run()
    assert list_pins(project, task="jnli") == []
