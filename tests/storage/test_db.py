import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from japagen_core.errors import StoreError
from japagen_core.project import Project
from japagen_core.settings import Settings
from japagen_core.storage import Database
from japagen_core.storage import repository as repo
from japagen_core.storage.migrations import MIGRATIONS, migrate
from japagen_core.tasks import load_registry

JNLI = load_registry(None)["jnli"]


def test_migrations_build_an_empty_database(tmp_path: Path):
    db = Database(tmp_path / "j.duckdb")
    with db.transaction() as con:
        names = [r[0] for r in con.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert names == [m.__name__ for m in MIGRATIONS]
    assert {"datasets", "examples", "import_staging", "_migrations"} <= tables
    assert not {"example_grams", "dataset_index"} & tables  # Browse searches from memory (m011)
    with db.transaction() as con:  # a second run applies nothing
        assert migrate(con) == []


def test_an_old_database_is_upgraded_and_still_browsable(tmp_path: Path):
    import duckdb
    import pandas as pd

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, MIGRATIONS[:1])  # a database from before the gram index
    con.execute(
        "INSERT INTO datasets (id, task, split, kind, name, source, source_format, content_sha256, rows) "
        "VALUES ('d', 'jnli', 'valid', 'gold', 'd', 'f', 'jsonl', 'x', 2)"
    )
    rows = pd.DataFrame({"row_idx": [0, 1], "text": ["犬が走る", "猫が寝る"], "text_b": ["犬", "猫"]})
    con.register("rows", rows)  # DuckDB would find the local by name too; say it
    con.execute(
        "INSERT INTO examples (dataset_id, row_idx, text, text_b, label, split, source) "
        "SELECT 'd', row_idx, text, text_b, 'neutral', 'valid', 'gold' FROM rows"
    )
    con.close()
    db = Database(path)
    with db.transaction() as con:
        page = repo.browse(con, JNLI, "d", query="猫")
    assert list(page.rows["text"]) == ["猫が寝る"]


def _hold_lock(path: Path, seconds: float) -> subprocess.Popen:
    code = textwrap.dedent(
        f"""
        import duckdb, sys, time
        con = duckdb.connect({str(path)!r})
        print("locked", flush=True)
        time.sleep({seconds})
        con.close()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_transaction_waits_while_another_process_holds_the_file(tmp_path: Path):
    db = Database(tmp_path / "j.duckdb")
    db.ensure_schema()
    holder = _hold_lock(db.path, 0.7)
    start = time.monotonic()
    with db.transaction() as con:
        assert con.execute("SELECT count(*) FROM datasets").fetchall() == [(0,)]
    assert time.monotonic() - start > 0.3  # it really waited for the other process
    holder.wait(timeout=10)


def test_a_lock_held_too_long_is_a_clear_error(tmp_path: Path):
    db = Database(tmp_path / "j.duckdb")
    db.ensure_schema()
    holder = _hold_lock(db.path, 3)
    try:
        with (
            pytest.raises(StoreError, match="stayed locked by another process"),
            Database(db.path, lock_timeout=0.3).transaction(),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_a_failed_transaction_rolls_back(tmp_path: Path):
    db = Database(tmp_path / "j.duckdb")
    with pytest.raises(RuntimeError), db.transaction() as con:
        con.execute(
            "INSERT INTO datasets (id, task, split, kind, name, source, source_format, content_sha256, rows) "
            "VALUES ('d', 'jnli', 'valid', 'gold', 'd', 'f', 'jsonl', 'x', 0)"
        )
        raise RuntimeError("boom")
    with db.transaction() as con:
        assert con.execute("SELECT count(*) FROM datasets").fetchall() == [(0,)]


def test_a_store_with_the_old_gram_index_loses_it_and_still_searches(tmp_path: Path):
    import duckdb
    import pandas as pd

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, MIGRATIONS[:-1])  # up to m009: datasets indexed on disk
    con.execute(
        "INSERT INTO datasets (id, task, split, kind, name, source, source_format, content_sha256, rows) "
        "VALUES ('d', 'jnli', 'valid', 'gold', 'd', 'f', 'jsonl', 'x', 2)"
    )
    rows = pd.DataFrame({"row_idx": [0, 1], "text": ["犬が走る", "Catが寝る"], "text_b": ["犬", "猫"]})
    con.register("rows", rows)
    con.execute(
        "INSERT INTO examples (dataset_id, row_idx, text, text_b, label, split, source) "
        "SELECT 'd', row_idx, text, text_b, 'neutral', 'valid', 'gold' FROM rows"
    )
    con.execute("INSERT INTO example_grams VALUES ('d', '犬', 'neutral', 0)")
    con.execute("INSERT INTO dataset_index VALUES ('d', 'complete', 2)")
    con.close()
    project = Project.open(Settings(home=tmp_path, prompts_dir=tmp_path / "none"))
    project.db = Database(path)
    assert project.browse("d", query="cat").rows["row_idx"].tolist() == [1]  # from memory
    with project.db.transaction() as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "example_grams" not in tables and "dataset_index" not in tables and "import_staging" in tables
