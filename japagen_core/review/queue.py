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
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from japagen_core.errors import DatasetNotFoundError, JapagenError, StoreError
from japagen_core.project import Project
from japagen_core.storage import repository as repo
from japagen_core.storage import textindex

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


def _prepare_index(
    project: Project, dataset_ids: Sequence[str], source: str | None, labels
) -> tuple[dict[str, str] | None, dict[str, repo.DatasetInfo]]:
    """Bring the stored queue index of these datasets up to date, in short transactions, before the
    queue reads it. One process rebuilds a dataset at a time (an flock per dataset); the others wait for
    it, then find the index current. Returns the source of predictions each dataset's index rows carry
    (None in read-only mode, where ``_ensure_index`` decides in the reading transaction) and the
    datasets' descriptions (a missing dataset left out), read in the same first transaction."""
    if not dataset_ids:
        return None, {}
    with project.db.transaction() as con:
        infos = {}
        for dataset_id in _distinct(dataset_ids):
            with suppress(DatasetNotFoundError):
                infos[dataset_id] = repo.get_dataset(con, dataset_id)
        if project.read_only:
            return None, infos  # read-only mode rebuilds into temporary tables instead (_ensure_index)
        analyses = {d: source for d in dataset_ids} if source else _latest(con, dataset_ids)
        stale = _stale(con, dataset_ids, analyses)
    for dataset_id in stale:
        with _index_lock(project.db.path, dataset_id):
            with project.db.transaction() as con:
                now = {dataset_id: source} if source else _latest(con, [dataset_id])
                analyses.pop(dataset_id, None)
                analyses.update(now)
                if not _stale(con, [dataset_id], now):
                    continue  # another process just built it
            _refresh_in_chunks(project.db, dataset_id, now.get(dataset_id), labels)
    return analyses, infos


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


def _text_indexes(project: Project, f: QueueFilter, infos: dict[str, repo.DatasetInfo]) -> dict | None:
    """Per dataset of ``f`` (in order, once each), its in-memory text index (storage.textindex: built
    outside any transaction on first use, then cached per dataset version), None for a dataset that
    ``_prepare_index`` did not find; None without a text."""
    if not f.text:
        return None
    indexes = {}
    for dataset_id in _distinct(f.datasets):
        info = infos.get(dataset_id)
        if info is None:
            indexes[dataset_id] = None
            continue
        target = project.registry[info.task].target
        indexes[dataset_id] = textindex.index_for(project.text_indexes, project.db, info, target)
    return indexes


@dataclass
class _TextMatches:
    rows: dict[str, np.ndarray]  # dataset -> row ids matching the whole filter, text included, ascending
    candidates: int  # examples matching the filter but its text

    @property
    def total(self) -> int:
        return sum(len(r) for r in self.rows.values())


def _match_text(con: duckdb.DuckDBPyConnection, f: QueueFilter, indexes: dict) -> _TextMatches:
    """The rows matching the whole filter, per dataset. The rows the other conditions leave are read
    from the queue index (narrow: ~7 ms for 1M rows; skipped when there are no other conditions), and
    the in-memory index verifies the text among those only. The queue index holds copies of the same
    texts, so this is the scan's answer."""
    other = replace(f, text=None)
    narrowed = other != QueueFilter(other.datasets, order=other.order, source=other.source)
    where, params = _where(other)
    rows, candidates = {}, 0
    for dataset_id, index in indexes.items():
        if index is None:
            rows[dataset_id] = np.zeros(0, np.int64)
            continue
        within = None
        if narrowed:
            within = con.execute(
                f"SELECT r.row_idx FROM review_index r WHERE {where} AND r.dataset_id = ?", [*params, dataset_id]
            ).fetchnumpy()["row_idx"]
        candidates += len(index) if within is None else len(within)
        rows[dataset_id] = index.search(f.text, within=within)
    return _TextMatches(rows, candidates)


