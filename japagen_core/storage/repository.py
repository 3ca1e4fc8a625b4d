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
    con.execute("DELETE FROM examples WHERE dataset_id = ?", [dataset_id])
    con.execute("DELETE FROM datasets WHERE id = ?", [dataset_id])


def get_dataset(con: duckdb.DuckDBPyConnection, dataset_id: str) -> DatasetInfo:
    rows = con.execute(f"SELECT {', '.join(_DATASET_COLUMNS)} FROM datasets WHERE id = ?", [dataset_id]).fetchall()
    if not rows:
        raise DatasetNotFoundError(f"no dataset with id {dataset_id!r} (list them with: python -m japagen_core datasets)")
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
    """Label counts of every dataset in one scan, keyed by dataset id."""
    rows = con.execute(f"SELECT dataset_id, label, {_GRADE}, count(*) FROM examples GROUP BY ALL").fetchall()
    grouped: dict[str, list[tuple]] = {info.id: [] for info in datasets}
    for dataset_id, *rest in rows:
        grouped.setdefault(dataset_id, []).append(tuple(rest))
    task_of = {info.id: tasks.get(info.task) for info in datasets}
    return {dataset_id: _fold_counts(task_of.get(dataset_id), rest) for dataset_id, rest in grouped.items()}


@dataclass(frozen=True)
class BrowsePage:
    rows: pd.DataFrame
    total: int
    offset: int
    limit: int


def browse(
    con: duckdb.DuckDBPyConnection,
    task: Task,
    dataset_id: str,
    *,
    labels: list[str] | None = None,
    query: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> BrowsePage:
    """One page of a dataset's examples in source order, filtered by label names and a substring.

    The substring matches either text of a pair, case-insensitively for Latin letters.
    """
    where, params = _browse_filter(task, dataset_id, labels, query)
    total = con.execute(f"SELECT count(*) FROM examples WHERE {where}", params).fetchall()[0][0]
    frame = con.execute(
        "SELECT row_idx, text, text_b, label, score, source_id FROM examples "
        f"WHERE {where} ORDER BY row_idx LIMIT ? OFFSET ?",
        [*params, int(limit), int(offset)],
    ).df()
    return BrowsePage(rows=frame, total=int(total), offset=offset, limit=limit)


def _browse_filter(task: Task, dataset_id: str, labels: list[str] | None, query: str | None):
    clauses, params = ["dataset_id = ?"], [dataset_id]
    if labels:
        placeholders = ", ".join("?" for _ in labels)
        if task.target == "score":
            grades = [task.label(name).id for name in labels]
            clauses.append(
                f"(label IN ({placeholders}) OR (label IS NULL AND {_GRADE} IN ({', '.join('?' for _ in grades)})))"
            )
            params += [*labels, *grades]
        else:
            clauses.append(f"label IN ({placeholders})")
            params += list(labels)
    if query:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(text ILIKE ? ESCAPE '\\' OR text_b ILIKE ? ESCAPE '\\')")
        params += [pattern, pattern]
    return " AND ".join(clauses), params
