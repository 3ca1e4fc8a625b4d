"""The review queue (filters, suspicion ranking, the confusion drill-down) and snapshots/export."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from japagen_core.datasets.importers import import_gold
from japagen_core.review import events as ev
from japagen_core.review import queue as q
from japagen_core.review import snapshots as snap
from japagen_core.review.events import Action
from japagen_core.review.issues import class_label_issues, score_label_issues
from japagen_core.storage import textindex
from tests.conftest import write_jsonl
from tests.review_data import make_run


def test_cleanlab_issues_rank_a_confidently_wrong_label_lowest():
    probs = [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.95, 0.03, 0.02]] * 3
    assigned = ["e", "c", "n", "n"] * 3  # the fourth of each four says neutral; the model is sure it is e
    quality, issues = class_label_issues(assigned, probs, labels=["e", "c", "n"])
    assert quality.tolist() == pytest.approx([0.9, 0.8, 0.8, 0.02] * 3)
    assert issues.tolist() == [False, False, False, True] * 3
    with pytest.raises(ValueError, match="shape"):
        class_label_issues(["e"], [[0.5, 0.5]], labels=["e", "c", "n"])
    residual = score_label_issues([1.0, 4.0], [1.1, 1.0])
    assert residual[0] > residual[1]


def test_queue_ranks_the_mislabeled_neutral_pairs_first(project, tmp_path):
    # Predictions are out of sample, so the gold split must teach what the run's new pairs show: pairs of the
    # same kinds (templates), never the same pairs. A quarter of the run's entailment pairs say neutral.
    from japagen_core.analysis import AnalysisConfig, run_analysis
    from tests.review_data import make_run
    from tests.training_data import jnli_pairs

    def pairs(n, tag):
        return [(f"{r['sentence1']}{tag}{i}", r["sentence2"], r["label"]) for i, r in enumerate(jnli_pairs(n))]

    gold_rows = [{"sentence1": a, "sentence2": b, "label": label} for a, b, label in pairs(120, "g")]
    [gold] = import_gold(project.db, project.registry["jnli"], "train",
                         path=write_jsonl(tmp_path / "gold.json", gold_rows))  # fmt: skip
    rows = pairs(48, "r")
    wrong = [i for i, (_, _, label) in enumerate(rows) if label == "entailment"][::2]  # 8 of the 16
    rows = [(a, b, "neutral" if i in wrong else label) for i, (a, b, label) in enumerate(rows)]
    run = make_run(project, rows)
    run_analysis(project, AnalysisConfig(reference=gold.dataset_id, datasets=[run], train=gold.dataset_id))
    page = q.queue_page(project, q.QueueFilter([run]), limit=8)
    assert page.total == 48 and set(page.analyses) == {run}
    top = page.rows.head(8)
    assert (top["suspicion"].diff().dropna() <= 1e-12).all()  # sorted, most suspicious first
    # the pairs labelled neutral that are really entailment dominate the top of the queue (base rate 1/6)
    assert top["row_idx"].isin(wrong).mean() >= 0.75 and (top["predicted"] == "entailment").mean() >= 0.75


def test_the_jnli_review_run_is_scored_out_of_sample(project, jnli_review):
    gold, run = jnli_review  # a run that copies the gold pairs it is checked against
    page = q.queue_page(project, q.QueueFilter([run]), limit=12)
    assert page.total == 48 and (page.rows["suspicion"].diff().dropna() <= 1e-12).all()
    with project.db.transaction() as con:
        [(result,)] = con.execute("SELECT result FROM analysis_results WHERE kind = 'correctness' AND dataset_id = ?",
                                  [run]).fetchall()  # fmt: skip
    result = json.loads(result)
    assert result["cross_validated"] == 48 and result["out_of_sample"] and result["trained_on"] == gold


def test_confusion_cell_filter_gives_exactly_those_pairs(project, jnli_review):
    _, run = jnli_review
    matrix = q.confusion(project, [run])
    assert matrix["examples"].sum() == 48
    cell = matrix[(matrix["assigned"] == "neutral") & (matrix["predicted"] == "entailment")]
    n = int(cell["examples"].iloc[0])
    assert n >= 5
    page = q.queue_page(project, q.QueueFilter([run], assigned=["neutral"], predicted=["entailment"]), limit=100)
    assert (
        page.total == n and set(page.rows["assigned"]) == {"neutral"} and set(page.rows["predicted"]) == {"entailment"}
    )
    assert page.rows["text_b"].notna().all()  # premise and hypothesis both there


def test_filters_by_state_flag_word_text_and_suspicion(project, jnli_review):
    _, run = jnli_review
    task = project.registry["jnli"]
    ev.apply(project, task, [(run, 0), (run, 1)], Action("flag", "bad_text"), reviewer="a")
    ev.apply(project, task, [(run, 2)], Action("relabel", "entailment"), reviewer="a")

    def total(**kw):
        return q.queue_page(project, q.QueueFilter([run], **kw)).total

    assert total(state="flagged") == 2 and total(flags=["bad_text"]) == 2 and total(state="relabeled") == 1
    assert total(state="reviewed") == 3 and total(state="unreviewed") == 45 and total(state="not flagged") == 46
    assert total(kadg_words=["公園"]) == 16
    with project.db.transaction() as con:
        word = con.execute("SELECT text FROM examples WHERE dataset_id = ? AND row_idx = 5", [run]).fetchall()[0][0][:4]
    assert total(text=word) >= 1
    assert total(min_suspicion=0.0) == 48 and total(min_suspicion=1.0) <= total(min_suspicion=0.5)
    assert q.queue_keys(project, q.QueueFilter([run], state="flagged")) == [(run, 0), (run, 1)]
    assert q.kadg_words(project, [run]) == ["公園", "台所", "海"]


def test_queue_without_analysis_still_lists_examples(project):
    from tests.review_data import make_run

    run = make_run(project, [("a。", "b。", "neutral")] * 3)
    page = q.queue_page(project, q.QueueFilter([run]))
    assert page.total == 3 and page.rows["suspicion"].isna().all() and q.confusion(project, [run]).empty


def test_snapshot_applies_relabels_and_is_immutable_and_numbered(project, jnli_review):
    _, run = jnli_review
    task = project.registry["jnli"]
    ev.apply(project, task, [(run, 40), (run, 41)], Action("relabel", "entailment"), reviewer="a")
    ev.apply(project, task, [(run, 42)], Action("flag", "mislabeled"), reviewer="a")
    kept = snap.create_snapshot(project, run, exclude_flagged=False, created_by="a")
    dropped = snap.create_snapshot(project, run, exclude_flagged=True, created_by="a")
    assert (kept.id, dropped.id) == (1, 2) and (kept.rows, dropped.rows) == (48, 47)
    assert (kept.relabeled_rows, kept.flagged_rows) == (2, 1)
    frame = snap.read_snapshot(project, kept.id)
    assert list(frame.loc[frame["row_idx"].isin([40, 41]), "label"]) == ["entailment", "entailment"]
    assert frame.loc[frame["row_idx"] == 42, "flag"].item() == "mislabeled"
    # later review does not change a snapshot
    ev.apply(project, task, [(run, 40)], Action("relabel", "contradiction"), reviewer="a")
    assert snap.read_snapshot(project, kept.id).loc[40, "label"] == "entailment"
    assert not os.access(kept.path, os.W_OK) or os.geteuid() == 0
    os.chmod(kept.path, 0o644)
    kept.path.write_bytes(kept.path.read_bytes() + b"x")
    with pytest.raises(snap.SnapshotError, match="changed after it was written"):
        snap.read_snapshot(project, kept.id)
    with pytest.raises(snap.SnapshotError, match="no snapshot 99"):
        snap.get_snapshot(project, 99)


def test_exported_jsonl_reimports_unchanged(project, jnli_review, tmp_path):
    _, run = jnli_review
    task = project.registry["jnli"]
    ev.apply(project, task, [(run, 40)], Action("relabel", "entailment"), reviewer="a")
    ev.apply(project, task, [(run, 3)], Action("flag", "off_task"), reviewer="a")
    snapshot = snap.create_snapshot(project, run, exclude_flagged=True)
    out = snap.export_snapshot(project, snapshot.id, "jsonl", tmp_path / "reviewed.jsonl")
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert set(first) == {"sentence_pair_id", "sentence1", "sentence2", "label"}
    [result] = import_gold(project.db, task, "reviewed", path=out)
    with project.db.transaction() as con:
        back = con.execute(
            "SELECT text, text_b, label FROM examples WHERE dataset_id = ? ORDER BY row_idx", [result.dataset_id]
        ).df()
    frame = snap.read_snapshot(project, snapshot.id)
    pd.testing.assert_frame_equal(back, frame[["text", "text_b", "label"]].reset_index(drop=True))
    for fmt in ("parquet", "csv"):
        path = snap.export_snapshot(project, snapshot.id, fmt, tmp_path / f"r.{fmt}")
        read = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path)
        assert len(read) == 47 and "flag" in read.columns


@pytest.mark.parametrize("task_name", ["jcola", "jsts", "marc_ja", "livedoor"])
def test_gold_snapshots_of_every_format_reimport_unchanged(project, tmp_path, task_name):
    from japagen_core.demo import load_demo

    demo = load_demo(project.db, project.registry, analyse=False)
    gold = next(r.dataset_id for r in demo if r.dataset_id.startswith(f"{task_name}-train-"))
    task = project.registry[task_name]
    snapshot = snap.create_snapshot(project, gold)
    out = snap.export_snapshot(project, snapshot.id, "jsonl", tmp_path / "g.jsonl")
    if task.gold_label_as_id:
        assert isinstance(json.loads(out.read_text(encoding="utf-8").splitlines()[0])["label"], int)
    [result] = import_gold(project.db, task, "again", path=out)
    with project.db.transaction() as con:
        rows = [
            con.execute(
                "SELECT text, text_b, label, score, source_id FROM examples WHERE dataset_id = ? ORDER BY row_idx", [d]
            ).fetchall()
            for d in (gold, result.dataset_id)
        ]
    assert rows[0] == rows[1]


def test_text_filter_from_memory_matches_the_scan(project):
    """The queue's text filter (from the in-memory index) finds exactly what a scan of the queue's own
    copy of the texts finds, for random queries of 1-6 characters, Japanese and mixed-case Latin."""
    import random

    rng = random.Random(3)
    words = ["犬", "猫", "公園", "男性が", "いる", "iPhone", "Café", "ab", "AB", "走って", "7345"]

    def sentence() -> str:
        return "".join(rng.choice(words) for _ in range(rng.randint(1, 5)))

    run = make_run(project, [(sentence(), sentence(), rng.choice(["entailment", "neutral"])) for _ in range(300)])
    letters = "".join(sorted(set("".join(words))))
    queries = [w for w in words] + ["".join(rng.choice(letters) for _ in range(rng.randint(1, 6))) for _ in range(40)]
    for text in queries:
        keys = q.queue_keys(project, q.QueueFilter([run], text=text))
        needle = text.lower()
        match = "contains(lower(text), ?) OR contains(lower(coalesce(text_b, '')), ?)"
        if needle == needle.upper():
            match = "contains(text, ?) OR contains(coalesce(text_b, ''), ?)"
        with project.db.transaction() as con:
            want = con.execute(
                f"SELECT dataset_id, row_idx FROM review_index WHERE dataset_id = ? AND ({match}) ORDER BY row_idx",
                [run, needle, needle],
            ).fetchall()
        assert keys == [(d, int(r)) for d, r in want], text
        page = q.queue_page(project, q.QueueFilter([run], text=text, order="row"), limit=5)
        assert page.total == len(want) and list(page.rows["row_idx"]) == [r for _, r in want[:5]]


def _evaluated_model(project, gold: str, *, wrong_rows: set[int]) -> str:
    """A stored model with predictions on a gold split: right everywhere but ``wrong_rows`` (entailment)."""
    with project.db.transaction() as con:
        truth = con.execute("SELECT row_idx, label FROM examples WHERE dataset_id = ? ORDER BY row_idx", [gold]).df()
        con.execute(
            "INSERT INTO models (id, run_id, kind, task, method, setting, data_spec, eval_dataset_id, base_model, "
            "seed, config, metric, metrics, created_at) VALUES ('m-test', 'r', 'finetune', 'jnli', 'japagen', 'kadg', "
            "'snapshot:1', ?, 'tiny-bert', 0, '{}', 'accuracy', '{}', now())",
            [gold],
        )
        labels = ["entailment", "contradiction", "neutral"]
        for row, label in zip(truth["row_idx"], truth["label"], strict=True):
            predicted = "entailment" if row in wrong_rows else label
            probs = [0.9 if name == predicted else 0.05 for name in labels]
            con.execute(
                "INSERT INTO evaluation_predictions (model_id, dataset_id, row_idx, predicted, probabilities) "
                "VALUES ('m-test', ?, ?, ?, ?)",
                [gold, int(row), predicted, json.dumps(probs)],
            )
    return "model:m-test"


def test_gold_drill_down_uses_a_fine_tuned_models_predictions(project, jnli_review):
    gold, _ = jnli_review
    with project.db.transaction() as con:
        neutral = [r[0] for r in con.execute(
            "SELECT row_idx FROM examples WHERE dataset_id = ? AND label = 'neutral' ORDER BY row_idx LIMIT 3", [gold]
        ).fetchall()]  # fmt: skip
    source = _evaluated_model(project, gold, wrong_rows=set(neutral))
    assert q.model_sources(project, [gold]) == {source: "japagen kadg · seed 0 · tiny-bert · m-test"}
    matrix = q.confusion(project, [gold], source)
    cell = matrix[(matrix["assigned"] == "neutral") & (matrix["predicted"] == "entailment")]
    assert int(cell["examples"].iloc[0]) == 3
    f = q.QueueFilter([gold], assigned=["neutral"], predicted=["entailment"], source=source)
    page = q.queue_page(project, f)
    assert sorted(page.rows["row_idx"]) == neutral and (page.rows["suspicion"] > 0.9).all()
    # back to the analysis classifier: the index follows the chosen source
    assert q.queue_page(project, q.QueueFilter([gold])).analyses == q.latest_predictions(project, [gold])


_DIE_AFTER_RENAME = """
import os, signal, sys
from japagen_core import outputs
from japagen_core.project import Project
from japagen_core.review import snapshots