@contextmanager
def _filtered(project: Project, f: QueueFilter, source: str | None, labels) -> Iterator[tuple]:
    """A transaction with the queue index up to date and the text matches registered: yields
    (connection, analyses, where clause, params, ``_TextMatches`` or None without a text). A dataset's
    text index is built (seconds at 1M rows) before the transaction; the search itself (tens of ms at
    most) runs inside it, so it sees the same queue rows as the page.

    Another process may begin rebuilding a dataset's index between ``_prepare_index`` and this
    transaction (a new analysis landed): its rows are then partly written, and a count taken from the
    text index would not match them. The transaction checks that every index it reads is still
    current, and prepares again when one is not."""
    for _attempt in range(_PREPARE_ATTEMPTS):
        analyses, infos = _prepare_index(project, f.datasets, source, labels)
        indexes = _text_indexes(project, f, infos)
        with project.db.transaction() as con:
            if analyses is None:
                analyses = _ensure_index(con, f.datasets, source, labels)
            elif infos and _stale(con, list(infos), analyses):
                continue  # being rebuilt since it was prepared: wait for that rebuild (its lock), then read
            matches = _match_text(con, f, indexes) if indexes is not None else None
            for i, dataset_id in enumerate(indexes or {}):  # gone when the connection closes
                rows = pa.array(matches.rows[dataset_id].astype(np.int32))
                con.register(f"{_MATCHES}_{i}", pa.table({"row_idx": rows}))
            where, params = _where(f)
            yield con, analyses, where, params, matches
            return
    raise StoreError(
        f"the review queue of {', '.join(_distinct(f.datasets))} kept being rebuilt by another process while "
        "this page was read; try again"
    )


_PREPARE_ATTEMPTS = 3


# The most queue rows read in order (without the text condition) to find a page of text matches; past
# it (under ~1% of the rows match), DuckDB's semi-join against the matches answers. A top-N of 1k rows
# cost ~2.5 ms, of 5k ~6.5 ms, of 23k ~20 ms; the semi-join with 3k matches ~12 ms (1M rows, measured).
PROBE_LIMIT = 8_192


def _page_ids(
    con: duckdb.DuckDBPyConnection, f: QueueFilter, where: str, params: list, order: str,
    matches: _TextMatches | None, offset: int, limit: int,
) -> list[int]:  # fmt: skip
    """The review_index rowids of one page, in queue order.

    With many text matches, DuckDB's semi-join builds a hash table of every indexed row (~75 ms at 300k
    matches of 1M rows, measured). Instead the queue is read without the text condition, in order (a
    top-N: cheap), a few rows more than the matches' density says a page needs, keeping the matching
    ones; short of a page, twice as many, until the whole queue was read or ``PROBE_LIMIT``, past which
    (few matches: a small hash table) the semi-join answers."""
    if matches is not None and matches.total:
        need = offset + limit
        want = int(need * matches.candidates / matches.total * 1.5) + 64
        other, other_params = _where(replace(f, text=None))
        datasets = list(matches.rows)
        masks = [np.zeros(0, bool) for _ in datasets]
        for i, dataset_id in enumerate(datasets):
            hits = matches.rows[dataset_id]
            if len(hits):
                masks[i] = np.zeros(int(hits.max()) + 1, bool)
                masks[i][hits] = True
        which = "CASE r.dataset_id " + " ".join("WHEN ? THEN " + str(i) for i in range(len(datasets))) + " END"
        while want <= PROBE_LIMIT:
            got = con.execute(
                f"SELECT r.rowid AS id, {which} AS d, r.row_idx FROM review_index r WHERE {other} "
                f"ORDER BY {order} LIMIT ?",
                [*datasets, *other_params, want],
            ).fetchnumpy()
            ids, d, rows = (np.asarray(got[c], dtype=np.int64) for c in ("id", "d", "row_idx"))
            keep = np.zeros(len(ids), bool)
            for i, mask in enumerate(masks):
                here = (d == i) & (rows < len(mask))
                keep[here] = mask[rows[here]]
            found = ids[keep]
            if len(found) >= need or len(ids) < want:  # a page, or the whole queue was read
                return [int(x) for x in found[offset:need]]
            want *= 2
    return [
        r[0]
        for r in con.execute(
            f"SELECT r.rowid FROM review_index r WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, int(limit), offset],
        ).fetchall()
    ]


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


