"""The Review page: empty state, one-at-a-time relabel / flag / undo (the card's syncs, as the browser
sends them), the drill-down from a confusion cell, agreement between reviewers, the grid's columns, bulk
actions behind a confirmation, and snapshots with downloads."""

from __future__ import annotations

import itertools
import json

from streamlit.testing.v1 import AppTest

from app.components import plain
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


_SYNCS = itertools.count(1)


def _card(at: AppTest) -> dict:
    """The data the page sent the review card (app/review_card.js) in its last run."""
    [card] = at.get("bidi_component")
    return json.loads(card.proto.json)


def _current(at: AppTest) -> tuple[str, int]:
    data = _card(at)
    item = data["items"][data["pos"] - data["start"]]
    return item["ds"], item["row"]


def _sync(at: AppTest, events: list[dict], pos: int, client: str = "apptest") -> dict:
    """What the card sends after key presses: every action not yet acknowledged, and where it is."""
    sync = {"client": client, "n": next(_SYNCS), "pos": pos, "events": events}  # n: the card numbers its syncs
    at.session_state["rv_card"] = {"sync": sync}
    at.run()
    assert not at.exception, at.exception
    return _card(at)


def _relabel(seq: int, key: tuple[str, int], label: str) -> dict:
    return {"seq": seq, "action": "relabel", "value": label, "ds": key[0], "row": key[1]}


def test_empty_store_explains_what_to_do(home):
    at = _page()
    assert "Nothing to review yet" in texts(at)


def test_without_a_reviewer_name_actions_ask_for_one(project, jnli_review):
    at = _page(reviewer=None)
    assert "Set your name as **Reviewer**" in texts(at)
    assert _card(at)["can_act"] is False


def test_relabel_flag_and_undo_one_at_a_time(project, jnli_review):
    _gold, run = jnli_review
    at = _page()
    at.selectbox(key="rv_task").set_value("jnli").run()
    first = _current(at)
    assert first[0] == run  # synthetic runs are the default queue
    assert _card(at)["reviewed"] == 0 and _card(at)["total"] == 48
    sent = [_relabel(1, first, "entailment")]  # key 1, and the card moved on to example 2
    data = _sync(at, sent, pos=1)
    [event] = ev.history(project, *first)
    assert (event.action, event.new_value, event.reviewer) == ("relabel", "entailment", "aiko")
    assert (data["acked"], data["reviewed"]) == (1, 1)
    second = _current(at)
    assert second != first
    sent.append({"seq": 2, "action": "flag", "value": "bad_text", "ds": second[0], "row": second[1]})
    _sync(at, sent, pos=2)
    assert ev.states(project, [second])[second].flag == "bad_text"
    sent.append({"seq": 3, "action": "undo", "target": 2})  # Z: back to example 2
    _sync(at, sent, pos=1)
    assert ev.states(project, [second]).get(second, ev.State()).flag is None
    assert [e.action for e in ev.history(project, *second)] == ["flag", "undo"]
    assert ev.states(project, [first])[first].label == "entailment"  # the earlier action stays
    _sync(at, sent, pos=1, client="apptest")  # the same actions sent again change nothing
    assert len(ev.all_events(project, run)) == 3
    history = next(e for e in at.expander if e.label.startswith("History of example 2"))
    [table] = history.dataframe
    assert list(table.value.iloc[:, 3]) == ["flagged as Bad text", "undid #2 (flagged as Bad text)"]
    assert list(table.value.iloc[:, 5]) == ["review", ""]  # in words: no "bad_text", no "None"
    at.button(key="rv_undo").click().run()  # the page's undo: the relabel of example 1, and the card goes there
    assert ev.states(project, [first]).get(first, ev.State()).label is None
    assert _card(at)["pos"] == 0
    assert f"Undid: relabeled contradiction (矛盾) → entailment (含意) ({run} #{first[1]})" in [
        t.value for t in at.toast
    ]


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
    assert _card(at)["total"] == cell[2]
    sent = []
    for seq in range(1, 4):  # relabel three by keyboard: the frozen queue keeps them in place, the card moves on
        sent.append(_relabel(seq, _current(at), "entailment"))
        _sync(at, sent, pos=seq)
    relabeled = [e for e in ev.all_events(project, run) if e.action == "relabel"]
    assert len(relabeled) == 3 and {(e.old_value, e.new_value) for e in relabeled} == {("neutral", "entailment")}
    assert len({(e.dataset_id, e.row_idx) for e in relabeled}) == 3


