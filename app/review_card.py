"""The one-at-a-time review card: a custom component (``st.components.v2``) that handles the keys in the
browser and saves the actions in the background.

Why a component, not fragments: a key bound to a Streamlit button (``shortcut=``) is a server round trip
and a rerun before anything changes on screen: 1.05-1.38 s per key by a previous tester; p50 1.48 s,
p95 1.77 s here (the old page, keydown to the caption showing the next example, 12 keys, 2 shared cores
under load). A fragment that reruns only the card (not measured) would still wait for a server round trip
and a rerun on every key, so it cannot get near 150 ms on a loaded machine. The component is sent a window of
the queue (the current example and the next ~100, texts as JSON, shown as text nodes only: never HTML),
moves, relabels, flags and undoes on the client (the next example is on screen in a few milliseconds),
and sends its actions with sequence numbers in batches (``setStateValue("sync", ...)``: one sync in
flight; keys pressed meanwhile go in the next). Each sync reruns only this fragment, which applies the
new actions in order through the review events (``japagen_core.review.client_events``; idempotent by
``<client>-<seq>`` batch ids), then sends back what it acknowledged and a window around the position.
Measured by tests/test_review_keys_browser.py (20 keys at ~16 a second, keydown to the card's DOM):
p50 2-10 ms, p95 7-15 ms on the same loaded machine.

Session keys (all ``rv_``): ``rv_card`` (the component), ``rv_order`` (the frozen queue order: examples
reviewed on the way keep their place, so K finds them again), ``rv_acked`` (client -> last action
applied), ``rv_sync_seen`` (the last sync read), ``rv_pos`` (the position, from the card), ``rv_epoch``
(bumped when the server moves the card).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app.components import label_text
from app.i18n import t, text_names
from app.review_ui import FLAG_KEYS, UNDO_KEY, UNFLAG_KEY, flag_name, history_table
from japagen_core.errors import JapagenError
from japagen_core.project import Project
from japagen_core.review import client_events as ce
from japagen_core.review import events as ev
from japagen_core.review import queue as q
from japagen_core.tasks import Task

HERE = Path(__file__).parent
BEFORE, AFTER = 30, 100  # the window sent: examples before and after the position
KEY = "rv_card"
_card = st.components.v2.component(
    "japagen.review_card",
    js=(HERE / "review_card.js").read_text(encoding="utf-8"),
    css=(HERE / "review_card.css").read_text(encoding="utf-8"),
)


def set_order(order_id: str, keys: list[tuple[str, int]], *, pos: int = 0) -> None:
    """Start a review session over these examples (in this order) at ``pos``: the card moves there."""
    st.session_state["rv_order"] = (order_id, keys)
    move_to(pos)


def move_to(pos: int) -> None:
    st.session_state["rv_pos"] = pos
    st.session_state["rv_epoch"] = st.session_state.get("rv_epoch", 0) + 1


def order() -> tuple[str, list[tuple[str, int]]] | None:
    return st.session_state.get("rv_order")


def grades(task: Task) -> list[int]:
    """The whole scores of a score task's range that a digit key sets (0-5 for JSTS); none past ten."""
    if task.target != "score":
        return []
    low, high = task.score_range or (0.0, 5.0)
    values = list(range(math.ceil(low), math.floor(high) + 1))
    return values if values and values[0] >= 0 and values[-1] <= 9 else []


def _strings(task: Task) -> dict[str, str]:
    keys = [f"{i} {label_text(task, n)}" for i, n in enumerate(task.label_names[:9], start=1)]
    scores = grades(task)
    score_keys = f" · {scores[0]}–{scores[-1]} " + t("(score)") if scores else ""
    legend = (
        t("Keyboard:")
        + " J "
        + t("next")
        + " · K "
        + t("previous")
        + (" · " + " · ".join(keys) + " " + t("(relabel)") if task.target == "class" else score_keys)
        + " · "
        + " · ".join(f"{k} {flag_name(f)}" for f, k in FLAG_KEYS.items())
        + f" · {UNFLAG_KEY} "
        + t("unflag")
        + f" · {UNDO_KEY} "
        + t("undo")
    )
    # Templates are formatted in the browser: {number}, {total}, {done}, {count}, {label}, {flag}, {what}.
    return {
        "example_of": t("Example {number:,} of {total:,}"),
        "reviewed_of": t("{done:,} of {total:,} reviewed"),
        "saving": t("saving {count:,}…"),
        "saved": t("all saved"),
        "loading": t("Loading…"),
        "assigned": t("Assigned"),
        "now": t("Now"),
        "relabeled": t("relabeled"),
        "suggests": t("Classifier suggests"),
        "no_analysis": t("no analysis yet"),
        "suspicion": t("Suspicion"),
        "flag": t("Flag"),
        "none": t("none"),
        "confidence": t("confidence {value}"),
        "issue": t("cleanlab: label issue"),
        "kadg": t("KADG word: {word}"),
        "setting": t("setting: {setting}"),
        "note": t("Note:"),
        "previous": t("Previous"),
        "next": t("Next"),
        "undo": t("Undo"),
        "unflag": t("Unflag"),
        "did_relabel": t("relabeled as {label}"),
        "did_flag": t("flagged as {flag}"),
        "did_unflag": t("unflagged"),
        "did_score": t("scored {score}"),
        "done_on": t("Example {number}: {what}."),
        "undid_on": t("Undid on example {number}: {what}."),
        "nothing_to_undo": t("Nothing to undo in this session (older actions: “Undo my last action” below)."),
        "legend": legend,
    }


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _item(task: Task, row: pd.Series) -> dict[str, Any]:
    assigned, now = _text(row["assigned"]), _text(row["current"])
    assigned_title = label_text(task, assigned)
    if task.target == "score" and _num(row["assigned_score"]) is not None:
        assigned_title = f"{row['assigned_score']:.2f}"
    now_title = label_text(task, now)
    if _num(row["relabel_score"]) is not None:
        now_title = f"{row['relabel_score']:.2f}"
    predicted = _text(row["predicted"])
    return {
        "key": f"{row['dataset_id']}\u241f{int(row['row_idx'])}",
        "ds": str(row["dataset_id"]),
        "row": int(row["row_idx"]),
        "text": _text(row["text"]) or "",
        "text_b": _text(row["text_b"]) or "",
        "assigned": assigned,
        "assigned_title": assigned_title,
        "now": now,
        "now_title": now_title,
        "suggested_title": label_text(task, predicted) if predicted else None,
        "suspicion": _num(row["suspicion"]),
        "confidence": _num(row["confidence"]),
        "issue": bool(row["is_issue"]) if row["is_issue"] is not None and not pd.isna(row["is_issue"]) else False,
        "flag": _text(row["flag"]),
        "note": _text(row["note"]),
        "kadg": _text(row["kadg_word"]),
        "setting": _text(row["setting"]),
    }


