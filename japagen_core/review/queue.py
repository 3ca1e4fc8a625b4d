"""The review queue: examples of one task's datasets with their review state and the gold-trained
classifier's opinion, filtered, and ranked by how likely the assigned label is wrong.

``predictions`` come from the newest label-correctness analysis of each dataset (cleanlab's label
quality is stored with them); the suspicion score is ``1 - label quality``. The confusion matrix
(assigned vs predicted label) is computed from the same rows, so a click on a cell filters the queue
to exactly its examples.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from japagen_core.errors import DatasetNotFoundError, JapagenError
from japagen_core.project import Project

STATES = ("any", "unreviewed", "reviewed", "flagged", "not flagged", "relabeled")
_GRADE = "CAST(CAST(round({}) AS INTEGER) AS VARCHAR)"  # a score's nearest grade, as a label name ("0".."5")


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
    source: str | None = None  # whose predictions: None = each dataset's newest analysis; "model:<id>"

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


def _latest(con: duckdb.DuckDBPyConnection, dataset_ids: Sequence[str]) -> dict[str, str]:
    marks = ", ".join("?" for _ in dataset_ids)
    rows = con.execute(
        f"SELECT dataset_id, arg_max(id, created_at) FROM analysis_results "
        f"WHERE kind = 'correctness' AND dataset_id IN ({marks}) GROUP BY dataset_id",
        list(dataset_ids),
    ).fetchall()
    return dict(rows)


def latest_predictions(project: Project, dataset_ids: Sequence[str]) -> dict[str, str]:
    """The newest label-correctness analysis id of each dataset that has one."""
    if not dataset_ids:
        return {}
    with project.db.transaction() as con:
        return _latest(con, dataset_ids)


def _model_predictions(
    con: duckdb.DuckDBPyConnection, dataset_id: str, model_id: str, labels: list[str]
) -> pd.DataFrame:
    """A fine-tuned model's predictions on a gold split, scored like an analysis' (cleanlab label quality
    of the gold label, confidence of the prediction), in the shape of ``example_predictions``."""
    from japagen_core.review.issues import class_label_issues, score_label_issues

    frame = con.execute(
        "SELECT p.row_idx, p.predicted, p.score, p.probabilities, e.label, e.score AS gold_score "
        "FROM evaluation_predictions p JOIN examples e USING (dataset_id, row_idx) "
        "WHERE p.model_id = ? AND p.dataset_id = ? ORDER BY p.row_idx",
        [model_id, dataset_id],
    ).df()
    out = pd.DataFrame({"row_idx": frame["row_idx"], "predicted": frame["predicted"], "score": frame["score"]})
    out["confidence"], out["label_quality"], out["is_issue"] = None, None, None
    if frame.empty:
        return out
    if frame["probabilities"].notna().all() and frame["label"].notna().all():
        probs = np.array([json.loads(p) for p in frame["probabilities"]], dtype=float)
        quality, issues = class_label_issues(list(frame["label"]), probs, labels=labels)
        out["confidence"], out["label_quality"], out["is_issue"] = probs.max(axis=1), quality, issues
    elif frame["score"].notna().all() and frame["gold_score"].notna().all():
        out["label_quality"] = score_label_issues(frame["gold_score"], frame["score"])
    return out


def _predictions(con: duckdb.DuckDBPyConnection, dataset_id: str, source: str | None, labels) -> pd.DataFrame:
    if source and source.startswith("model:"):
        predictions = _model_predictions(con, dataset_id, source.removeprefix("model:"), labels or [])
    else:
        predictions = con.execute(
            "SELECT row_idx, predicted, score, confidence, label_quality, is_issue FROM example_predictions "
            "WHERE analysis_id = ? AND dataset_id = ?",
            [source, dataset_id],
        ).df()
    predictions["row_idx"] = predictions["row_idx"].astype("int32")
    for column in ("score", "confidence", "label_quality"):
        predictions[column] = predictions[column].astype("float64")
    predictions["is_issue"] = predictions["is_issue"].astype("boolean")
    return predictions


# The queue index rows of a dataset's examples ({rows}: all of them, or a chunk joined in by rank).
_INDEX_ROWS_SQL = f"""
    INSERT INTO review_index
    SELECT e.dataset_id, e.row_idx, e.text, e.text_b,
           coalesce(e.label, {_GRADE.format("e.score")}) AS assigned, e.score AS assigned_score,
           coalesce(s.label, {_GRADE.format("s.score")}, e.label, {_GRADE.format("e.score")}) AS current,
           s.score AS relabel_score,
           json_extract_string(e.provenance, '$.kadg_word') AS kadg_word,
           json_extract_string(e.provenance, '$.setting') AS setting,
           coalesce(p.predicted, {_GRADE.format("p.score")}) AS predicted, p.score AS predicted_score,
           p.confidence, 1 - p.label_quality AS suspicion, p.is_issue, s.flag, s.note,
           coalesce(s.events, 0) AS events, (s.label IS NOT NULL OR s.score IS NOT NULL) AS relabeled
    FROM {{rows}}
    LEFT JOIN review_state s USING (dataset_id, row_idx)
    LEFT JOIN source_predictions p USING (row_idx)
    WHERE e.dataset_id = ? ORDER BY {{order}}
