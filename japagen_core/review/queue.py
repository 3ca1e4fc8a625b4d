"""The review queue: examples of one task's datasets with their review state and the gold-trained
classifier's opinion, filtered, and ranked by how likely the assigned label is wrong.

``predictions`` come from the newest label-correctness analysis of each dataset (cleanlab's label
quality is stored with them); the suspicion score is ``1 - label quality``. The confusion matrix
(assigned vs predicted label) is computed from the same rows, so a click on a cell filters the queue
to exactly its examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from japagen_core.errors import JapagenError
from japagen_core.project import Project

STATES = ("any", "unreviewed", "reviewed", "flagged", "not flagged", "relabeled")
# An example's label as a name: its label, or the nearest grade of a score (JSTS grades are "0".."5").
_ASSIGNED = "coalesce(e.label, CAST(CAST(round(e.score) AS INTEGER) AS VARCHAR))"
_CURRENT = (
    "coalesce(s.label, CAST(CAST(round(s.score) AS INTEGER) AS VARCHAR), e.label, "
    "CAST(CAST(round(e.score) AS INTEGER) AS VARCHAR))"
)
_PREDICTED = "coalesce(p.predicted, CAST(CAST(round(p.score) AS INTEGER) AS VARCHAR))"


@dataclass(frozen=True)
class QueueFilter:
    datasets: Sequence[str]
    assigned: Sequence[str] = ()  # label names the generator (or gold) gave
    predicted: Sequence[str] = ()  # label names the classifier predicts
    min_suspicion: float | None = None  # 0..1
    issues_only: bool = False  # cleanlab's find_label_issues verdict
    kadg_words: Sequence[str] = ()
    state: str = "any"
    flags: Sequence[str] = ()  # only with these flags
    text: str | None = None  # substring of either text
    order: str = "suspicion"  # or "row"

    def __post_init__(self):  # tuples: a filter is hashable and compares by value
        for name in ("datasets", "assigned", "predicted", "kadg_words", "flags"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def check(self) -> None:
        if not self.datasets:
            raise JapagenError("choose at least one dataset for the review queue")
        if self.state not in STATES:
            raise JapagenError(f"review state {self.state!r} must be one of {list(STATES)}")
        if self.min_suspicion is not None and not 0 <= self.min_suspicion <= 1:
            raise JapagenError(f"minimum suspicion {self.min_suspicion!r} must be between 0 and 1")
        if self.order not in ("suspicion", "row"):
            raise JapagenError(f"order {self.order!r} must be 'suspicion' or 'row'")


@dataclass(frozen=True)
class QueuePage:
    total: int
    offset: int
    rows: pd.DataFrame  # one row per example, in queue order
    analyses: dict[str, str]  # dataset id -> the correctness analysis whose predictions are shown


def latest_predictions(project: Project, dataset_ids: Sequence[str]) -> dict[str, str]:
    """The newest label-correctness analysis id of each dataset that has one."""
    if not dataset_ids:
        return {}
    marks = ", ".join("?" for _ in dataset_ids)
    with project.db.transaction() as con:
        rows = con.execute(
            f"SELECT dataset_id, arg_max(id, created_at) FROM analysis_results "
            f"WHERE kind = 'correctness' AND dataset_id IN ({marks}) GROUP BY dataset_id",
            list(dataset_ids),
        ).fetchall()
    return dict(rows)


def _where(f: QueueFilter) -> tuple[str, list]:
    clauses = [f"e.dataset_id IN ({', '.join('?' for _ in f.datasets)})"]
    params: list = list(f.datasets)
    if f.assigned:
        clauses.append(f"{_ASSIGNED} IN ({', '.join('?' for _ in f.assigned)})")
        params += list(f.assigned)
    if f.predicted:
        clauses.append(f"{_PREDICTED} IN ({', '.join('?' for _ in f.predicted)})")
        params += list(f.predicted)
    if f.min_suspicion is not None:
        clauses.append("1 - p.label_quality >= ?")
        params.append(float(f.min_suspicion))
    if f.issues_only:
        clauses.append("p.is_issue")
    if f.kadg_words:
        clauses.append(f"json_extract_string(e.provenance, '$.kadg_word') IN ({', '.join('?' for _ in f.kadg_words)})")
        params += list(f.kadg_words)
    state_sql = {
        "any": None,
        "unreviewed": "s.events IS NULL",
        "reviewed": "s.events IS NOT NULL",
        "flagged": "s.flag IS NOT NULL",
        "not flagged": "s.flag IS NULL",
        "relabeled": "(s.label IS NOT NULL OR s.score IS NOT NULL)",
    }[f.state]
    if state_sql:
        clauses.append(state_sql)
    if f.flags:
        clauses.append(f"s.flag IN ({', '.join('?' for _ in f.flags)})")
        params += list(f.flags)
    if f.text:
        clauses.append("(contains(lower(e.text), lower(?)) OR contains(lower(coalesce(e.text_b, '')), lower(?)))")
        params += [f.text, f.text]
    return " AND ".join(clauses), params


def _from(analyses: dict[str, str]) -> tuple[str, list]:
    """examples + review state + the chosen analyses' predictions."""
    if analyses:
        marks = ", ".join("?" for _ in analyses)
        predictions = f"(SELECT * FROM example_predictions WHERE analysis_id IN ({marks}))"
        params = list(analyses.values())
    else:  # no analysis yet: the columns exist, all NULL
        predictions = "(SELECT * FROM example_predictions WHERE false)"
        params = []
    return (
        "examples e LEFT JOIN review_state s USING (dataset_id, row_idx) "
        f"LEFT JOIN {predictions} p USING (dataset_id, row_idx)",
        params,
    )