def _apply_sync(project: Project, task: Task, reviewer: str, can_act: bool) -> tuple[str | None, int, int, str]:
    """Apply what the card sent; return (client, acked, sync number answered, message)."""
    state = st.session_state.get(KEY)
    sync = state.get("sync") if state is not None else None
    if not isinstance(sync, dict):
        return None, 0, 0, ""
    acked_by_client: dict[str, int] = st.session_state.setdefault("rv_acked", {})
    try:
        client, events = ce.parse(sync.get("client"), sync.get("events") or [])
    except JapagenError as exc:
        return None, 0, 0, str(exc)
    after = acked_by_client.get(client, 0)
    message = ""
    if events and events[-1].seq > after:
        if not can_act:
            message = t("Nothing was saved: set your name as Reviewer in the sidebar (read-only: nothing is saved).")
            acked_by_client[client] = events[-1].seq
        else:
            done = ce.apply_events(project, task, client, events, after=after, reviewer=reviewer)
            acked_by_client[client] = done.acked
            if done.errors:
                message = t("Not saved:") + " " + "; ".join(done.errors)
    pos, n = sync.get("pos"), sync.get("n")
    if st.session_state.get("rv_sync_seen") != (client, n):  # a sync stays in the state: adopt its position once
        st.session_state["rv_sync_seen"] = (client, n)
        if isinstance(pos, int) and pos >= 0:
            st.session_state["rv_pos"] = pos
    return client, acked_by_client.get(client, 0), n if isinstance(n, int) else 0, message


def card_view(project: Project, qfilter: q.QueueFilter, task: Task, reviewer: str, can_act: bool) -> None:
    """The card over the session's frozen order (``rv_order``), then the current example's history.
    Runs as a fragment: a sync from the card reruns only this."""
    client, acked, answered, message = _apply_sync(project, task, reviewer, can_act)
    order_id, keys = order() or ("", [])
    total = len(keys)
    if not total:
        st.warning(t("No examples match these filters."))
        return
    pos = max(0, min(total - 1, int(st.session_state.get("rv_pos", 0))))
    start = max(0, pos - BEFORE)
    window = keys[start : pos + AFTER]
    rows = q.queue_rows(project, qfilter, window)
    found = {(d, int(r)): i for i, (d, r) in enumerate(zip(rows["dataset_id"], rows["row_idx"], strict=True))}
    items = [_item(task, rows.iloc[found[k]]) for k in window if k in found]
    if len(items) < len(window):  # an example removed since the session started: start over from the store
        st.session_state.pop("rv_order", None)
        st.rerun(scope="app")
    done = ev.reviewed(project, keys)
    for item in items:
        item["reviewed"] = (item["ds"], item["row"]) in done
    epoch = hashlib.sha256(f"{order_id}|{st.session_state.get('rv_epoch', 0)}".encode()).hexdigest()[:16]
    data = {
        "epoch": epoch,
        "client": client,
        "acked": acked,
        "answered": answered,
        "pos": pos,
        "total": total,
        "reviewed": len(done),
        "start": start,
        "items": items,
        "target": task.target,
        "is_pair": task.is_pair,
        "text_names": text_names(task)[: 2 if task.is_pair else 1],
        "labels": [
            {"name": n, "title": label_text(task, n), "key": str(i)}
            for i, n in enumerate(task.label_names[:9], start=1)
        ],
        "grades": [{"key": str(g), "value": float(g)} for g in grades(task)],
        "flags": [{"name": f, "title": flag_name(f), "key": k} for f, k in FLAG_KEYS.items()],
        "unflag_key": UNFLAG_KEY,
        "can_act": can_act,
        "search": qfilter.text,
        "message": message,
        "strings": _strings(task),
    }
    _card(key=KEY, data=data, on_sync_change=lambda: None, height="content")
    if message:
        st.error(message)
    key = keys[pos]
    with st.expander(t("History of example {number:,} ({id})", number=pos + 1, id=f"{key[0]} #{key[1]}")):
        events = ev.history(project, *key)
        if events:
            st.dataframe(history_table(task, events), hide_index=True)
        else:
            st.caption(t("No review action yet."))
