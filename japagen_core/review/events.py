"""Review events: append-only, and the only way review state changes.

Every action (flag, unflag, relabel, note, undo) appends one event per example, stamped with the
reviewer, the time, the value before and after, and a reason. The current state of an example is the
fold of its events (``fold``); ``review_state`` caches that fold and is rewritten in the same
transaction as the events, so it can never disagree with the log. Two tabs acting on the same example
both append (DuckDB serialises the writers); the later one sees the earlier one's value as "old".
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from japagen_core.errors import JapagenError
from japagen_core.project import Project
from japagen_core.review.queue import update_index
from japagen_core.tasks import Task

FLAGS = ("mislabeled", "bad_text", "duplicate", "off_task")
ACTIONS = ("flag", "unflag", "relabel", "note", "undo")
Key = tuple[str, int]  # (dataset id, row index)


class ReviewError(JapagenError):
    """A review action that cannot be applied (unknown label, nothing to undo, ...)."""


@dataclass(frozen=True)
class Event:
    id: int
    batch_id: str
    dataset_id: str
    row_idx: int
    action: str
    old_value: str | None
    new_value: str | None
    reason: str | None
    reviewer: str
    created_at: datetime
    undoes: int | None = None


@dataclass(frozen=True)
class State:
    """What the events of one example add up to. ``label`` / ``score``: the relabel, if any."""

    label: str | None = None
    score: float | None = None
    flag: str | None = None
    note: str | None = None
    events: int = 0
    last_event: int = 0


def fold(events: Iterable[Event]) -> State:
    """The state of one example from its events, in id order. An undone event counts as never
    made; an undo itself stays in the history."""
    ordered = sorted(events, key=lambda e: e.id)
    undone = {e.undoes for e in ordered if e.action == "undo"}
    label = score = flag = note = None
    for e in ordered:
        if e.action == "undo" or e.id in undone:
            continue
        if e.action == "flag":
            flag = e.new_value
        elif e.action == "unflag":
            flag = None
        elif e.action == "note":
            note = e.new_value or None
        elif e.action == "relabel" and e.old_value != e.new_value:  # equal: a reviewer confirming the label
            label, score = _relabel_value(e.new_value)
    return State(label, score, flag, note, len(ordered), ordered[-1].id if ordered else 0)


def _relabel_value(value: str | None) -> tuple[str | None, float | None]:
    """A relabel stores a label name, or ``score:<float>`` for a score task."""
    if value and value.startswith("score:"):
        return None, float(value.removeprefix("score:"))
    return value, None


def score_value(score: float) -> str:
    return f"score:{score:g}"


# --- writing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One reviewer action over one or more examples (a bulk action is one action over many)."""

    action: str
    value: str | float | None = None  # flag kind, label name, score, or note text
    reason: str | None = None


def check_action(task: Task, action: Action) -> str | None:
    """Validate an action for a task; return the event's new value as stored."""
    if action.action not in ("flag", "unflag", "relabel", "note"):
        raise ReviewError(f"unknown review action {action.action!r}; choose one of flag, unflag, relabel, note")
    if action.action == "flag":
        if action.value not in FLAGS:
            raise ReviewError(f"unknown flag {action.value!r}; choose one of {list(FLAGS)}")
        return str(action.value)
    if action.action == "relabel":
        if task.target == "score" and not isinstance(action.value, str):
            try:
                return score_value(task.check_score(action.value))
            except Exception as exc:
                raise ReviewError(f"score {action.value!r} for {task.name}: {exc}") from None
        if action.value not in task.label_names:
            raise ReviewError(f"{action.value!r} is not a label of {task.name}; labels: {task.label_names}")
        return str(action.value)
    if action.action == "note":
        return str(action.value or "").strip() or None
    return None