"""
INDEX_CHUNK_ROWS = 32_768  # rows of the queue index written per transaction (texts included)


def refresh_index(
    con: duckdb.DuckDBPyConnection, dataset_id: str, source: str | None, labels: list[str] | None = None
) -> None:
    """(Re)build one dataset's rows of the queue index from its examples, review state and the
    predictions of ``source`` (an analysis id, or ``model:<id>``), most suspicious first, in this one
    transaction (read-only mode's temporary index; the store's own is rebuilt in chunks)."""
    con.execute("DELETE FROM review_index WHERE dataset_id = ?", [dataset_id])
    con.register("source_predictions", _predictions(con, dataset_id, source, labels))
    con.execute(_INDEX_ROWS_SQL.format(rows="examples e", order="suspicion DESC NULLS LAST, e.row_idx"), [dataset_id])
    rows = con.execute("SELECT count(*) FROM review_index WHERE dataset_id = ?", [dataset_id]).fetchall()[0][0]
    con.execute(
        "INSERT OR REPLACE INTO review_index_state VALUES (?, ?, ?, current_timestamp)", [dataset_id, source, rows]
    )


def _refresh_in_chunks(db, dataset_id: str, source: str | None, labels) -> None:
    """``refresh_index`` in short transactions: the order first (narrow columns), then the rows, a chunk of
    ranks per transaction, then the state row that makes the index current. Review events landing in
    between update the rows already written; later chunks read the review state as it is then."""
    with db.transaction() as con:
        con.execute("DELETE FROM review_index_state WHERE dataset_id = ?", [dataset_id])  # stale from here on
        predictions = _predictions(con, dataset_id, source, labels)
        con.register("source_predictions", predictions)
        order = con.execute(
            "SELECT e.row_idx FROM examples e LEFT JOIN source_predictions p USING (row_idx) WHERE e.dataset_id = ? "
            "ORDER BY 1 - p.label_quality DESC NULLS LAST, e.row_idx",
            [dataset_id],
        ).fetchnumpy()["row_idx"]
        bounds = con.execute(
            "SELECT coalesce(min(row_idx), 0), coalesce(max(row_idx), -1) FROM review_index WHERE dataset_id = ?",
            [dataset_id],
        ).fetchall()[0]
    for start in range(bounds[0], bounds[1] + 1, INDEX_CHUNK_ROWS * 4):  # deleting is cheaper than writing
        with db.transaction() as con:
            con.execute(
                "DELETE FROM review_index WHERE dataset_id = ? AND row_idx >= ? AND row_idx < ?",
                [dataset_id, start, start + INDEX_CHUNK_ROWS * 4],
            )
    for start in range(0, len(order), INDEX_CHUNK_ROWS):
        ranks = pa.table(
            {
                "row_idx": order[start : start + INDEX_CHUNK_ROWS],
                "rank": np.arange(start, min(len(order), start + INDEX_CHUNK_ROWS)),
            }
        )
        with db.transaction() as con:
            con.register("source_predictions", predictions)
            con.register("chunk_ranks", ranks)
            con.execute(
                _INDEX_ROWS_SQL.format(
                    rows="(SELECT e.*, c.rank FROM chunk_ranks c JOIN examples e USING (row_idx)) e", order="e.rank"
                ),
                [dataset_id],
            )
    with db.transaction() as con:
        con.execute(
            "INSERT OR REPLACE INTO review_index_state VALUES (?, ?, ?, current_timestamp)",
            [dataset_id, source, len(order)],
        )


def _stale(con: duckdb.DuckDBPyConnection, dataset_ids: Sequence[str], analyses: dict[str, str]) -> list[str]:
    """The datasets whose queue index is missing, or built from other predictions or another size."""
    marks = ", ".join("?" for _ in dataset_ids)
    built = {
        d: (a, n)
        for d, a, n in con.execute(
            f"SELECT dataset_id, analysis_id, rows FROM review_index_state WHERE dataset_id IN ({marks})",
            list(dataset_ids),
        ).fetchall()
    }
    sizes = dict(con.execute(f"SELECT id, rows FROM datasets WHERE id IN ({marks})", list(dataset_ids)).fetchall())
    return [d for d in dict.fromkeys(dataset_ids) if built.get(d) != (analyses.get(d), sizes.get(d))]


def _prepare_index(project: Project, dataset_ids: Sequence[str], source: str | None, labels) -> None:
    """Bring the stored queue index of these datasets up to date, in short transactions, before the
    queue reads it. One process rebuilds a dataset at a time (an flock per dataset); the others wait for
    it, then find the index current."""
    if project.read_only or not dataset_ids:
        return  # read-only mode rebuilds into temporary tables instead (_ensure_index)
    with project.db.transaction() as con:
        analyses = {d: source for d in dataset_ids} if source else _latest(con, dataset_ids)
        stale = _stale(con, dataset_ids, analyses)
    for dataset_id in stale:
        with _index_lock(project.db.path, dataset_id):
            with project.db.transaction() as con:
                analyses = {dataset_id: source} if source else _latest(con, [dataset_id])
                if not _stale(con, [dataset_id], analyses):
                    continue  # another process just built it
            _refresh_in_chunks(project.db, dataset_id, analyses.get(dataset_id), labels)


@contextmanager
def _index_lock(db_path, dataset_id: str) -> Iterator[None]:
    name = hashlib.sha256(dataset_id.encode()).hexdigest()[:24]
    path = Path(db_path).parent / ".review-index" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits while another process rebuilds this dataset's index
        yield
    finally:
        os.close(fd)


def update_index(con: duckdb.DuckDBPyConnection, state_table: str) -> None:
    """Copy refreshed review state (a registered table like review_state) into the queue index."""
    con.execute(
        f"""
        UPDATE review_index AS r
        SET current = coalesce(i.label, {_GRADE.format("i.score")}, r.assigned), relabel_score = i.score,
            flag = i.flag, note = i.note, events = i.events, relabeled = (i.label IS NOT NULL OR i.score IS NOT NULL)
        FROM {state_table} AS i
        WHERE r.dataset_id = i.dataset_id AND r.row_idx = i.row_idx
        """
    )


def _ensure_index(
    con: duckdb.DuckDBPyConnection, dataset_ids: Sequence[str], source: str | None = None, labels=None
) -> dict[str, str]:
    """Build the index of datasets not indexed yet, or indexed with other predictions. Returns the
    source (analysis id or ``model:<id>``) whose predictions each dataset's rows carry."""
    analyses = {d: source for d in dataset_ids} if source else _latest(con, dataset_ids)
    if _is_read_only(con):  # the stored index is rebuilt by _prepare_index, before this transaction
        _shadow_index(con, dataset_ids, ", ".join("?" for _ in dataset_ids))
        for dataset_id in _stale(con, dataset_ids, analyses):
            refresh_index(con, dataset_id, analyses.get(dataset_id), labels)
    return analyses


