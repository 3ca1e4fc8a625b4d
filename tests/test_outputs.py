"""Output paths: nothing a user names as --out may land in the store, overwrite a file without --force,
or (in read-only mode) change the store; the store's files keep their hashes when a write is refused."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from japagen_core.cli import main
from japagen_core.outputs import (
    OutputPathError,
    check_output_folder,
    check_output_path,
    read_or_set_aside,
    write_bytes_atomic,
)
from japagen_core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def run(home: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI as a user runs it: a real process."""
    env = {**os.environ, "JAPAGEN_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "japagen_core", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )


@pytest.fixture
def cli(home: Path, monkeypatch, capsys):
    """The CLI's main() in this process (a process per call costs ~3 s of CPU): (exit code, stdout, stderr)."""

    def call(*args: str, read_only: bool = False) -> tuple[int, str, str]:
        monkeypatch.setenv("JAPAGEN_READ_ONLY", "1" if read_only else "0")
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return call


def hashes(home: Path) -> dict[str, str]:
    """sha256 of every file under the data directory."""
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest() for p in home.rglob("*") if p.is_file()
    }


@pytest.fixture
def store(home: Path, cli) -> tuple[Path, str]:
    """A data directory with the demo project and a job folder; the id of a dataset in it."""
    assert cli("demo", "load")[0] == 0
    job = home / "jobs" / "generate-x"
    job.mkdir(parents=True)
    (job / "job.json").write_text('{"id": "generate-x", "kind": "generate", "config": {}, "created_at": "2026"}')
    return home, cli("datasets")[1].split()[0]


def _one_line_refusal(result: tuple[int, str, str], *words: str) -> None:
    code, _, err = result
    assert code == 1, result
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refused to write"), err
    for word in words:
        assert word in lines[0], lines[0]


