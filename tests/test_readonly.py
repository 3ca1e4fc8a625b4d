"""Read-only demo mode: with JAPAGEN_READ_ONLY=1 everything can be read, and the engine itself refuses
every write (database, job folders, snapshot files), leaving the store's bytes as they were."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from japagen_core import showcase
from japagen_core.analysis import AnalysisConfig, latest_results
from japagen_core.cli import main as cli_main
from japagen_core.datasets.importers import import_gold
from japagen_core.demo import load_demo, remove_demo
from japagen_core.jobs.kinds import submit
from japagen_core.jobs.store import JobStore
from japagen_core.project import Project
from japagen_core.readonly import ReadOnlyError, flag_from_env
from japagen_core.review import events as ev
from japagen_core.review import queue as q
from japagen_core.review import snapshots as snap
from japagen_core.review import word_lists
from japagen_core.review.events import Action
from japagen_core.settings import Settings
from japagen_core.storage import repository as repo
from japagen_core.training import results
from japagen_core.training.store import list_models
from tests.conftest import write_jsonl


def tree_digest(home: Path) -> dict[str, str]:
    """Every file under the data directory and the sha256 of its bytes."""
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def demo_store(project, jnli_review):
    """The demo plus a reviewed, analysed JNLI run, a snapshot, a pin and a finished-looking job."""
    gold, run = jnli_review
    task = project.registry["jnli"]
    ev.apply(project, task, [(run, 0)], Action("flag", "bad_text"), reviewer="a")
    q.queue_page(project, q.QueueFilter([run]))  # the stored queue index exists for the run only
    snap.create_snapshot(project, run)
    showcase.pin(project, run, 3, pinned_by="a", note="a clear contradiction")
    project.jobs.create("analysis", {"reference": gold})
    return gold, run


@pytest.fixture
def read_only(demo_store, monkeypatch) -> Project:
    monkeypatch.setenv("JAPAGEN_READ_ONLY", "1")
    return Project.open(Settings.from_env())


def test_the_flag_accepts_yes_values_and_refuses_typos():
    assert flag_from_env({"JAPAGEN_READ_ONLY": "1"}) and flag_from_env({"JAPAGEN_READ_ONLY": "True"})
    assert flag_from_env({"JAPAGEN_READ_ONLY": "yes"}) and not flag_from_env({})
    assert not flag_from_env({"JAPAGEN_READ_ONLY": "0"}) and not flag_from_env({"JAPAGEN_READ_ONLY": ""})
    with pytest.raises(Exception, match="'ture'"):
        flag_from_env({"JAPAGEN_READ_ONLY": "ture"})
    assert Settings.from_env({"JAPAGEN_HOME": "/tmp/x", "JAPAGEN_READ_ONLY": "1"}).read_only


def test_reading_works_read_only(read_only, demo_store):
    gold, run = demo_store
    project = read_only
    assert project.read_only and project.jobs.read_only
    assert {d["id"] for d in project.datasets()} >= {gold, run}
    assert project.browse(run, query="犬").total > 0
    page = q.queue_page(project, q.QueueFilter([run]), limit=5)
    assert page.total == 48 and page.rows["suspicion"].notna().all()
    # the gold split has no stored queue index: it is built for this read only, in temporary tables
    gold_page = q.queue_page(project, q.QueueFilter([gold, run], state="flagged"))
    assert gold_page.total == 1
    assert not q.confusion(project, [gold, run]).empty and q.kadg_words(project, [run])
    assert latest_results(project, [run], gold)[("self_bleu", run)]["self_bleu"] > 0
    assert results.build_table1(list_models(project), project.registry, paper=True).rows
    assert snap.list_snapshots(project) and len(snap.read_snapshot(project, 1)) == 48
    assert [p.row_idx for p in showcase.list_pins(project, task="jnli")] == [3]
    assert [c.row_idx for c in showcase.example_cards(project, "jnli", per_label=2) if c.pinned] == [3]
    assert [j.kind for j in project.jobs.list()] == ["analysis"]
    assert word_lists.current_words(project, "jnli").words


def test_every_write_is_refused_and_the_store_is_unchanged(read_only, demo_store, home, tmp_path):
    gold, run = demo_store
    project, task = read_only, read_only.registry["jnli"]
    q.queue_page(project, q.QueueFilter([gold]))  # a read that builds an index: in memory only
    before = tree_digest(home)
    new_file = write_jsonl(
        tmp_path / "more.jsonl", [{"sentence1": "猫がいる。", "sentence2": "猫。", "label": "neutral"}]
    )
    job = project.jobs.list()[0]
    words = [*word_lists.current_words(project, "jnli").words, "新しい単語"]
    refused = {
        "import": lambda: import_gold(project.db, task, "extra", path=new_file),
        "delete dataset": lambda: _delete(project, run),
        "review event": lambda: ev.apply(project, task, [(run, 1)], Action("flag", "off_task"), reviewer="b"),
        "undo": lambda: ev.undo_last(project, [run], reviewer="a"),
        "snapshot": lambda: snap.create_snapshot(project, run),
        "job submit": lambda: submit(project, "analysis", AnalysisConfig(reference=gold, datasets=[run])),
        "job create": lambda: JobStore(project.settings.jobs_dir).create("analysis", {}),
        "job start": lambda: project.jobs.start(job),
        "job cancel": lambda: project.jobs.cancel(job),
        "word list save": lambda: word_lists.save_words(project, "jnli", words, author="b"),
        "demo load": lambda: load_demo(project.db, project.registry),
        "demo remove": lambda: remove_demo(project.db),
        "pin": lambda: showcase.pin(project, run, 4, pinned_by="b"),
        "unpin": lambda: showcase.unpin(project, run, 3),
    }
    allowed = []
    for name, attempt in refused.items():
        try:
            attempt()
        except ReadOnlyError as exc:
            assert str(exc).startswith("japagen runs read-only (JAPAGEN_READ_ONLY=1): "), name
        else:
            allowed.append(name)
    assert allowed == []
    assert tree_digest(home) == before


def _delete(project: Project, dataset_id: str) -> None:
    with project.db.transaction() as con:
        repo.delete_dataset(con, dataset_id)


def test_the_message_names_what_was_refused(read_only, demo_store):
    _, run = demo_store
    with pytest.raises(ReadOnlyError, match=r"JAPAGEN_READ_ONLY=1\): changing the database \(DELETE\)"):
        _delete(read_only, run)
    with pytest.raises(ReadOnlyError, match=f"creating a snapshot of {run}"):
        snap.create_snapshot(read_only, run)


def test_the_cli_refuses_with_one_line(read_only, capsys):
    assert cli_main(["demo", "load"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: japagen runs read-only (JAPAGEN_READ_ONLY=1): loading the demo is not allowed"
    assert cli_main(["datasets", "--json"]) == 0


def test_a_missing_or_outdated_store_says_to_start_once_writable(home, monkeypatch):
    monkeypatch.setenv("JAPAGEN_READ_ONLY", "1")
    project = Project.open(Settings.from_env())
    with pytest.raises(ReadOnlyError, match=r"no database at .* start japagen once without read-only mode"):
        project.datasets()
    assert not home.exists()  # not even the folder was made
    monkeypatch.delenv("JAPAGEN_READ_ONLY")
    writable = Project.open(Settings.from_env())
    writable.datasets()
    with writable.db.transaction() as con:  # as if made by a japagen from before the showcase
        con.execute("DELETE FROM _migrations WHERE name = 'm008_showcase'")
    monkeypatch.setenv("JAPAGEN_READ_ONLY", "1")
    with pytest.raises(ReadOnlyError, match="lacks m008_showcase: start japagen once without read-only"):
        Project.open(Settings.from_env()).datasets()
