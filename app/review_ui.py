"""Review page pieces: the reviewer name, the queue filters, and review events in words.

Session keys used here all start with ``rv_``. The card itself is app/review_card.py.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from app.components import label_text
from app.i18n import N_, shown_as, t
from japagen_core.review import events as ev
from japagen_core.review import queue as q
from japagen_core.tasks import Task

FLAG_KEYS = {"mislabeled": "M", "bad_text": "B", "duplicate": "D", "off_task": "O"}
FLAG_NAMES = {
    "mislabeled": N_("Mislabeled"), "bad_text": N_("Bad text"), "duplicate": N_("Duplicate"), "off_task": N_("Off-task")
}  # fmt: skip
STATE_NAMES = {
    "any": N_("any"), "unreviewed": N_("unreviewed"), "reviewed": N_("reviewed"), "flagged": N_("flagged"),
    "not flagged": N_("not flagged"), "relabeled": N_("relabeled"),
}  # fmt: skip
ACTION_NAMES = {
    "flag": N_("flag"), "unflag": N_("unflag"), "relabel": N_("relabel"), "note": N_("note"), "undo": N_("undo")
}  # fmt: skip
NEXT_KEY, PREV_KEY, UNFLAG_KEY, UNDO_KEY = "J", "K", "U", "Z"


def flag_name(flag: str | None) -> str | None:
    """A flag (mislabeled, bad_text, ...) in the UI language; None stays None."""
    return t(FLAG_NAMES[flag]) if flag in FLAG_NAMES else flag


def reviewer_name() -> str:
    """The reviewer, set in the sidebar; kept in the URL so a reload keeps it."""
    if "rv_reviewer" not in st.session_state:
        st.session_state["rv_reviewer"] = st.query_params.get("reviewer", "")
    name = st.sidebar.text_input(
        t("Reviewer"),
        key="rv_reviewer",
        placeholder=t("your name"),
        help=t("Every review action is recorded under it."),
    ).strip()
    if name:
        st.query_params["reviewer"] = name
        st.session_state["reviewer"] = name  # the word-list editor records it as the author too
    return name


def filters(task: Task, dataset_ids: list[str], words: list[str], scope: str, source: str | None) -> q.QueueFilter:
    """The queue filters; a drill-down cell (rv_cell) presets assigned and predicted labels."""
    cell = st.session_state.get("rv_cell")
    label_key, predicted_key = f"rv_assigned_{scope}", f"rv_predicted_{scope}"
    if cell is not None and st.session_state.get("rv_cell_applied") != (scope, cell):
        st.session_state[label_key], st.session_state[predicted_key] = [cell[0]], [cell[1]]
        st.session_state["rv_cell_applied"] = (scope, cell)
    labels = shown_as(lambda n: label_text(task, n), task.label_names)
    with st.expander(t("Filters"), expanded=True):
        a, b, c = st.columns(3)
        assigned = a.multiselect(
            t("Assigned label"), task.label_names, format_func=labels, key=label_key,
            placeholder=t("any"),
        )  # fmt: skip
        predicted = b.multiselect(
            t("Predicted label"), task.label_names, format_func=labels, key=predicted_key,
            placeholder=t("any"),
        )  # fmt: skip
        state = c.selectbox(
            t("Review state"),
            q.STATES,
            key=f"rv_state_{scope}",
            format_func=shown_as(lambda s: t(STATE_NAMES.get(s, s)), q.STATES),
        )
        d, e, f = st.columns(3)
        min_suspicion = d.slider(t("Minimum suspicion"), 0.0, 1.0, 0.0, 0.05, key=f"rv_susp_{scope}")
        chosen_words = e.multiselect(t("KADG word"), words, key=f"rv_words_{scope}", placeholder=t("any"))
        flags = f.multiselect(
            t("Flag"),
            list(FLAG_NAMES),
            format_func=shown_as(flag_name, list(FLAG_NAMES)),
            key=f"rv_flags_{scope}",
            placeholder=t("any"),
        )
        g, h = st.columns([2, 1])
        text = g.text_input(t("Text contains"), key=f"rv_text_{scope}")
        issues_only = h.checkbox(
            t("Only cleanlab label issues"), key=f"rv_issues_{scope}",
            help=t("Examples cleanlab's confident learning counts as mislabeled."),
        )  # fmt: skip
    return q.QueueFilter(
        dataset_ids, assigned=assigned, predicted=predicted, min_suspicion=min_suspicion or None,
        issues_only=issues_only, kadg_words=chosen_words, state=state, flags=flags, text=text.strip() or None,
        source=source,
    )  # fmt: skip


def _value_text(task: Task, action: str, value: str | None) -> str:
    """A stored event value in words: a label's title, a flag's name, a score's number."""
    if value is None:
        return t("none")
    if action in ("flag", "unflag"):
        return flag_name(value) or value
    if action == "relabel":
        if value.startswith("score:"):
            return value.removeprefix("score:")
        return label_text(task, value)
    return value


