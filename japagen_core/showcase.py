"""Example cards (the paper's Table 3): a few synthetic examples per task and label with where they came
from (generation setting, KADG word, model), for people who do not read datasets.

A reviewer pins examples to the showcase; the cards show the pinned ones first, then fill up with a
seeded random draw, so the same store and seed always give the same cards. Labels are the reviewed ones:
a review relabel overrides the label the generator gave. A task without synthetic data (the demo
project) shows its demo examples instead, marked as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from japagen_core.errors import DatasetNotFoundError, JapagenError
from japagen_core.project import Project
from japagen_core.tasks import Task


class ShowcaseError(JapagenError):
    """A pin that cannot be made (no such example, no reviewer name)."""


@dataclass(frozen=True)
class Pin:
    dataset_id: str
    row_idx: int
    pinned_by: str
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class ExampleCard:
    task: str
    label: str  # after review: a relabel overrides the generator's label (score tasks: the nearest grade)
    assigned: str  # the label the example was generated (or annotated) with
    text: str
    text_b: str | None
    score: float | None  # score tasks: the (reviewed) score
    dataset_id: str
    dataset_name: str
    row_idx: int
    kind: str  # synthetic, or gold for demo examples shown when a task has no synthetic data
    is_demo: bool
    setting: str | None  # zero-shot, few-shot, kadg
    kadg_word: str | None
    model: str | None
    pinned: bool
    pinned_by: str | None = None
    note: str | None = None

    @property
    def relabeled(self) -> bool:
        return self.label != self.assigned


# --- pins ----------------------------------------------------------------------------------------


def pin(project: Project, dataset_id: str, row_idx: int, *, pinned_by: str, note: str | None = None) -> Pin:
    """Pin an example to the showcase (pinning it again replaces the note and the reviewer)."""
    if not pinned_by.strip():
        raise ShowcaseError("a pin needs the reviewer's name")
    with project.db.transaction() as con:
        _check_example(con, dataset_id, int(row_idx))
        con.execute(
            "INSERT OR REPLACE INTO showcase VALUES (?, ?, ?, ?, ?)",
            [dataset_id, int(row_idx), pinned_by.strip(), (note or "").strip() or None, datetime.now()],
        )
    return next(p for p in list_pins(project, dataset_id=dataset_id) if p.row_idx == int(row_idx))


def unpin(project: Project, dataset_id: str, row_idx: int) -> bool:
    """Take an example off the showcase; False when it was not pinned."""
    with project.db.transaction() as con:
        removed = con.execute(
            "DELETE FROM showcase WHERE dataset_id = ? AND row_idx = ? RETURNING row_idx", [dataset_id, int(row_idx)]
        ).fetchall()
    return bool(removed)


def list_pins(project: Project, *, task: str | None = None, dataset_id: str | None = None) -> list[Pin]:
    """Pins, oldest first, of one task and/or one dataset (None: all)."""
    with project.db.transaction() as con:
        rows = con.execute(
            "SELECT p.dataset_id, p.row_idx, p.pinned_by, p.note, p.created_at FROM showcase p "
            "JOIN datasets d ON d.id = p.dataset_id "
            "WHERE (? IS NULL OR d.task = ?) AND (? IS NULL OR p.dataset_id = ?) "
            "ORDER BY p.created_at, p.dataset_id, p.row_idx",
            [task, task, dataset_id, dataset_id],
        ).fetchall()
    return [Pin(d, int(r), by, note, at) for d, r, by, note, at in rows]


def _check_example(con: duckdb.DuckDBPyConnection, dataset_id: str, row_idx: int) -> None:
    if not con.execute("SELECT count(*) FROM datasets WHERE id = ?", [dataset_id]).fetchall()[0][0]:
        raise DatasetNotFoundError(f"no dataset with id {dataset_id!r} to pin an example of")
    if not con.execute(
        "SELECT count(*) FROM examples WHERE dataset_id = ? AND row_idx = ?", [dataset_id, row_idx]
    ).fetchall()[0][0]:
        raise ShowcaseError(f"dataset {dataset_id!r} has no row {row_idx}")


# --- cards ---------------------------------------------------------------------------------------

# An example's reviewed label key: its label name, or 'grade:<n>' for a score (mapped to the grade's
# label name in Python, where the task is known). ``{s}`` is the review state's alias, ``{e}`` the example's.
_LABEL_KEY = (
    "coalesce({s}.label, 'grade:' || CAST(round({s}.score) AS INTEGER), {e}.label, "
    "'grade:' || CAST(round({e}.score) AS INTEGER))"
)
# The cards' columns for the examples in ``wanted`` (a subquery of dataset_id, row_idx, draw_rank).
_CARD_ROWS = f"""
SELECT e.dataset_id, e.row_idx, e.text, e.text_b, d.name AS dataset_name, d.kind, d.is_demo,
       coalesce(e.label, 'grade:' || CAST(round(e.score) AS INTEGER)) AS assigned_key,
       {_LABEL_KEY.format(s="s", e="e")} AS label_key,
       CASE WHEN s.label IS NOT NULL THEN NULL ELSE coalesce(s.score, e.score) END AS score,
       json_extract_string(e.provenance, '$.setting') AS setting,
       json_extract_string(e.provenance, '$.kadg_word') AS kadg_word,
       json_extract_string(e.provenance, '$.model') AS model,
       p.pinned_by, p.note, p.created_at AS pinned_at