def _is_read_only(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute("SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return bool(rows and rows[0][0])


def _shadow_index(con: duckdb.DuckDBPyConnection, dataset_ids: Sequence[str], marks: str) -> None:
    """Read-only mode (the demo) cannot write the index. Temporary tables of the same names, which DuckDB
    allows on a read-only file and resolves before the stored ones, take the datasets' stored rows; a
    missing or stale index is then rebuilt into them, for this transaction only."""
    shadowed = "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = 'review_index'"
    if con.execute(shadowed).fetchall()[0][0]:
        return
    # Read the stored state first: once the temporary table exists, the name means it.
    built = con.execute(f"SELECT * FROM review_index_state WHERE dataset_id IN ({marks})", list(dataset_ids)).fetchall()
    con.execute(
        f"CREATE TEMP TABLE review_index AS SELECT * FROM review_index WHERE dataset_id IN ({marks})",
        list(dataset_ids),
    )
    # Declared, not copied: refresh_index's INSERT OR REPLACE needs the primary key.
    con.execute(
        "CREATE TEMP TABLE review_index_state (dataset_id VARCHAR PRIMARY KEY, analysis_id VARCHAR, "
        "rows INTEGER NOT NULL, built_at TIMESTAMP NOT NULL)"
    )
    if built:
        con.executemany("INSERT INTO temp.review_index_state VALUES (?, ?, ?, ?)", built)


def _where(f: QueueFilter) -> tuple[str, list]:
    def marks(values) -> str:
        return ", ".join("?" for _ in values)

    clauses = [f"r.dataset_id IN ({marks(f.datasets)})"]
    params: list = list(f.datasets)
    for column, values in (("assigned", f.assigned), ("predicted", f.predicted), ("kadg_word", f.kadg_words),
                           ("flag", f.flags)):  # fmt: skip
        if values:
            clauses.append(f"r.{column} IN ({marks(values)})")
            params += list(values)
    if f.min_suspicion is not None:
        clauses.append("r.suspicion >= ?")
        params.append(float(f.min_suspicion))
    if f.issues_only:
        clauses.append("r.is_issue")
    state_sql = {
        "any": None,
        "unreviewed": "r.events = 0",
        "reviewed": "r.events > 0",
        "flagged": "r.flag IS NOT NULL",
        "not flagged": "r.flag IS NULL",
        "relabeled": "r.relabeled",
    }[f.state]
    if state_sql:
        clauses.append(state_sql)
    if f.text:  # the rows found by _text_matches, one registered table per dataset
        # A plain IN on row_idx per dataset is a hash semi-join; EXISTS over (dataset_id, row_idx) was
        # planned as a mark join and cost ~1.4 s at 300k matches of 1M rows (measured).
        per_dataset = [
            f"(r.dataset_id = ? AND r.row_idx IN (SELECT row_idx FROM {_MATCHES}_{i}))"
            for i in range(len(_distinct(f.datasets)))
        ]
        clauses.append("(" + " OR ".join(per_dataset) + ")")
        params += _distinct(f.datasets)
    return " AND ".join(clauses), params


_MATCHES = "queue_text_matches"


def _distinct(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _text_matches(project: Project, f: QueueFilter) -> list[pa.Table] | None:
    """Per dataset of ``f`` (in order, once each), the row ids (``row_idx``) of the examples whose text or
    text_b contains ``f.text``, ignoring case as Browse does, from each dataset's in-memory index
    (storage.textindex; built outside any transaction on first use, then cached per dataset version).
    The queue index holds copies of the same texts."""
    if not f.text:
        return None
    found = []
    for dataset_id in _distinct(f.datasets):
        try:
            rows = project.text_index(dataset_id).search(f.text)
        except DatasetNotFoundError:
            rows = np.zeros(0, np.int64)
        found.append(pa.table({"row_idx": pa.array(rows.astype(np.int32))}))
    return found


@contextmanager
def _filtered(project: Project, f: QueueFilter, source: str | None, labels) -> Iterator[tuple]:
    """A transaction with the queue index up to date and the text matches registered: yields
    (connection, analyses, where clause, params)."""
    matches = _text_matches(project, f)
    _prepare_index(project, f.datasets, source, labels)
    with project.db.transaction() as con:
        analyses = _ensure_index(con, f.datasets, source, labels)
        for i, rows in enumerate(matches or []):
            con.register(f"{_MATCHES}_{i}", rows)  # gone when the connection closes
        where, params = _where(f)
        yield con, analyses, where, params


_PAGE_COLUMNS = [
    "dataset_id", "row_idx", "text", "text_b", "assigned", "assigned_score", "current", "relabel_score", "flag",
    "note", "events", "predicted", "predicted_score", "confidence", "label_quality", "suspicion", "is_issue",
    "kadg_word", "setting",
]  # fmt: skip


def _labels(project: Project, dataset_ids: Sequence[str]) -> list[str] | None:
    """The task's label order (a model's probabilities use it), from the first dataset's task."""
    with project.db.transaction() as con:
        rows = con.execute("SELECT task FROM datasets WHERE id = ?", [dataset_ids[0]]).fetchall()
    task = project.registry.get(rows[0][0]) if rows else None
    return task.label_names if task else None


def queue_page(project: Project, f: QueueFilter, *, offset: int = 0, limit: int = 50) -> QueuePage:
    """One page of the queue, and how many examples match in all (one short transaction)."""
    f.check()
    labels = _labels(project, f.datasets) if f.source else None
    order = (
        "r.suspicion DESC NULLS LAST, r.dataset_id, r.row_idx" if f.order == "suspicion" else "r.dataset_id, r.row_idx"
    )
    with _filtered(project, f, f.source, labels) as (con, analyses, where, params):
        total = con.execute(f"SELECT count(*) FROM review_index r WHERE {where}", params).fetchall()[0][0]
        offset = max(0, min(int(offset), max(0, total - 1)))
        # Rank on the narrow columns, then read the page's texts by row id (late materialisation).
        ids = [
            r[0]
            for r in con.execute(
                f"SELECT r.rowid FROM review_index r WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
                [*params, int(limit), offset],
            ).fetchall()
        ]
        marks = ", ".join("?" for _ in ids) or "NULL"
        rows = con.execute(
            f"SELECT rowid AS _rowid, *, 1 - suspicion AS label_quality FROM review_index WHERE rowid IN ({marks})",
            ids,
        ).df()
        rows = rows.set_index("_rowid").reindex(ids).reset_index(drop=True)  # back in queue order
        rows = rows.reindex(columns=_PAGE_COLUMNS)
    return QueuePage(int(total), offset, rows, analyses)


def queue_keys(project: Project, f: QueueFilter) -> list[tuple[str, int]]:
    """Every (dataset, row) the filter matches: what a bulk action acts on."""
    f.check()
    labels = _labels(project, f.datasets) if f.source else None
    with _filtered(project, f, f.source, labels) as (con, _, where, params):
        rows = con.execute(
            f"SELECT r.dataset_id, r.row_idx FROM review_index r WHERE {where} ORDER BY r.dataset_id, r.row_idx",
            params,
        ).fetchall()
    return [(d, int(r)) for d, r in rows]


def confusion(project: Project, dataset_ids: Sequence[str], source: str | None = None) -> pd.DataFrame:
    """Counts per (assigned, predicted) label over the datasets' newest predictions: the drill-down
    matrix. Columns: assigned, predicted, examples."""
    if not dataset_ids:
        return pd.DataFrame(columns=["assigned", "predicted", "examples"])
    marks = ", ".join("?" for _ in dataset_ids)
    labels = _labels(project, dataset_ids) if source else None
    _prepare_index(project, dataset_ids, source, labels)
    with project.db.transaction() as con:
        _ensure_index(con, dataset_ids, source, labels)
        return con.execute(
            f"SELECT assigned, predicted, count(*) AS examples FROM review_index "
            f"WHERE dataset_id IN ({marks}) AND predicted IS NOT NULL GROUP BY ALL ORDER BY ALL",
            list(dataset_ids),
        ).df()


def model_sources(project: Project, dataset_ids: Sequence[str]) -> dict[str, str]:
    """Fine-tuned models evaluated on every one of these datasets: ``model:<id>`` -> a description."""
    if not dataset_ids:
        return {}
    marks = ", ".join("?" for _ in dataset_ids)
    with project.db.transaction() as con:
        rows = con.execute(
            f"SELECT m.id, m.method, m.setting, m.seed, m.base_model FROM models m "
            f"JOIN evaluation_predictions p ON p.model_id = m.id AND p.dataset_id IN ({marks}) "
            f"GROUP BY ALL HAVING count(DISTINCT p.dataset_id) = ? ORDER BY m.id",
            [*dataset_ids, len(set(dataset_ids))],
        ).fetchall()
    return {f"model:{i}": f"{method} {setting} · seed {seed} · {base} · {i}" for i, method, setting, seed, base in rows}


def kadg_words(project: Project, dataset_ids: Sequence[str]) -> list[str]:
    """The KADG words the datasets' examples were generated with."""
    if not dataset_ids:
        return []
    marks = ", ".join("?" for _ in dataset_ids)
    _prepare_index(project, dataset_ids, None, None)
    with project.db.transaction() as con:
        _ensure_index(con, dataset_ids)
        rows = con.execute(
            f"SELECT DISTINCT kadg_word FROM review_index WHERE dataset_id IN ({marks}) AND kadg_word IS NOT NULL "
            "ORDER BY kadg_word",
            list(dataset_ids),
        ).fetchall()
    return [r[0] for r in rows]


def queue_order(project: Project, f: QueueFilter) -> list[tuple[str, int]]:
    """Every (dataset, row) the filter matches, in queue order: the frozen order a review session walks
    (examples reviewed on the way stay where they were, so going back finds them)."""
    f.check()
    labels = _labels(project, f.datasets) if f.source else None
    order = (
        "r.suspicion DESC NULLS LAST, r.dataset_id, r.row_idx" if f.order == "suspicion" else "r.dataset_id, r.row_idx"
    )
    with _filtered(project, f, f.source, labels) as (con, _, where, params):
        rows = con.execute(f"SELECT r.dataset_id, r.row_idx FROM review_index r WHERE {where} ORDER BY {order}", params)
        frame = rows.df()
    return list(zip(frame["dataset_id"].tolist(), frame["row_idx"].astype(int).tolist(), strict=True))


def queue_rows(project: Project, f: QueueFilter, keys: Sequence[tuple[str, int]]) -> pd.DataFrame:
    """The queue rows (columns as ``queue_page``'s) of these examples, in the order given; an example no
    longer in the index is left out."""
    labels = _labels(project, f.datasets) if f.source else None
    wanted = pd.DataFrame({"dataset_id": [str(d) for d, _ in keys], "row_idx": [int(r) for _, r in keys]})
    wanted["row_idx"], wanted["_at"] = wanted["row_idx"].astype("int32"), range(len(wanted))
    _prepare_index(project, f.datasets, f.source, labels)
    with project.db.transaction() as con:
        _ensure_index(con, f.datasets, f.source, labels)
        con.register("wanted_queue_keys", wanted)
        rows = con.execute(
            "SELECT r.*, 1 - r.suspicion AS label_quality FROM review_index r "
            "JOIN wanted_queue_keys k USING (dataset_id, row_idx) ORDER BY k._at"
        ).df()
    return rows.reindex(columns=_PAGE_COLUMNS)