_FLOAT_COLUMNS = ("assigned_score", "relabel_score", "predicted_score", "confidence", "label_quality", "suspicion")


def _page_rows(project: Project, con: duckdb.DuckDBPyConnection, ids: list[int]) -> pd.DataFrame:
    """The queue rows of these review_index rowids, in that order, with ``_PAGE_COLUMNS``.

    Texts come from the datasets' in-memory search indexes where this process holds a current one (the
    same texts as the index's copies: examples never change in place): reading 50 texts spread over 1M
    rows from the store decompresses a whole vector of each, ~35 ms (measured); from memory, ~0.1 ms."""
    marks = ", ".join("?" for _ in ids) or "NULL"
    result = con.execute(
        f"SELECT rowid AS _rowid, * EXCLUDE (text, text_b), 1 - suspicion AS label_quality FROM review_index "
        f"WHERE rowid IN ({marks})",
        ids,
    )
    names = [d[0] for d in result.description]
    by_id = {row[0]: row for row in result.fetchall()}  # (a plain fetch: pandas' .df() cost 4 ms more here)
    found_rows = [by_id[i] for i in ids if i in by_id]  # in queue order
    columns = {name: [row[k] for row in found_rows] for k, name in enumerate(names)}
    text, text_b, rest = [None] * len(found_rows), [None] * len(found_rows), []
    datasets, row_idx = np.array(columns["dataset_id"], dtype=object), np.array(columns["row_idx"], dtype=np.int64)
    for dataset_id in dict.fromkeys(columns["dataset_id"]):
        here = np.flatnonzero(datasets == dataset_id)
        index = textindex.cached(project.text_indexes, project.db, con, dataset_id)
        found = index.texts(row_idx[here]) if index is not None else None
        if found is None:
            rest.extend(here.tolist())
            continue
        for at, a, b in zip(here.tolist(), *found, strict=True):
            text[at], text_b[at] = a, b
    if rest:
        wanted = [columns["_rowid"][at] for at in rest]
        marks = ", ".join("?" for _ in wanted)
        stored = {
            r: (a, b)
            for r, a, b in con.execute(
                f"SELECT rowid, text, text_b FROM review_index WHERE rowid IN ({marks})", wanted
            ).fetchall()
        }
        for at, rowid in zip(rest, wanted, strict=True):
            text[at], text_b[at] = stored[rowid]
    columns["text"], columns["text_b"] = text, text_b
    frame = pd.DataFrame({name: columns[name] for name in _PAGE_COLUMNS})
    for name in _FLOAT_COLUMNS:  # missing values as NaN, as DuckDB's own frames have them
        frame[name] = frame[name].astype("float64")
    return frame


def queue_page(project: Project, f: QueueFilter, *, offset: int = 0, limit: int = 50) -> QueuePage:
    """One page of the queue, and how many examples match in all (one short transaction)."""
    f.check()
    labels = _labels(project, f.datasets) if f.source else None
    order = (
        "r.suspicion DESC NULLS LAST, r.dataset_id, r.row_idx" if f.order == "suspicion" else "r.dataset_id, r.row_idx"
    )
    with _filtered(project, f, f.source, labels) as (con, analyses, where, params, matches):
        if matches is not None:
            total = matches.total
        else:
            total = con.execute(f"SELECT count(*) FROM review_index r WHERE {where}", params).fetchall()[0][0]
        offset = max(0, min(int(offset), max(0, total - 1)))
        # Rank on the narrow columns, then read the page's rows by row id (late materialisation).
        ids = _page_ids(con, f, where, params, order, matches, offset, int(limit))
        rows = _page_rows(project, con, ids)
    return QueuePage(int(total), offset, rows, analyses)


def queue_keys(project: Project, f: QueueFilter) -> list[tuple[str, int]]:
    """Every (dataset, row) the filter matches: what a bulk action acts on."""
    f.check()
    labels = _labels(project, f.datasets) if f.source else None
    with _filtered(project, f, f.source, labels) as (con, _, where, params, _matches):
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
    with _filtered(project, f, f.source, labels) as (con, _, where, params, _matches):
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