FROM ({{wanted}}) w JOIN examples e USING (dataset_id, row_idx) JOIN datasets d ON d.id = e.dataset_id
LEFT JOIN review_state s USING (dataset_id, row_idx)
LEFT JOIN showcase p USING (dataset_id, row_idx)
ORDER BY label_key, w.draw_rank
"""
_PINNED = (
    "SELECT p.dataset_id, p.row_idx, row_number() OVER (ORDER BY p.created_at, p.row_idx) AS draw_rank "
    "FROM showcase p JOIN datasets d ON d.id = p.dataset_id WHERE d.task = ?"
)
# The draw ranks on narrow columns only; the texts and provenance of the few drawn rows are read after.
_DRAWN = f"""
SELECT dataset_id, row_idx, draw_rank FROM (
    SELECT e.dataset_id, e.row_idx, row_number() OVER (
        PARTITION BY {_LABEL_KEY.format(s="s", e="e")}
        ORDER BY md5(? || ':' || e.dataset_id || ':' || CAST(e.row_idx AS VARCHAR)), e.dataset_id, e.row_idx
    ) AS draw_rank
    FROM examples e JOIN datasets d ON d.id = e.dataset_id
    LEFT JOIN review_state s USING (dataset_id, row_idx)
    LEFT JOIN showcase p USING (dataset_id, row_idx)
    WHERE d.task = ? AND {{source}} AND s.flag IS NULL AND e.duplicate_of IS NULL AND p.pinned_by IS NULL
) WHERE draw_rank <= ?
"""
_COLUMNS = ["dataset_id", "row_idx", "text", "text_b", "dataset_name", "kind", "is_demo", "assigned_key",
            "label_key", "score", "setting", "kadg_word", "model", "pinned_by", "note", "pinned_at"]  # fmt: skip


def example_cards(project: Project, task: Task | str, *, per_label: int = 3, seed: int = 0) -> list[ExampleCard]:
    """Up to ``per_label`` cards per label of ``task``, in the task's label order: pinned examples first
    (in the order they were pinned), then a seeded random draw of synthetic examples that are neither
    flagged nor exact duplicates (not from demo datasets once the task has real synthetic data). A task with
    no synthetic example draws from its demo datasets (cards say DEMO)."""
    if per_label < 1:
        raise ShowcaseError(f"per_label {per_label!r} must be at least 1")
    task = project.registry[task] if isinstance(task, str) else task
    with project.db.transaction() as con:
        pinned = con.execute(_CARD_ROWS.format(wanted=_PINNED), [task.name]).fetchall()
        drawn = _draw(con, task.name, per_label, seed)
    cards: dict[str, list[ExampleCard]] = {name: [] for name in task.label_names}
    seen = set()
    for values in [*pinned, *drawn]:
        row = dict(zip(_COLUMNS, values, strict=True))
        if row["label_key"] is None:  # an unlabeled text (annotation input) has no label to show it under
            continue
        card = _card(task, row)
        if (card.dataset_id, card.row_idx) in seen or len(cards.setdefault(card.label, [])) >= per_label:
            continue
        seen.add((card.dataset_id, card.row_idx))
        cards[card.label].append(card)
    return [card for group in cards.values() for card in group]


def _draw(con: duckdb.DuckDBPyConnection, task: str, per_label: int, seed: int) -> list[tuple]:
    """A seeded draw: the first ``per_label`` rows per label key when ordered by an md5 of the seed and
    the example's key (md5, unlike DuckDB's hash, is the same in every version, so cards stay put)."""
    has_synthetic, has_real_synthetic, has_real = con.execute(
        "SELECT count(*) FILTER (WHERE task = ? AND kind = 'synthetic' AND rows > 0), "
        "count(*) FILTER (WHERE task = ? AND kind = 'synthetic' AND rows > 0 AND NOT is_demo), "
        "count(*) FILTER (WHERE NOT is_demo) FROM datasets",
        [task, task],
    ).fetchall()[0]
    # Once real data exists, demo rows are never drawn where real synthetic rows can be (pinned cards stay).
    if has_real_synthetic and has_real:
        source = "d.kind = 'synthetic' AND NOT d.is_demo"
    else:
        source = "d.kind = 'synthetic'" if has_synthetic else "d.is_demo"
    wanted = _DRAWN.format(source=source)
    return con.execute(_CARD_ROWS.format(wanted=wanted), [str(seed), task, per_label]).fetchall()


def _label_name(task: Task, key: str) -> str:
    return task.grade_for_score(int(key.removeprefix("grade:"))) if key.startswith("grade:") else key


def _card(task: Task, row: dict) -> ExampleCard:
    return ExampleCard(
        task=task.name, label=_label_name(task, row["label_key"]), assigned=_label_name(task, row["assigned_key"]),
        text=row["text"], text_b=row["text_b"], score=row["score"], dataset_id=row["dataset_id"],
        dataset_name=row["dataset_name"], row_idx=int(row["row_idx"]), kind=row["kind"], is_demo=bool(row["is_demo"]),
        setting=row["setting"], kadg_word=row["kadg_word"], model=row["model"], pinned=row["pinned_by"] is not None,
        pinned_by=row["pinned_by"], note=row["note"],
    )  # fmt: skip