def queue_page(project: Project, f: QueueFilter, *, offset: int = 0, limit: int = 50) -> QueuePage:
    """One page of the queue, and how many examples match in all."""
    f.check()
    analyses = latest_predictions(project, f.datasets)
    source, source_params = _from(analyses)
    where, params = _where(f)
    order = (
        "1 - p.label_quality DESC NULLS LAST, e.dataset_id, e.row_idx"
        if f.order == "suspicion"
        else "e.dataset_id, e.row_idx"
    )
    with project.db.transaction() as con:
        total = con.execute(f"SELECT count(*) FROM {source} WHERE {where}", source_params + params).fetchall()[0][0]
        offset = max(0, min(int(offset), max(0, total - 1)))
        rows = con.execute(
            f"""
            SELECT e.dataset_id, e.row_idx, e.text, e.text_b, {_ASSIGNED} AS assigned, e.score AS assigned_score,
                   {_CURRENT} AS current, s.score AS relabel_score, s.flag, s.note, coalesce(s.events, 0) AS events,
                   {_PREDICTED} AS predicted, p.score AS predicted_score, p.confidence, p.label_quality,
                   1 - p.label_quality AS suspicion, p.is_issue,
                   json_extract_string(e.provenance, '$.kadg_word') AS kadg_word,
                   json_extract_string(e.provenance, '$.setting') AS setting
            FROM {source} WHERE {where}
            ORDER BY {order} LIMIT ? OFFSET ?
            """,
            source_params + params + [int(limit), offset],
        ).df()
    return QueuePage(int(total), offset, rows, analyses)


def queue_keys(project: Project, f: QueueFilter) -> list[tuple[str, int]]:
    """Every (dataset, row) the filter matches: what a bulk action acts on."""
    f.check()
    analyses = latest_predictions(project, f.datasets)
    source, source_params = _from(analyses)
    where, params = _where(f)
    with project.db.transaction() as con:
        rows = con.execute(
            f"SELECT e.dataset_id, e.row_idx FROM {source} WHERE {where} ORDER BY e.dataset_id, e.row_idx",
            source_params + params,
        ).fetchall()
    return [(d, int(r)) for d, r in rows]


def confusion(project: Project, dataset_ids: Sequence[str]) -> pd.DataFrame:
    """Counts per (assigned, predicted) label over the datasets' newest predictions: the drill-down
    matrix. Columns: assigned, predicted, examples."""
    analyses = latest_predictions(project, dataset_ids)
    if not analyses:
        return pd.DataFrame(columns=["assigned", "predicted", "examples"])
    source, source_params = _from(analyses)
    marks = ", ".join("?" for _ in dataset_ids)
    with project.db.transaction() as con:
        return con.execute(
            f"""
            SELECT {_ASSIGNED} AS assigned, {_PREDICTED} AS predicted, count(*) AS examples
            FROM {source} WHERE e.dataset_id IN ({marks}) AND {_PREDICTED} IS NOT NULL
            GROUP BY ALL ORDER BY ALL
            """,
            source_params + list(dataset_ids),
        ).df()


def kadg_words(project: Project, dataset_ids: Sequence[str]) -> list[str]:
    """The KADG words the datasets' examples were generated with."""
    if not dataset_ids:
        return []
    marks = ", ".join("?" for _ in dataset_ids)
    with project.db.transaction() as con:
        rows = con.execute(
            f"SELECT DISTINCT json_extract_string(provenance, '$.kadg_word') AS w FROM examples "
            f"WHERE dataset_id IN ({marks}) AND w IS NOT NULL ORDER BY w",
            list(dataset_ids),
        ).fetchall()
    return [r[0] for r in rows]