def event_text(task: Task, event: ev.Event, undone: ev.Event | None = None) -> str:
    """What an event did, as a reviewer would say it ("relabeled neutral → entailment")."""
    old, new = _value_text(task, event.action, event.old_value), _value_text(task, event.action, event.new_value)
    if event.action == "undo":
        if undone is None:
            return t("undid event #{id}", id=event.undoes)
        return t("undid #{id} ({what})", id=undone.id, what=event_text(task, undone))
    if event.action == "relabel":
        if event.old_value == event.new_value:
            return t("confirmed {label}", label=new)
        return t("relabeled {old} → {new}", old=old, new=new)
    if event.action == "flag":
        return (
            t("flagged as {flag}", flag=new)
            if event.old_value is None
            else t("flagged as {flag} (was {old})", flag=new, old=old)
        )
    if event.action == "unflag":
        return t("removed the flag {flag}", flag=old)
    if event.action == "note":
        return t("wrote a note") if event.new_value else t("cleared the note")
    return event.action


REASON_NAMES = {"review": N_("review"), "bulk review": N_("bulk action")}


def reason_text(reason: str | None) -> str:
    if not reason or reason.startswith("undo "):  # an undo says what it undid already
        return ""
    if reason.startswith("imported from "):
        return t("imported from {tool}", tool=reason.removeprefix("imported from "))
    return t(REASON_NAMES[reason]) if reason in REASON_NAMES else reason


def history_table(task: Task, events: list[ev.Event]) -> pd.DataFrame:
    """An example's events in words, oldest first (a note's text in its own column: data, never markup)."""
    by_id = {e.id: e for e in events}
    return pd.DataFrame(
        {
            "#": [e.id for e in events],
            t("when"): [e.created_at for e in events],
            t("reviewer"): [e.reviewer for e in events],
            t("what"): [event_text(task, e, by_id.get(e.undoes)) for e in events],
            t("note"): [e.new_value if e.action == "note" else "" for e in events],
            t("why"): [reason_text(e.reason) for e in events],
        }
    )


def undone_text(task: Task, undone: list[ev.Event]) -> str:
    """What an undo took back: "relabeled neutral → entailment on jnli-run #3" (one line per example)."""
    return "; ".join(f"{event_text(task, e)} ({e.dataset_id} #{e.row_idx})" for e in undone[:3]) + (
        t(" and {count:,} more", count=len(undone) - 3) if len(undone) > 3 else ""
    )


MATCH_STYLE = "background-color: rgba(255, 214, 0, 0.35)"


def highlight_matches(table: pd.DataFrame, columns: list[str], term: str | None) -> pd.DataFrame | Styler:
    """The grid with the text cells that contain the search term (any case) marked by a background colour:
    a style, so the texts themselves stay plain (the card marks the very words)."""
    if not term:
        return table
    needle = term.lower()
    return table.style.map(lambda v: MATCH_STYLE if isinstance(v, str) and needle in v.lower() else "", subset=columns)
