"""Queries over datasets and examples. Every function takes an open connection; all SQL is
parameterized (placeholders only; no user text is ever formatted into SQL)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from japagen_core.errors import DatasetNotFoundError
from japagen_core.storage.migrations import LABEL_KEY_SQL
from japagen_core.storage.textindex import TextIndex
from japagen_core.tasks import Task

EXAMPLE_COLUMNS = [
    "dataset_id",
    "row_idx",
    "text",
    "text_b",
    "label",
    "score",
    "split",
    "source",
    "source_id",
    "provenance",
    "duplicate_of",
]
_DATASET_COLUMNS = [
    "id",
    "task",
    "split",
    "kind",
    "name",
    "source",
    "source_format",
    "content_sha256",
    "is_demo",
    "rows",
    "created_at",
    "meta",
]


@dataclass(frozen=True)
class DatasetInfo:
    id: str
    task: str
    split: str
    kind: str
    name: str
    source: str
    source_format: str
    content_sha256: str
    is_demo: bool
    rows: int
    created_at: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def as_row(self) -> list[Any]:
        return [
            self.id,
            self.task,
            self.split,
            self.kind,
            self.name,
            self.source,
            self.source_format,
            self.content_sha256,
            self.is_demo,
            self.rows,
            self.created_at or datetime.now(),
            json.dumps(self.meta, ensure_ascii=False),
        ]


def _info_from_row(row: tuple) -> DatasetInfo:
    values = dict(zip(_DATASET_COLUMNS, row, strict=True))
    values["meta"] = json.loads(values["meta"]) if values["meta"] else {}
    return DatasetInfo(**values)


def dataset_exists(con: duckdb.DuckDBPyConnection, dataset_id: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM datasets WHERE id = ?", [dataset_id]).fetchall()[0][0])


def insert_dataset(con: duckdb.DuckDBPyConnection, info: DatasetInfo, examples: pd.DataFrame) -> bool:
    """Insert a dataset and its examples; return False (and change nothing) if its id exists."""
    if dataset_exists(con, info.id):
        return False
    placeholders = ", ".join("?" for _ in _DATASET_COLUMNS)
    con.execute(f"INSERT INTO datasets ({', '.join(_DATASET_COLUMNS)}) VALUES ({placeholders})", info.as_row())
    frame = examples.reindex(columns=EXAMPLE_COLUMNS)
    frame["dataset_id"] = info.id
    con.register("incoming_examples", frame)
    try:
        con.execute(
            f"INSERT INTO examples ({', '.join(EXAMPLE_COLUMNS)}) "
            f"SELECT {', '.join(EXAMPLE_COLUMNS)} FROM incoming_examples"
        )
    finally:
        con.unregister("incoming_examples")
    return True


def delete_dataset(con: duckdb.DuckDBPyConnection, dataset_id: str) -> None:
    get_dataset(con, dataset_id)
    # Its review, analyses and predictions go with it; snapshots (files already written) stay, as models
    # refer to them. Analyses of other datasets that used it as their gold reference stay: they are theirs.
    con.execute("DELETE FROM review_state WHERE dataset_id = ?", [dataset_id])
    con.execute("DELETE FROM review_index WHERE dataset_id = ?", [dataset_id])
    con.execute("DELETE FROM review_index_state WHERE dataset_id = ?", [dataset_id])
    con.execute("DELETE FROM review_events WHERE dataset_id = ?", [dataset_id])
    con.execute("DELETE FROM example_predictions WHERE dataset_id = ?", [dataset_id])
    con.execute("DELETE FROM analysis_results WHERE dataset_id = ?", [dataset_id])
    con.execute("DELETE FROM showcase WHERE dataset_id = ?", [dataset_id])  # its pinned example cards
    con.execute("DELETE FROM examples WHERE dataset_id = ?", [dataset_id])
    con.execute("DELETE FROM datasets WHERE id = ?", [dataset_id])


def get_dataset(con: duckdb.DuckDBPyConnection, dataset_id: str) -> DatasetInfo:
    rows = con.execute(f"SELECT {', '.join(_DATASET_COLUMNS)} FROM datasets WHERE id = ?", [dataset_id]).fetchall()
    if not rows:
        raise DatasetNotFoundError(
            f"no dataset with id {dataset_id!r} (list them with: python -m japagen_core datasets)"
        )
    return _info_from_row(rows[0])


def list_datasets(con: duckdb.DuckDBPyConnection) -> list[DatasetInfo]:
    rows = con.execute(
        f"SELECT {', '.join(_DATASET_COLUMNS)} FROM datasets ORDER BY is_demo, task, kind, split, created_at"
    ).fetchall()
    return [_info_from_row(row) for row in rows]


# A score (JSTS) counts under its nearest grade; SQL's round() rounds half away from zero, like
# Task.grade_for_score for the non-negative scores tasks use.
_GRADE = "CAST(round(score) AS INTEGER)"


def _fold_counts(task: Task | None, rows: list[tuple]) -> dict[str, int]:
    """(label, grade, n) rows -> counts per label name, in the task's label order."""
    counts: dict[str, int] = {}
    for label, grade, n in rows:
        if label is None and grade is not None and task is not None:
            label = task.grade_for_score(grade)
        key = label if label is not None else "(none)"
        counts[key] = counts.get(key, 0) + n
    order = {name: i for i, name in enumerate(task.label_names)} if task else {}
    return dict(sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def label_counts(con: duckdb.DuckDBPyConnection, task: Task, dataset_id: str) -> dict[str, int]:
    """Rows per label name, in the task's label order (score tasks: per nearest grade)."""
    rows = con.execute(
        f"SELECT label, {_GRADE}, count(*) FROM examples WHERE dataset_id = ? GROUP BY ALL", [dataset_id]
    ).fetchall()
    return _fold_counts(task, rows)


def all_label_counts(
    con: duckdb.DuckDBPyConnection, tasks: Mapping[str, Task], datasets: list[DatasetInfo]
) -> dict[str, dict[str, int]]:
    """Label counts of these datasets in one scan, keyed by dataset id."""
    marks = ", ".join("?" for _ in datasets) or "NULL"
    rows = con.execute(
        f"SELECT dataset_id, label, {_GRADE}, count(*) FROM examples WHERE dataset_id IN ({marks}) GROUP BY ALL",
        [info.id for info in datasets],
    ).fetchall()
    grouped: dict[str, list[tuple]] = {info.id: [] for info in datasets}
    for dataset_id, *rest in rows:
        grouped.setdefault(dataset_id, []).append(tuple(rest))
    task_of = {info.id: tasks.get(info.task) for info in datasets}
    return {dataset_id: _fold_counts(task_of.get(dataset_id), rest) for dataset_id, rest in grouped.items()}


@dataclass(frozen=True)
class BrowsePage:
    rows: pd.DataFrame
    total: int  # rows matching the filters
    offset: int  # where this page starts among them
    limit: int


_PAGE_COLUMNS = "row_idx, text, text_b, label, score, source_id, provenance, duplicate_of"


def browse(
    con: duckdb.DuckDBPyConnection,
    task: Task,
    dataset_id: str,
    *,
    labels: list[str] | None = None,
    query: str | None = None,
    offset: int = 0,
    limit: int = 50,
    index: TextIndex | None = None,
) -> BrowsePage:
    """One page of a dataset's examples in source order, filtered by label names and a substring.

    The substring matches either text of a pair, ignoring case. With ``index`` (the dataset's
    in-memory ``textindex.TextIndex``) the matching rows come from it and only the page is read from
    the store; without one, DuckDB scans the texts (the same answer, slower: the reference the index is
    tested against). An offset past the last match moves to the last page (the returned ``offset``
    says where the page starts).
    """
    keys = _label_keys(task, labels)
    label_filter = _in("label" if task.target == "class" else LABEL_KEY_SQL, keys)
    needle = (query or "").lower()
    if needle and index is not None:
        ids = index.search(query, label_keys=keys)
        offset = _clamp(offset, len(ids), limit)
        return BrowsePage(_rows(con, dataset_id, ids[offset : offset + limit].tolist()), len(ids), offset, limit)
    if needle:
        match = "(contains(lower(text), ?) OR contains(lower(coalesce(text_b, '')), ?))"
        if needle == needle.upper():  # no cased letters (Japanese): a plain substring test is exact and faster
            match = "(contains(text, ?) OR contains(text_b, ?))"
        ids = con.execute(
            f"SELECT row_idx FROM examples WHERE dataset_id = ?{label_filter} AND {match} ORDER BY row_idx",
            [dataset_id, *keys, needle, needle],
        ).fetchall()
        offset = _clamp(offset, len(ids), limit)
        page = [r[0] for r in ids[offset : offset + limit]]
        return BrowsePage(_rows(con, dataset_id, page), len(ids), offset, limit)
    where = "dataset_id = ?" + label_filter
    total = con.execute(f"SELECT count(*) FROM examples WHERE {where}", [dataset_id, *keys]).fetchall()[0][0]
    offset = _clamp(offset, total, limit)
    frame = con.execute(
        f"SELECT {_PAGE_COLUMNS} FROM examples WHERE {where} ORDER BY row_idx LIMIT ? OFFSET ?",
        [dataset_id, *keys, limit, offset],
    ).df()
    return BrowsePage(frame, total, offset, limit)


def _in(column: str, values: list[Any]) -> str:
    return f" AND {column} IN ({', '.join('?' for _ in values)})" if values else ""


def _clamp(offset: int, total: int, limit: int) -> int:
    """An offset past the end moves to the start of the last page."""
    if limit > 0 and offset >= total:
        return max(0, (total - 1) // limit * limit)
    return offset


def _label_keys(task: Task, labels: list[str] | None) -> list[str]:
    """Label keys (migrations.LABEL_KEY_SQL) of label names; a score task's grade also matches the
    gold scores nearest to it."""
    keys = []
    for name in labels or []:
        keys.append(name)
        if task.target == "score":
            keys.append(f"grade:{task.label(name).id}")
    return keys


def _rows(con: duckdb.DuckDBPyConnection, dataset_id: str, ids: list[int]) -> pd.DataFrame:
    """The examples with these row ids, in order; the range bound lets zone maps skip row groups."""
    lo, hi = (min(ids), max(ids)) if ids else (0, -1)
    return con.execute(
        f"SELECT {_PAGE_COLUMNS} FROM examples WHERE dataset_id = ? AND row_idx BETWEEN ? AND ? "
        "AND row_idx IN (SELECT unnest(?)) ORDER BY row_idx",
        [dataset_id, lo, hi, ids],
    ).df()