def die(folder):  # the moment after the snapshot file got its final name, before its record is committed
    os.kill(os.getpid(), signal.SIGKILL)

outputs.fsync_dir = die
snapshots.create_snapshot(Project.open(), sys.argv[1])
"""


def _killed_between_rename_and_record(home, dataset_id: str) -> None:
    import subprocess
    import sys

    env = {**os.environ, "JAPAGEN_HOME": str(home), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", _DIE_AFTER_RENAME, dataset_id], env=env, timeout=300)
    assert done.returncode == -9


def test_a_snapshot_killed_between_rename_and_record_is_recovered_by_the_next(project, home, jnli_review, tmp_path):
    gold, run = jnli_review
    leftover = home / "snapshots" / "snapshot-00001.parquet"
    _killed_between_rename_and_record(home, gold)
    assert leftover.exists() and snap.list_snapshots(project) == []

    # Another dataset's snapshot takes the number: the leftover (not this content) is moved aside, kept.
    first = snap.create_snapshot(project, run)
    assert first.id == 1 and first.dataset_id == run and first.path == leftover
    aside = [p.name for p in (home / "snapshots").iterdir() if ".unrecorded-" in p.name]
    assert len(aside) == 1 and pd.read_parquet(home / "snapshots" / aside[0])["dataset_id"].eq(gold).all()
    out = snap.export_snapshot(project, first.id, "jsonl", tmp_path / "run.jsonl")
    assert len(out.read_text(encoding="utf-8").splitlines()) == first.rows == 48

    # The same snapshot again after a crash: the leftover holds exactly it, so it is recorded as it is.
    _killed_between_rename_and_record(home, gold)
    left = home / "snapshots" / "snapshot-00002.parquet"
    sha = snap._sha256(left)
    second = snap.create_snapshot(project, gold)
    assert second.id == 2 and second.path == left and second.sha256 == sha
    assert snap.read_snapshot(project, 2)["dataset_id"].eq(gold).all()
    assert not [p for p in (home / "snapshots").iterdir() if p.name.startswith(".incoming-")]


def _scored_runs(project, rng) -> list[str]:
    """Two JNLI runs of random sentences; the first with stored predictions (ties and missing scores
    included), some rows of both flagged or relabeled."""
    import numpy as np

    words = ["犬", "猫", "公園", "男性が", "いる", "走って", "駅で", "寝ています"]

    def sentence() -> str:
        return "".join(rng.choice(words) for _ in range(rng.randint(1, 4)))

    labels = ["entailment", "contradiction", "neutral"]
    runs = [
        make_run(project, [(sentence(), sentence(), rng.choice(labels)) for _ in range(400)], run_id=name)
        for name in ("jnli-run-a", "jnli-run-b")
    ]
    quality = np.array([rng.choice([0.1, 0.5, 0.9, rng.random(), None]) for _ in range(400)], dtype=object)
    with project.db.transaction() as con:
        con.execute(
            "INSERT INTO analysis_results (id, kind, dataset_id, signature, result) "
            "VALUES ('correctness-test', 'correctness', ?, 'test', '{}')",
            [runs[0]],
        )
        con.register(
            "p",
            pd.DataFrame(
                {
                    "analysis_id": "correctness-test",
                    "dataset_id": runs[0],
                    "row_idx": np.arange(400, dtype=np.int32),
                    "predicted": [rng.choice(labels) for _ in range(400)],
                    "score": None,
                    "probabilities": None,
                    "confidence": 0.5,
                    "label_quality": quality,
                    "is_issue": [rng.random() < 0.2 for _ in range(400)],
                }
            ),
        )
        con.execute("INSERT INTO example_predictions BY NAME SELECT * FROM p")
    task = project.registry["jnli"]
    for run in runs:
        ev.apply(project, task, [(run, r) for r in range(0, 400, 7)], Action("flag", ev.FLAGS[0]), reviewer="t")
        ev.apply(project, task, [(run, r) for r in range(3, 400, 11)], Action("relabel", "neutral"), reviewer="t")
    return runs


def test_a_page_read_while_another_process_starts_a_rebuild_waits_for_it(project, monkeypatch):
    """Between preparing the queue index and reading it, another process may begin rebuilding a dataset's
    index (it drops the state row, then rewrites the rows chunk by chunk). The page notices and prepares
    again, so its count and rows agree with the whole index; an index that never settles is an error."""
    import random

    from japagen_core.errors import StoreError

    rng = random.Random(7)
    run = _scored_runs(project, rng)[0]
    prepare = q._prepare_index
    calls = []

    def rebuild_starts_after(*args, **kwargs):
        found = prepare(*args, **kwargs)
        calls.append(1)
        if len(calls) == 1 or always:  # what _refresh_in_chunks leaves partway through
            with project.db.transaction() as con:
                con.execute("DELETE FROM review_index_state WHERE dataset_id = ?", [run])
                con.execute("DELETE FROM review_index WHERE dataset_id = ? AND row_idx >= 200", [run])
        return found

    monkeypatch.setattr(q, "_prepare_index", rebuild_starts_after)
    always = False
    with project.db.transaction() as con:
        want = con.execute("SELECT count(*) FROM examples WHERE dataset_id = ? AND contains(text || coalesce(text_b, ''), '犬')",
                           [run]).fetchall()[0][0]  # fmt: skip
    page = q.queue_page(project, q.QueueFilter([run], text="犬"), limit=500)
    assert 0 < want == page.total == len(page.rows) and len(calls) == 2
    assert len(q.queue_page(project, q.QueueFilter([run]), limit=500).rows) == 400
    always = True
    with pytest.raises(StoreError, match="kept being rebuilt"):
        q.queue_page(project, q.QueueFilter([run], text="犬"))


def test_text_pages_equal_a_scan_whichever_way_they_are_found(project, monkeypatch):
    """A text query is verified only among the rows the other conditions leave, counted from the index,
    and paged by reading the queue in order a probe at a time (doubling, then falling back to the
    semi-join): every count, page and text equals a plain scan of the queue index (``contains``) with
    the same conditions, over both orders, two datasets, offsets and the other filters; and the pages
    are the same whichever way they are found, texts from memory or from the store."""
    import random
    from dataclasses import replace

    rng = random.Random(5)
    runs = _scored_runs(project, rng)
    filters = []
    for text, datasets in (("犬", runs), ("寝ています", [runs[0]]), ("駅で寝", runs)):
        for other in ({}, {"state": "flagged"}, {"min_suspicion": 0.5, "assigned": ["neutral"]},
                      {"issues_only": True, "order": "row"}, {"state": "unreviewed", "predicted": ["neutral"]}):  # fmt: skip
            filters.append(q.QueueFilter(datasets, text=text, **other))

    def scan(f, offset):
        where, params = q._where(replace(f, text=None))
        where += " AND (contains(r.text, ?) OR contains(coalesce(r.text_b, ''), ?))"
        order = (
            "r.suspicion DESC NULLS LAST, r.dataset_id, r.row_idx"
            if f.order == "suspicion"
            else "r.dataset_id, r.row_idx"
        )
        with project.db.transaction() as con:
            total = con.execute(f"SELECT count(*) FROM review_index r WHERE {where}", [*params, f.text, f.text])
            total = total.fetchall()[0][0]
            rows = con.execute(
                f"SELECT dataset_id, row_idx, text, text_b FROM review_index r WHERE {where} ORDER BY {order} LIMIT 7 OFFSET ?",
                [*params, f.text, f.text, offset],
            ).fetchall()
        return total, [(d, int(r), a, b) for d, r, a, b in rows]

    def pages(f):
        return [
            (p.total, p.rows.to_dict("records")) for p in (q.queue_page(project, f, offset=o, limit=7) for o in (0, 60))
        ]

    with monkeypatch.context() as m:  # DuckDB's semi-join, and the texts read from the store
        m.setattr(q, "PROBE_LIMIT", 0)
        m.setattr(textindex.TextIndex, "texts", lambda self, rows: None)
        want = {f: pages(f) for f in filters}
    assert any(total > 60 for results in want.values() for total, _ in results)
    for f, results in want.items():
        for offset, (total, rows) in zip((0, 60), results, strict=True):
            expected_total, expected = scan(f, min(offset, max(0, total - 1)))
            got = [(r["dataset_id"], int(r["row_idx"]), r["text"], r["text_b"]) for r in rows]
            assert (total, got) == (expected_total, expected), (f, offset)
    for probe_limit in (16, 65_536):  # the fallback after doubling past the limit, and the probe itself
        monkeypatch.setattr(q, "PROBE_LIMIT", probe_limit)
        for f in filters:
            got = pages(f)
            assert [t for t, _ in got] == [t for t, _ in want[f]], f
            for (_, rows), (_, expected) in zip(got, want[f], strict=True):
                assert pd.DataFrame(rows).equals(pd.DataFrame(expected)), f
    with project.db.transaction() as con:  # the pages above took their texts from these, not the store
        assert all(textindex.cached(project.text_indexes, project.db, con, run) is not None for run in runs)
