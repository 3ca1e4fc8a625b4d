"""Imports hold the store's lock only briefly, appear all at once, survive a kill; jobs wait for the store.

Real processes: an importing subprocess against readers in this one, a SIGKILL mid-import, a process
holding the file while a job saves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from japagen_core.errors import StoreError
from japagen_core.storage import Database, staging
from japagen_core.storage import repository as repo

ROOT = Path(__file__).resolve().parents[2]

# Writes ROWS examples of LENGTH random characters (Japanese, some Latin) as dataset "d".
IMPORT = """
import sys
from pathlib import Path
import numpy as np, pandas as pd
from japagen_core.storage import Database, staging, repository as repo
path, rows, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
alphabet = np.array(list("あいうえおかきくけこさしすせそたちつてとなにぬねの漢字日本語文章abcXYZ"))
texts = ["".join(t) for t in np.random.default_rng(0).choice(alphabet, (rows, length))]
frame = pd.DataFrame({"row_idx": np.arange(rows), "text": texts, "text_b": texts[::-1], "label": "neutral",
                      "split": "train", "source": "test"})
info = repo.DatasetInfo("d", "jnli", "train", "gold", "d", "t", "jsonl", "x", False, rows)
print("ready", flush=True)
print(staging.write_datasets(Database(Path(path)), [(info, frame)]), flush=True)
"""


def _start_import(path: Path, rows: int, length: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = textwrap.dedent(IMPORT)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path), str(rows), str(length)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


VISIBLE = "SELECT count(DISTINCT d.id), count(e.row_idx) FROM datasets d LEFT JOIN examples e ON e.dataset_id = d.id"


def _visible(path: Path) -> tuple[int, int]:
    """(visible datasets, their examples) as any reader sees them."""
    with Database(path, lock_timeout=60).transaction() as con:
        return con.execute(VISIBLE).fetchall()[0]


def test_an_import_of_long_texts_never_locks_readers_out_for_long(tmp_path: Path):
    path = tmp_path / "j.duckdb"
    Database(path).ensure_schema()
    rows = 40_000  # 2 x 300 characters each: as one transaction, several seconds of lock on this machine
    reader = Database(path, lock_timeout=60)  # as the app keeps one
    reader.ensure_schema()
    importer = _start_import(path, rows, 300)
    waits, seen = [], set()
    while importer.poll() is None:
        began = time.monotonic()
        with reader.transaction() as con:
            waits.append(time.monotonic() - began)  # waiting for the lock (and opening the file)
            seen.add(con.execute(VISIBLE).fetchall()[0])
        time.sleep(0.05)
    assert importer.wait() == 0 and importer.stdout.read().strip() == "[True]"
    assert len(waits) >= 10  # the readers really ran during the import
    assert max(waits) < 2.0, f"a reader waited {max(waits):.1f} s: {[round(w, 2) for w in waits]}"
    assert seen <= {(0, 0), (1, rows)}  # nothing partial was ever visible
    assert _visible(path) == (1, rows)


def test_a_killed_import_leaves_nothing_and_a_reimport_works(tmp_path: Path):
    path = tmp_path / "j.duckdb"
    Database(path).ensure_schema()
    rows = 150_000
    importer = _start_import(path, rows, 40)
    staged = 0
    deadline = time.monotonic() + 60
    while staged == 0 and time.monotonic() < deadline:  # wait until some rows are in, but not all
        with Database(path, lock_timeout=60).transaction() as con:
            staged = con.execute("SELECT count(*) FROM examples").fetchall()[0][0]
            assert con.execute("SELECT count(*) FROM datasets").fetchall() == [(0,)]
        time.sleep(0.02)
    importer.send_signal(signal.SIGKILL)
    importer.wait()
    assert 0 < staged < rows
    assert _visible(path) == (0, 0)  # opening the store cleaned the killed import up...
    with Database(path).transaction() as con:
        assert con.execute("SELECT count(*) FROM examples").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM import_staging").fetchall() == [(0,)]
    again = _start_import(path, rows, 40)  # ...and importing again writes all of it, not "nothing changed"
    assert again.wait(timeout=120) == 0 and again.stdout.read().strip() == "[True]"
    assert _visible(path) == (1, rows)
    with Database(path).transaction() as con:
        assert con.execute("SELECT count(*), count(DISTINCT row_idx) FROM examples").fetchall() == [(rows, rows)]


def test_leftovers_of_a_killed_import_are_deleted_by_the_next_import_of_it(tmp_path: Path):
    """A long-lived process (the app) keeps its Database: the next import of the dataset cleans up."""
    db = Database(tmp_path / "j.duckdb")
    frame = pd.DataFrame({"row_idx": range(10), "text": [f"犬{i}" for i in range(10)], "label": "acceptable",
                          "split": "train", "source": "t"})  # fmt: skip
    info = repo.DatasetInfo("d", "jcola", "train", "gold", "d", "t", "jsonl", "x", False, 10)
    staging._stage(db, [info])  # as a killed import leaves it: staged, some rows in
    staging._insert_chunks(db, "d", frame.iloc[:4])
    assert staging._stage(db, [info]) == {"d": True}  # the next import of it, until it is killed too:
    with db.transaction() as con:  # the leftovers are gone and its own rows are recorded as staged
        assert con.execute("SELECT count(*) FROM examples").fetchall() == [(0,)]
        assert con.execute("SELECT dataset_id, pid FROM import_staging").fetchall() == [("d", os.getpid())]
    staging._insert_chunks(db, "d", frame.iloc[:8])  # ... and killed: the one after cleans up both times
    assert staging.write_datasets(db, [(info, frame)]) == [True]
    assert staging.write_datasets(db, [(info, frame)]) == [False]  # now it exists: nothing changes
    with db.transaction() as con:
        assert con.execute("SELECT count(*) FROM examples").fetchall() == [(10,)]
        assert con.execute("SELECT count(*) FROM import_staging").fetchall() == [(0,)]


def test_a_failed_import_leaves_nothing(tmp_path: Path):
    db = Database(tmp_path / "j.duckdb")
    frame = pd.DataFrame(
        {"row_idx": [0, 1, 1], "text": ["a", "b", "c"], "label": "acceptable", "split": "train", "source": "t"}
    )  # fmt: skip  (a duplicate row id: the insert fails)
    info = repo.DatasetInfo("d", "jcola", "train", "gold", "d", "t", "jsonl", "x", False, 3)
    with pytest.raises(Exception, match=r"(?i)constraint|duplicate"):
        staging.write_datasets(db, [(info, frame)])
    with db.transaction() as con:
        assert con.execute(
            "SELECT (SELECT count(*) FROM examples) + (SELECT count(*) FROM import_staging)"
        ).fetchall() == [(0,)]


def _hold(path: Path, seconds: float) -> subprocess.Popen:
    code = (
        f"import duckdb, time; con = duckdb.connect({str(path)!r}); print('locked', flush=True); time.sleep({seconds})"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_job_waits_for_the_store_past_any_timeout_and_saves(project):
    """A finished job's save outlasts a lock held longer than the CLI's timeout, and says it waits."""
    from japagen_core.jobs.runner import _wait_for_the_store

    job = project.jobs.create("analysis", {}, label="wait")
    reports: list[dict] = []
    _wait_for_the_store(project, job, reports.append)
    project.db.ensure_schema()
    frame = pd.DataFrame({"row_idx": np.arange(3), "text": ["犬", "猫", "鳥"], "label": "acceptable",
                          "split": "train", "source": "t"})  # fmt: skip
    info = repo.DatasetInfo("d", "jcola", "train", "gold", "d", "t", "jsonl", "x", False, 3)
    holder = _hold(project.db.path, 2.5)
    try:
        with pytest.raises(StoreError, match=r"stayed locked by another process for 0\.\d s"):  # the CLI gives up
            Database(project.db.path, lock_timeout=0.5).ensure_schema()
        assert staging.write_datasets(project.db, [(info, frame)]) == [True]  # the job waits, then saves
    finally:
        holder.kill()
        holder.wait()
    messages = [r["message"] for r in reports]
    assert messages and all(m.startswith("waiting for the store (") for m in messages)
    with project.db.transaction() as con:
        assert con.execute("SELECT rows FROM datasets WHERE id = 'd'").fetchall() == [(3,)]
