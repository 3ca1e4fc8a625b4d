"""Writing whole datasets without holding the store's lock for long: staged imports.

DuckDB locks the file for the whole of a transaction, and other processes give up after their lock
timeout, so a million rows may not go in as one transaction (~20 s). Instead:

1. a short transaction records the dataset in ``import_staging`` (no ``datasets`` row yet: every reader
   starts from ``datasets``, so the rows that follow are invisible to all of them);
2. its examples go in as Arrow batches, each its own transaction, sized from the last one's time so that
   one takes about ``CHUNK_SECONDS`` whatever the text length;
3. one short transaction adds the ``datasets`` rows and removes the staging records: the import appears
   all at once, or (failed, killed) not at all.

While it writes, the importing process holds an exclusive ``flock`` on a file named after the dataset
(the kernel drops it when the process dies, however it dies). A staging record whose lock nobody holds
is what a killed import left behind: the next import of that dataset, or the next opening of the store
(``clean_abandoned``), deletes its rows (in chunks too), so a re-import starts from nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from japagen_core.errors import StoreError
from japagen_core.storage import repository as repo
from japagen_core.storage.db import MAX_RETRY_DELAY, ROW_GROUP_SIZE, want_mtime, want_path

log = logging.getLogger(__name__)

CHUNK_SECONDS = 0.4  # aim per insert transaction, from open to closed (DuckDB checkpoints on close)
MAX_CHUNK_ROWS = 250_000
# Pause between chunks when another process asked for the store meanwhile: longer than a waiting
# reader's retry interval. (Readers that find the file locked write the request file, storage.db.)
YIELD_SECONDS = 2 * MAX_RETRY_DELAY
MAX_CHUNK_BYTES = 8 << 20  # of text per chunk, whatever the time says: long texts cost more to compress
DELETE_CHUNK_ROWS = 200_000


def _lock_file(db, dataset_id: str) -> Path:
    name = hashlib.sha256(dataset_id.encode()).hexdigest()[:24]
    return db.path.parent / ".imports" / f"{name}.lock"


@contextmanager
def _exclusive(path: Path) -> Iterator[bool]:
    """Try to take the flock on ``path`` without waiting; yield whether it was taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # also releases the lock