def test_agreement_of_two_reviewers_and_their_disagreements_as_a_queue(project, jnli_review):
    _, run = jnli_review
    task = project.registry["jnli"]
    for row, (a, b) in enumerate([("entailment", "entailment"), ("neutral", "entailment"), ("contradiction",
                                   "contradiction"), ("neutral", "neutral")]):  # fmt: skip
        ev.apply(project, task, [(run, row)], ev.Action("relabel", a), reviewer="aiko", confirm=True)
        ev.apply(project, task, [(run, row)], ev.Action("relabel", b), reviewer=BEN, confirm=True)
    at = _page()
    at.selectbox(key="rv_task").set_value("jnli").run()
    at.segmented_control(key="rv_mode").set_value("Agreement").run()
    assert not at.exception, at.exception
    pairs = at.dataframe[0].value
    assert list(pairs.iloc[0, :3]) == [f"aiko · {BEN}", 4, 3]
    shown = [m.value for m in at.markdown]  # a name is data (an imported annotator's): shown as it is, no markup
    assert any(f"columns: {plain(BEN)}" in v for v in shown) and not any(f"columns: {BEN}" in v for v in shown)
    assert "Cohen's kappa" in pairs.columns
    at.button(key="rv_review_disagreements").click().run()
    assert at.segmented_control(key="rv_mode").value == "One at a time"
    data = _card(at)
    assert data["total"] == 1 and _current(at) == (run, 1)
    assert f"Reviewing the disagreements of aiko · {plain(BEN)}" in texts(at)


BEN = "ben_*x*![p](http://host/p.png)"  # an annotator name from an imported file


def test_the_grid_leads_with_text_and_labels_and_counts_reviewed(project, jnli_review):
    _, run = jnli_review
    ev.apply(project, project.registry["jnli"], [(run, 0), (run, 1)], ev.Action("flag", "duplicate"), reviewer="x")
    at = _page()
    at.selectbox(key="rv_task").set_value("jnli").run()
    at.segmented_control(key="rv_mode").set_value("Page").run()
    assert not at.exception, at.exception
    columns = at.multiselect(key="rv_columns_jnli").value
    assert columns[:7] == ["premise", "hypothesis", "assigned", "now", "suggested", "suspicion", "flag"]
    assert "2 of 48 reviewed" in texts(at)
    at.multiselect(key="rv_columns_jnli").set_value(["flag", "premise"]).run()
    assert not at.exception


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
    assert "Undid: flagged as Off-task" in str([t.value for t in at.toast])
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
    assert [b.label for b in at.get("download_button")] == [
        "JSONL (gold format)", "PARQUET", "CSV", "Hugging Face dataset (ZIP)", "Label Studio (ZIP)", "Argilla (ZIP)",
    ]  # fmt: skip


def test_pin_to_showcase_from_the_review_card(project, jnli_review):
    from japagen_core.showcase import list_pins

    at = _page()
    at.selectbox(key="rv_task").set_value("jnli").run()
    current = _current(at)
    at.button(key="rv_pin").click().run()
    assert not at.exception
    assert [(p.dataset_id, p.row_idx, p.pinned_by) for p in list_pins(project, task="jnli")] == [(*current, "aiko")]
    assert at.button(key="rv_pin").label == "Unpin example 1"
    at.button(key="rv_pin").click().run()
    assert list_pins(project, task="jnli") == []


def test_a_score_task_is_scored_by_digit_keys_on_the_card(project):
    """JSTS on the card: the digits 0-5 set the score (sent as a ``score`` action with a number), the card
    shows the new score, and a score that is not a number is refused with a message, saving nothing."""
    from tests.review_data import make_jsts_run

    make_jsts_run(project)
    at = _page()
    at.selectbox(key="rv_task").set_value("jsts").run()
    card = _card(at)
    assert card["target"] == "score" and [g["key"] for g in card["grades"]] == ["0", "1", "2", "3", "4", "5"]
    assert "0–5 (score)" in card["strings"]["legend"]
    at.segmented_control(key="rv_mode").set_value("Export").run()
    at.button(key="rv_snapshot").click().run()
    assert [b.label for b in at.get("download_button")][3:] == ["Hugging Face dataset (ZIP)"]  # no score labels
    assert "Argilla export supports class labels only." in [c.value for c in at.caption]
    at.segmented_control(key="rv_mode").set_value("One at a time").run()
    key = _current(at)
    card = _sync(at, [{"seq": 1, "action": "score", "value": 4.0, "ds": key[0], "row": key[1]}], pos=1)
    assert ev.states(project, [key])[key].score == 4.0 and card["acked"] == 1
    item = next(i for i in card["items"] if (i["ds"], i["row"]) == key)
    assert item["now_title"] == "4.00" and item["now"] == "4"
    card = _sync(at, [{"seq": 2, "action": "score", "value": "x", "ds": key[0], "row": key[1]}], pos=1, client="other")
    assert "is not a number" in card["message"] and ev.states(project, [key])[key].score == 4.0
