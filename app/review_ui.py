"""Review page pieces: the reviewer name, the queue filters and the example card.

Session keys used here all start with ``rv_``. Data text is shown with st.text (plain text only).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.components import label_text, plain
from app.i18n import N_, shown_as, t, text_names
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


def legend(task: Task) -> None:
    keys = [f"`{i}` {plain(label_text(task, n))}" for i, n in enumerate(task.label_names[:9], start=1)]
    flags = [f"`{k}` {flag_name(f)}" for f, k in FLAG_KEYS.items()]
    st.caption(
        t("Keyboard:")
        + " "
        + t("`{next}` next · `{previous}` previous", next=NEXT_KEY, previous=PREV_KEY)
        + " · "
        + (" · ".join(keys) + " " + t("(relabel)") + " · " if task.target == "class" else "")
        + " · ".join(flags)
        + " · "
        + t("`{unflag}` unflag · `{undo}` undo your last action", unflag=UNFLAG_KEY, undo=UNDO_KEY)
    )


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def example_card(task: Task, row: pd.Series, position: int, total: int) -> None:
    """One example: its texts side by side, labels, the classifier's suggestion and its review state."""
    with st.container(border=True):
        st.caption(
            t("Example {number:,} of {total:,}", number=position + 1, total=total)
            + f" · {plain(row['dataset_id'])} #{int(row['row_idx'])}"
        )
        columns = st.columns(2) if task.is_pair else [st.container()]
        for column, name, field in zip(columns, text_names(task), ("text", "text_b"), strict=False):
            column.caption(plain(name))
            column.text(row[field])
        a, b, c, d = st.columns(4)
        assigned = label_text(task, row["assigned"])
        if task.target == "score" and row["assigned_score"] == row["assigned_score"]:
            assigned = f"{row['assigned_score']:.2f}"
        a.metric(t("Assigned"), assigned or "–")
        current = label_text(task, row["current"])
        if row["relabel_score"] == row["relabel_score"] and row["relabel_score"] is not None:
            current = f"{row['relabel_score']:.2f}"
        relabeled = t("relabeled") if current != assigned else None
        b.metric(t("Now"), current or "–", delta=relabeled, delta_color="off")
        suggestion = label_text(task, row["predicted"]) if row["predicted"] else t("no analysis yet")
        c.metric(t("Classifier suggests"), suggestion, help=t("The gold-trained classifier of the newest analysis."))
        d.metric(
            t("Suspicion"), _fmt(row["suspicion"]),
            help=t("1 − cleanlab's label quality: near 1 means the assigned label is probably wrong."),
        )  # fmt: skip
        details = [t("confidence {value}", value=_fmt(row["confidence"]))]
        if row["is_issue"] is True:
            details.append(t("cleanlab: label issue"))
        if row["kadg_word"]:
            details.append(t("KADG word: {word}", word=plain(row["kadg_word"])))
        if row["setting"]:
            details.append(t("setting: {setting}", setting=plain(row["setting"])))
        details.append(t("flag: {flag}", flag=flag_name(row["flag"]) or t("none")))
        st.caption(" · ".join(details))
        if row["note"]:
            st.caption(t("Note:"))
            st.text(row["note"])


def history_table(events: list[ev.Event]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "#": [e.id for e in events],
            t("when"): [e.created_at for e in events],
            t("reviewer"): [e.reviewer for e in events],
            t("action"): [
                t(ACTION_NAMES.get(e.action, e.action)) if e.undoes is None else t("undo #{id}", id=e.undoes)
                for e in events
            ],
            t("old"): [e.old_value for e in events],
            t("new"): [e.new_value for e in events],
            t("reason"): [e.reason for e in events],
        }
    )