def test_the_reported_commands_no_longer_destroy_the_store(store):
    """The issue's reproduction, as a user types it (real processes): a refusal, the store intact."""
    home, dataset = store
    before = hashes(home)
    export = run(home, "export", dataset, "--format", "jsonl", "--out", str(home / "japagen.duckdb"))
    assert export.returncode == 1 and "inside the japagen data directory" in export.stderr, export.stderr
    assert len(export.stderr.splitlines()) == 1
    env = {**os.environ, "JAPAGEN_HOME": str(home), "PYTHONPATH": str(ROOT), "JAPAGEN_READ_ONLY": "1"}
    report = subprocess.run(
        [sys.executable, "-m", "japagen_core", "report", "--out", str(home / "japagen.duckdb")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert report.returncode == 1 and "refused to write" in report.stderr, report.stderr
    assert hashes(home) == before
    assert run(home, "datasets").returncode == 0


def test_writes_into_the_data_directory_are_refused_and_the_store_is_unchanged(store, cli, tmp_path):
    home, dataset = store
    before = hashes(home)
    (tmp_path / "to-db").symlink_to(home / "japagen.duckdb")
    targets = [
        home / "japagen.duckdb",
        home / "japagen.duckdb.wal",
        home / "jobs" / "generate-x" / "job.json",
        home / "snapshots" / "new.parquet",
        tmp_path / "elsewhere" / ".." / "home" / "japagen.duckdb",  # `..` resolved
        tmp_path / "to-db",  # a symlink into the store
        home,
    ]
    for target in targets:
        _one_line_refusal(cli("export", dataset, "--format", "jsonl", "--out", str(target)), "JAPAGEN_HOME")
        _one_line_refusal(cli("export", dataset, "--format", "csv", "--out", str(target), "--force"), "inside")
    _one_line_refusal(cli("report", "--out", str(home / "jobs" / "generate-x" / "job.json")), "inside")
    _one_line_refusal(cli("report", "--out", str(home / "japagen.duckdb.wal"), read_only=True), "inside")
    _one_line_refusal(cli("teacher-tune", "--task", "jnli", "--dry-run", "--out", str(home / "x.jsonl")), "inside")
    assert hashes(home) == before  # not even a snapshot was made before the refusal
    code, out, _ = cli("jobs")
    assert code == 0 and "generate-x" in out


def test_an_existing_file_is_overwritten_only_with_force(store, cli, tmp_path):
    _, dataset = store
    out = tmp_path / "mine.jsonl"
    out.write_text("keep me\n")
    _one_line_refusal(cli("export", dataset, "--format", "jsonl", "--out", str(out)), "--force", "exists")
    assert out.read_text() == "keep me\n"
    code, printed, err = cli("export", dataset, "--format", "jsonl", "--out", str(out), "--force")
    assert code == 0, err
    assert out.read_text().count("\n") == int(printed.split(": ")[1].split()[0])  # "snapshot 1: 32 rows ..."
    report = tmp_path / "report.html"
    assert cli("report", "--out", str(report))[0] == 0
    first = report.read_bytes()
    _one_line_refusal(cli("report", "--out", str(report)), "exists")
    assert report.read_bytes() == first
    assert cli("report", "--out", str(report), "--force")[0] == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left beside it


def test_read_only_writes_a_report_outside_the_store_but_changes_nothing_in_it(store, cli, tmp_path):
    home, dataset = store
    before = hashes(home)
    report = tmp_path / "report.html"
    code, _, err = cli("report", "--out", str(report), read_only=True)
    assert code == 0, err
    assert b"<html" in report.read_bytes()[:1000]
    code, _, err = cli("export", dataset, "--format", "jsonl", "--out", str(tmp_path / "x.jsonl"), read_only=True)
    assert code == 1 and "read-only" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.jsonl").exists()
    assert hashes(home) == before


def test_check_output_path(tmp_path):
    settings = Settings(home=tmp_path / "home", prompts_dir=tmp_path)
    (tmp_path / "home").mkdir()
    with pytest.raises(OutputPathError, match="inside the japagen data directory"):
        check_output_path(settings, tmp_path / "home" / "a" / "b.html")
    with pytest.raises(OutputPathError, match="is a folder"):
        check_output_path(settings, tmp_path)
    assert check_output_path(settings, tmp_path / "new" / "x.csv") == (tmp_path / "new" / "x.csv").resolve()
    existing = write_bytes_atomic(tmp_path / "x.csv", b"a")
    with pytest.raises(OutputPathError, match="pass --force"):
        check_output_path(settings, existing)
    assert check_output_path(settings, existing, force=True) == existing.resolve()


def test_check_output_folder(tmp_path):
    """A folder export may go into a new or empty folder, a non-empty one only with force (whatever it
    holds: a subfolder named ``_`` was once refused as "a folder"), never inside the data directory."""
    settings = Settings(home=tmp_path / "home", prompts_dir=tmp_path)
    (tmp_path / "home").mkdir()
    with pytest.raises(OutputPathError, match="inside the japagen data directory"):
        check_output_folder(settings, tmp_path / "home" / "export")
    with pytest.raises(OutputPathError, match="inside the japagen data directory"):
        check_output_folder(settings, tmp_path / "home", force=True)
    assert check_output_folder(settings, tmp_path / "new") == (tmp_path / "new").resolve()
    (tmp_path / "full" / "_").mkdir(parents=True)
    with pytest.raises(OutputPathError, match="not empty"):
        check_output_folder(settings, tmp_path / "full")
    assert check_output_folder(settings, tmp_path / "full", force=True) == (tmp_path / "full").resolve()
    with pytest.raises(OutputPathError, match="is a file"):
        check_output_folder(settings, write_bytes_atomic(tmp_path / "f.txt", b"a"))


def test_a_hard_link_to_a_store_file_is_replaced_not_written_through(tmp_path):
    """Writing atomically means a new file takes the name: the linked store file keeps its bytes."""
    store_file = tmp_path / "home" / "japagen.duckdb"
    store_file.parent.mkdir()
    store_file.write_bytes(b"the store")
    link = tmp_path / "link.jsonl"
    os.link(store_file, link)
    settings = Settings(home=tmp_path / "home", prompts_dir=tmp_path)
    write_bytes_atomic(check_output_path(settings, link, force=True), b"an export")
    assert store_file.read_bytes() == b"the store" and link.read_bytes() == b"an export"


def test_unreadable_files_are_set_aside(tmp_path):
    import pandas as pd

    good = tmp_path / "part-a.parquet"
    pd.DataFrame({"x": [1, 2]}).to_parquet(good)
    empty = tmp_path / "part-b.parquet"
    empty.write_bytes(b"")
    cut = tmp_path / "part-c.parquet"
    cut.write_bytes(good.read_bytes()[:-9])
    found = read_or_set_aside([good, empty, cut], pd.read_parquet)
    assert list(found) == [good] and len(found[good]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "part-a.parquet",
        "part-b.parquet.corrupt",
        "part-c.parquet.corrupt",
    ]