def apply(
    project: Project,
    task: Task,
    keys: Sequence[Key],
    action: Action,
    *,
    reviewer: str,
    batch_id: str | None = None,
    confirm: bool = False,
) -> tuple[str, int]:
    """Append one event per example for ``action`` and refresh their state, in one transaction.
    Returns (batch id, events written). Examples the action would not change get no event, except with
    ``confirm``: a relabel to the label an example already has is then recorded as this reviewer's
    judgement (old = new; it changes no state), once per reviewer, so agreement between reviewers
    can be measured. ``batch_id`` makes a resent action idempotent: a batch already in the log is
    not applied again (0 events)."""
    reviewer = _reviewer(reviewer)
    new_value = check_action(task, action)
    keys = list(dict.fromkeys((str(d), int(r)) for d, r in keys))
    if not keys:
        raise ReviewError("no examples selected")
    if batch_id is not None and not (0 < len(batch_id) <= 64):
        raise ReviewError(f"batch id {batch_id!r} must have 1 to 64 characters")
    batch = batch_id or uuid.uuid4().hex[:12]
    with project.db.transaction() as con:
        if batch_id and con.execute("SELECT 1 FROM review_events WHERE batch_id = ? LIMIT 1", [batch]).fetchall():
            return batch, 0  # sent again (a retry): it is in the log already
        _check_examples(con, keys)
        current = _states(con, keys)
        originals = _original_labels(con, keys) if action.action == "relabel" else {}
        given = _given_labels(con, keys, reviewer) if confirm and action.action == "relabel" else {}
        rows = []
        for key in keys:
            state = current.get(key, State())
            old = _old_value(action.action, state, originals.get(key))
            if action.action == "unflag" and state.flag is None:
                continue
            if old == new_value and action.action != "unflag" and (not confirm or given.get(key) == new_value):
                continue
            rows.append((batch, *key, action.action, old, new_value, action.reason))
        written = _append(con, rows, reviewer)
    return batch, written


def _given_labels(con: duckdb.DuckDBPyConnection, keys: list[Key], reviewer: str) -> dict[Key, str | None]:
    """The label each example was last given by this reviewer (relabels not undone)."""
    given: dict[Key, str | None] = {}
    for e in _events(con, keys):
        if e.reviewer == reviewer and e.action == "relabel" and not _is_undone(con, e.id):
            given[(e.dataset_id, e.row_idx)] = e.new_value
    return given


def _is_undone(con: duckdb.DuckDBPyConnection, event_id: int) -> bool:
    found = con.execute("SELECT 1 FROM review_events WHERE action = 'undo' AND undoes = ? LIMIT 1", [event_id])
    return bool(found.fetchall())


def _old_value(action: str, state: State, original: tuple[str | None, float | None] | None) -> str | None:
    if action in ("flag", "unflag"):
        return state.flag
    if action == "note":
        return state.note
    if state.label is not None:
        return state.label
    if state.score is not None:
        return score_value(state.score)
    label, score = original or (None, None)
    if score is not None and not (isinstance(score, float) and math.isnan(score)):
        return score_value(score)
    return label


def undo_last(project: Project, dataset_ids: Sequence[str], *, reviewer: str) -> tuple[str, int] | None:
    """Undo this reviewer's newest action (a whole batch) not yet undone, over these datasets.
    Returns (the undone batch, events undone), or None when there is nothing to undo."""
    reviewer = _reviewer(reviewer)
    with project.db.transaction() as con:
        batch = _last_batch(con, dataset_ids, reviewer)
        return None if batch is None else (batch, _undo_batch(con, batch, reviewer))


def last_action(project: Project, dataset_ids: Sequence[str], *, reviewer: str) -> str | None:
    """The batch id of this reviewer's newest action over these datasets that is not undone."""
    reviewer = _reviewer(reviewer)
    with project.db.transaction() as con:
        return _last_batch(con, dataset_ids, reviewer)


def _last_batch(con: duckdb.DuckDBPyConnection, dataset_ids: Sequence[str], reviewer: str) -> str | None:
    if not dataset_ids:
        return None
    marks = ", ".join("?" for _ in dataset_ids)
    row = con.execute(
        f"""
        SELECT batch_id FROM review_events e
        WHERE reviewer = ? AND action <> 'undo' AND dataset_id IN ({marks})
          AND NOT EXISTS (SELECT 1 FROM review_events u WHERE u.action = 'undo' AND u.undoes = e.id)
        ORDER BY id DESC LIMIT 1
        """,
        [reviewer, *dataset_ids],
    ).fetchall()
    return row[0][0] if row else None


def undo_batch(project: Project, batch_id: str, *, reviewer: str, undo_batch_id: str | None = None) -> list[Event]:
    """Undo one action (a batch) by its id: the events it undid, oldest first ([] when the batch wrote
    nothing or is undone already). ``undo_batch_id`` makes a resent undo idempotent, as in ``apply``."""
    reviewer = _reviewer(reviewer)
    with project.db.transaction() as con:
        if (
            undo_batch_id
            and con.execute("SELECT 1 FROM review_events WHERE batch_id = ? LIMIT 1", [undo_batch_id]).fetchall()
        ):
            return []
        ids = [r[0] for r in con.execute("SELECT id FROM review_events WHERE batch_id = ?", [batch_id]).fetchall()]
        before = _undoable(con, ids)
        _undo(con, ids, reviewer, batch=undo_batch_id)
        return before