def write_datasets(
    db,
    items: Sequence[tuple[repo.DatasetInfo, pd.DataFrame | pa.Table]],
    *,
    finish: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> list[bool]:
    """Insert datasets (info and examples) in short transactions and make the new ones visible together;
    return, per item, whether it was created (False: that id exists already, nothing written).

    ``finish`` runs in the transaction that makes them visible (e.g. a run's failure records)."""
    db.require_writable("importing data")
    with ExitStack() as stack:
        for info, _ in items:
            if not stack.enter_context(_exclusive(_lock_file(db, info.id))):
                raise StoreError(f"dataset {info.id!r} is being written by another process right now; try again later")
        created = _stage(db, [info for info, _ in items])
        try:
            for info, frame in items:
                if created[info.id]:
                    _insert_chunks(db, info.id, frame)
            with db.transaction() as con:
                for info, _ in items:
                    if created[info.id]:
                        placeholders = ", ".join("?" for _ in repo._DATASET_COLUMNS)
                        con.execute(
                            f"INSERT INTO datasets ({', '.join(repo._DATASET_COLUMNS)}) VALUES ({placeholders})",
                            info.as_row(),
                        )
                        con.execute("DELETE FROM import_staging WHERE dataset_id = ?", [info.id])
                if finish is not None:
                    finish(con)
        except BaseException:
            for info, _ in items:
                if created[info.id]:
                    _discard_quietly(db, info.id)
            raise
    return [created[info.id] for info, _ in items]


def _stage(db, infos: list[repo.DatasetInfo]) -> dict[str, bool]:
    """Delete what a killed import of the same ids left (this process holds their locks now, so whoever
    wrote those rows is gone), then record the new datasets as staged. In that order: deleting ends with
    the old staging record, and a record written before it would go with it, leaving this import's rows
    unrecorded if it is killed too."""
    created, leftovers = {}, []
    with db.transaction() as con:
        for info in infos:
            created[info.id] = not repo.dataset_exists(con, info.id)
            staged = con.execute("SELECT count(*) FROM import_staging WHERE dataset_id = ?", [info.id])
            if created[info.id] and staged.fetchall()[0][0]:
                leftovers.append(info.id)
    for dataset_id in leftovers:  # a kill in here leaves the old record: the next import deletes again
        log.info("deleting the rows a killed import of %s left", dataset_id)
        _delete_rows(db, dataset_id)
    with db.transaction() as con:
        for info in infos:
            if created[info.id]:
                con.execute(
                    "INSERT OR REPLACE INTO import_staging VALUES (?, ?, current_timestamp)", [info.id, os.getpid()]
                )
    return created


def _as_table(dataset_id: str, frame: pd.DataFrame | pa.Table) -> pa.Table:
    """The examples as an Arrow table with the store's columns (missing ones null)."""
    if isinstance(frame, pd.DataFrame):
        frame = frame.reindex(columns=repo.EXAMPLE_COLUMNS)
        frame["dataset_id"] = dataset_id
        return pa.Table.from_pandas(frame, preserve_index=False)
    n = frame.num_rows
    columns = {}
    for name in repo.EXAMPLE_COLUMNS:
        if name == "dataset_id":
            columns[name] = pa.array([dataset_id], pa.string()).take(pa.array(np.zeros(n, np.int32)))
        else:
            columns[name] = frame.column(name) if name in frame.column_names else pa.nulls(n)
    return pa.table(columns)


def _insert_chunks(db, dataset_id: str, frame: pd.DataFrame | pa.Table) -> None:
    table = _as_table(dataset_id, frame)
    bytes_per_row = max(1, sum(table.column(c).nbytes for c in ("text", "text_b")) // max(1, table.num_rows))
    group = ROW_GROUP_SIZE
    with db.transaction() as con:  # end the first chunk where the table's last row group ends
        fill = group - con.execute("SELECT count(*) FROM examples").fetchall()[0][0] % group
    start, rows, per_row = 0, fill, None
    while start < table.num_rows:
        if start:  # whole row groups, as many as fit the time and size budget (at least one)
            rows = min(rows, MAX_CHUNK_ROWS, MAX_CHUNK_BYTES // bytes_per_row)
            rows = max(group, rows // group * group)
        batch = table.slice(start, rows)
        asked = want_mtime(want_path(db.path))
        with db.transaction() as con:
            began = time.monotonic()  # the lock is held from here (waiting to open it is not)
            con.register("incoming_examples", batch)  # gone when the connection closes
            con.execute(
                f"INSERT INTO examples ({', '.join(repo.EXAMPLE_COLUMNS)}) "
                f"SELECT {', '.join(repo.EXAMPLE_COLUMNS)} FROM incoming_examples"
            )
        took = (time.monotonic() - began) / batch.num_rows
        if want_mtime(want_path(db.path)) != asked:  # someone waited for the store (storage.db): their turn
            time.sleep(YIELD_SECONDS)
        per_row = took if per_row is None else (per_row + took) / 2  # smoothed: checkpoints come and go
        start += batch.num_rows
        rows = min(4 * batch.num_rows, int(CHUNK_SECONDS / max(per_row, 1e-9)))


def _delete_rows(db, dataset_id: str) -> None:
    """Delete a staged dataset's examples, a range of rows per transaction, then its staging record."""
    with db.transaction() as con:
        lo, hi = con.execute(
            "SELECT coalesce(min(row_idx), 0), coalesce(max(row_idx), -1) FROM examples WHERE dataset_id = ?",
            [dataset_id],
        ).fetchall()[0]
    for start in range(lo, hi + 1, DELETE_CHUNK_ROWS):
        with db.transaction() as con:
            con.execute(
                "DELETE FROM examples WHERE dataset_id = ? AND row_idx >= ? AND row_idx < ?",
                [dataset_id, start, start + DELETE_CHUNK_ROWS],
            )
    with db.transaction() as con:
        if not repo.dataset_exists(con, dataset_id):  # never touch a dataset that became visible
            con.execute("DELETE FROM examples WHERE dataset_id = ?", [dataset_id])
        con.execute("DELETE FROM import_staging WHERE dataset_id = ?", [dataset_id])


def _discard_quietly(db, dataset_id: str) -> None:
    try:
        _delete_rows(db, dataset_id)
    except Exception:  # the import's own error matters more; the next import or open cleans up
        log.exception("could not delete the staged rows of %s", dataset_id)


def clean_abandoned(db) -> list[str]:
    """Delete the staged rows of imports whose process is gone (run when a store is opened); return
    the dataset ids cleaned."""
    with db.transaction() as con:
        staged = [r[0] for r in con.execute("SELECT dataset_id FROM import_staging").fetchall()]
    cleaned = []
    for dataset_id in staged:
        with _exclusive(_lock_file(db, dataset_id)) as free:
            if free:
                log.info("deleting the rows of an import of %s that did not finish", dataset_id)
                _delete_rows(db, dataset_id)
                cleaned.append(dataset_id)
    return cleaned
