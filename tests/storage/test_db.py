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


def _marker_seen(db: Database) -> bool:
    """Whether this transaction runs on the instance that made the marker table (DuckDB's in-memory
    catalog lives as long as the instance)."""
    with db.transaction() as con:
        return bool(
            con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'keep_marker'").fetchall()[0][0]
        )


def _make_marker(db: Database) -> None:
    with db.transaction() as con:
        con.execute("CREATE TABLE memory.main.keep_marker (x INTEGER)")


def test_a_kept_open_store_serves_the_next_transaction_from_the_same_instance(tmp_path: Path):
    db = Database(tmp_path / "j.duckdb", keep_open=30)
    _make_marker(db)
    assert _marker_seen(db)  # no new instance: the open was not paid again
    db.release()
    assert not _marker_seen(db)  # released: the next transaction opened the file anew
    db.release()
    closed = Database(tmp_path / "k.duckdb")  # the default closes the file after each transaction
    _make_marker(closed)
    assert not _marker_seen(closed)


def _write_from_another_process(path: Path, timeout: float) -> subprocess.CompletedProcess:
    code = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from japagen_core.storage import Database
        start = time.monotonic()
        with Database(Path({str(path)!r}), lock_timeout={timeout}).transaction() as con:
            con.execute("INSERT INTO datasets (id, task, split, kind, name, source, source_format, content_sha256, "
                        "rows) VALUES ('other', 'jnli', 'valid', 'gold', 'd', 'f', 'jsonl', 'x', 0)")
        print(time.monotonic() - start)
        """
    )
    root = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=60)


def test_a_kept_open_store_is_given_up_as_soon_as_another_process_asks(tmp_path: Path):
    db = Database(tmp_path / "j.duckdb", keep_open=60)
    _make_marker(db)  # held idle from here on, for a minute unless asked
    done = _write_from_another_process(db.path, timeout=20)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) < 10  # far less than the minute it would have waited
    assert not _marker_seen(db)  # the instance was closed for the other process
    with db.transaction() as con:  # and its write is seen here
        assert con.execute("SELECT id FROM datasets").fetchall() == [("other",)]
    db.release()


def test_a_kept_open_store_is_released_when_idle_long_enough(tmp_path: Path):
    db = Database(tmp_path / "j.duckdb", keep_open=0.2)
    db.ensure_schema()
    deadline = time.monotonic() + 20
    while True:  # a process that cannot ask (plain duckdb) gets the file once the app has idled 0.2 s
        code = f"import duckdb; duckdb.connect({str(db.path)!r}).close()"
        if subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0:
            break
        assert time.monotonic() < deadline, "the idle store was never released"
        time.sleep(0.2)


def test_an_idle_store_in_the_other_mode_makes_way(tmp_path: Path):
    writer = Database(tmp_path / "j.duckdb", keep_open=60)
    writer.ensure_schema()
    reader = Database(writer.path, read_only=True, keep_open=60)
    with reader.transaction() as con:  # DuckDB attaches a file once per process: the idle writer closes
        assert con.execute("SELECT count(*) FROM datasets").fetchall() == [(0,)]
    reader.release()