def undo_event(project: Project, event_id: int, *, reviewer: str) -> int:
    """Undo one event (from an example's history). Returns the number of events undone (0 or 1)."""
    reviewer = _reviewer(reviewer)
    with project.db.transaction() as con:
        return _undo(con, [int(event_id)], reviewer)


def _undo_batch(con: duckdb.DuckDBPyConnection, batch: str, reviewer: str) -> int:
    ids = [r[0] for r in con.execute("SELECT id FROM review_events WHERE batch_id = ?", [batch]).fetchall()]
    return _undo(con, ids, reviewer)


def _undoable(con: duckdb.DuckDBPyConnection, event_ids: list[int]) -> list[Event]:
    """These events, less undos and those undone already, oldest first."""
    if not event_ids:
        return []
    marks = ", ".join("?" for _ in event_ids)
    rows = con.execute(
        f"""
        SELECT id, batch_id, dataset_id, row_idx, action, old_value, new_value, reason, reviewer, created_at, undoes
        FROM review_events e WHERE id IN ({marks}) AND action <> 'undo'
          AND NOT EXISTS (SELECT 1 FROM review_events u WHERE u.action = 'undo' AND u.undoes = e.id) ORDER BY id
        """,
        event_ids,
    ).fetchall()
    return [Event(*row) for row in rows]


def _undo(con: duckdb.DuckDBPyConnection, event_ids: list[int], reviewer: str, batch: str | None = None) -> int:
    if not event_ids:
        return 0
    marks = ", ".join("?" for _ in event_ids)
    targets = con.execute(
        f"""
        SELECT id, dataset_id, row_idx, action, old_value, new_value FROM review_events e
        WHERE id IN ({marks}) AND action <> 'undo'
          AND NOT EXISTS (SELECT 1 FROM review_events u WHERE u.action = 'undo' AND u.undoes = e.id)
        """,
        event_ids,
    ).fetchall()
    if not targets:
        return 0
    batch = batch or uuid.uuid4().hex[:12]
    rows = [(batch, d, r, "undo", new, old, f"undo {action} #{eid}", eid) for eid, d, r, action, old, new in targets]
    return _append(con, rows, reviewer)


def _append(con: duckdb.DuckDBPyConnection, rows: list[tuple], reviewer: str) -> int:
    """Insert events (batch, dataset, row, action, old, new, reason[, undoes]) and refresh the state
    of the examples they touch from their whole history."""
    if not rows:
        return 0
    now = datetime.now()
    frame = pd.DataFrame(
        [(*row, None) if len(row) == 7 else row for row in rows],
        columns=["batch_id", "dataset_id", "row_idx", "action", "old_value", "new_value", "reason", "undoes"],
    )
    frame["reviewer"] = reviewer
    frame["created_at"] = now
    frame["undoes"] = frame["undoes"].astype("Int64")
    con.register("incoming_events", frame)
    try:
        con.execute("INSERT INTO review_events BY NAME SELECT * FROM incoming_events")
    finally:
        con.unregister("incoming_events")
    keys = list(dict.fromkeys(zip(frame["dataset_id"], frame["row_idx"].astype(int), strict=True)))
    _refresh_state(con, keys)
    return len(frame)


def _refresh_state(con: duckdb.DuckDBPyConnection, keys: list[Key]) -> None:
    events = _events(con, keys)
    by_key: dict[Key, list[Event]] = {}
    for e in events:
        by_key.setdefault((e.dataset_id, e.row_idx), []).append(e)
    states = [(d, r, fold(by_key.get((d, r), []))) for d, r in keys]
    frame = pd.DataFrame(
        {
            "dataset_id": [d for d, _, _ in states],
            "row_idx": [r for _, r, _ in states],
            "label": [s.label for _, _, s in states],
            "score": [s.score for _, _, s in states],
            "flag": [s.flag for _, _, s in states],
            "note": [s.note for _, _, s in states],
            "events": [s.events for _, _, s in states],
            "last_event": [s.last_event for _, _, s in states],
        }
    )
    frame["score"] = frame["score"].astype("float64")
    con.register("incoming_state", frame)
    try:
        con.execute("INSERT OR REPLACE INTO review_state BY NAME SELECT * FROM incoming_state")
        update_index(con, "incoming_state")  # the queue's index sees the action at once
    finally:
        con.unregister("incoming_state")


# --- reading ----------------------------------------------------------------------------------------


def _keys_table(con: duckdb.DuckDBPyConnection, keys: list[Key]) -> None:
    frame = pd.DataFrame({"dataset_id": [d for d, _ in keys], "row_idx": [r for _, r in keys]})
    frame["row_idx"] = frame["row_idx"].astype("int32")
    con.register("wanted_keys", frame)


def _events(con: duckdb.DuckDBPyConnection, keys: list[Key]) -> list[Event]:
    _keys_table(con, keys)
    try:
        rows = con.execute(
            "SELECT e.id, e.batch_id, e.dataset_id, e.row_idx, e.action, e.old_value, e.new_value, e.reason, "
            "e.reviewer, e.created_at, e.undoes FROM review_events e "
            "JOIN wanted_keys k USING (dataset_id, row_idx) ORDER BY e.id"
        ).fetchall()
    finally:
        con.unregister("wanted_keys")
    return [Event(*row) for row in rows]


def _states(con: duckdb.DuckDBPyConnection, keys: list[Key]) -> dict[Key, State]:
    _keys_table(con, keys)
    try:
        rows = con.execute(
            "SELECT s.dataset_id, s.row_idx, s.label, s.score, s.flag, s.note, s.events, s.last_event "
            "FROM review_state s JOIN wanted_keys k USING (dataset_id, row_idx)"
        ).fetchall()
    finally:
        con.unregister("wanted_keys")
    return {(d, r): State(label, score, flag, note, n, last) for d, r, label, score, flag, note, n, last in rows}


def _original_labels(con: duckdb.DuckDBPyConnection, keys: list[Key]) -> dict[Key, tuple[str | None, float | None]]:
    _keys_table(con, keys)
    try:
        rows = con.execute(
            "SELECT e.dataset_id, e.row_idx, e.label, e.score FROM examples e JOIN wanted_keys k "
            "USING (dataset_id, row_idx)"
        ).fetchall()
    finally:
        con.unregister("wanted_keys")
    return {(d, r): (label, score) for d, r, label, score in rows}


def _check_examples(con: duckdb.DuckDBPyConnection, keys: list[Key]) -> None:
    found = _original_labels(con, keys)
    missing = [k for k in keys if k not in found]
    if missing:
        more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
        raise ReviewError(f"no such example(s): {missing[:3]}{more}")


def history(project: Project, dataset_id: str, row_idx: int) -> list[Event]:
    """Every event of one example, oldest first."""
    with project.db.transaction() as con:
        return _events(con, [(dataset_id, int(row_idx))])


def states(project: Project, keys: Sequence[Key]) -> dict[Key, State]:
    with project.db.transaction() as con:
        return _states(con, [(str(d), int(r)) for d, r in keys])


def reviewed(project: Project, keys: Sequence[Key]) -> set[Key]:
    """The examples among ``keys`` with an action that stands (not an undo, not undone): reviewed, where
    an example whose every action was undone is not."""
    keys = [(str(d), int(r)) for d, r in keys]
    if not keys:
        return set()
    with project.db.transaction() as con:
        _keys_table(con, keys)
        try:
            rows = con.execute(
                "SELECT DISTINCT e.dataset_id, e.row_idx FROM review_events e JOIN wanted_keys k "
                "USING (dataset_id, row_idx) WHERE e.action <> 'undo' AND NOT EXISTS "
                "(SELECT 1 FROM review_events u WHERE u.action = 'undo' AND u.undoes = e.id)"
            ).fetchall()
        finally:
            con.unregister("wanted_keys")
    return {(d, int(r)) for d, r in rows}


def all_events(project: Project, dataset_id: str) -> list[Event]:
    with project.db.transaction() as con:
        rows = con.execute(
            "SELECT id, batch_id, dataset_id, row_idx, action, old_value, new_value, reason, reviewer, "
            "created_at, undoes FROM review_events WHERE dataset_id = ? ORDER BY id",
            [dataset_id],
        ).fetchall()
    return [Event(*row) for row in rows]


def _reviewer(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ReviewError("set a reviewer name first (the sidebar on the Review page, or --reviewer)")
    if len(name) > 80:
        raise ReviewError(f"reviewer name is too long ({len(name)} characters; at most 80)")
    return name
