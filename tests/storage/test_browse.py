"""Browse against a brute-force filter of the same rows, through every search path."""

import itertools
import random
from pathlib import Path

import pandas as pd
import pytest

from japagen_core.storage import Database, textindex
from japagen_core.storage import repository as repo
from japagen_core.tasks import load_registry

REGISTRY = load_registry(None)
WORDS = ["犬", "猫", "公園", "自転車", "iPhone", "Café", "走って", "います", "海辺", "7345", "ab", "AB"]


def _rows(n: int, *, pair: bool, score: bool, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)

    def sentence() -> str:
        return "".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5))) + "。"

    return pd.DataFrame(
        {
            "row_idx": range(n),
            "text": [sentence() for _ in range(n)],
            "text_b": [sentence() for _ in range(n)] if pair else None,
            "label": None if score else [rng.choice(["entailment", "contradiction", "neutral"]) for _ in range(n)],
            "score": [round(rng.uniform(0, 5), 1) for _ in range(n)] if score else None,
            "split": "train",
            "source": "test",
        }
    )


def _store(tmp_path: Path, task_name: str, frame: pd.DataFrame) -> Database:
    db = Database(tmp_path / "j.duckdb")
    info = repo.DatasetInfo("d", task_name, "train", "gold", "d", "t", "jsonl", "x", False, len(frame))
    with db.transaction() as con:
        repo.insert_dataset(con, info, frame)
    return db


def _expected(task, frame: pd.DataFrame, labels, query) -> list[int]:
    keep = []
    for row in frame.itertuples():
        label = row.label if task.target == "class" else task.grade_for_score(row.score)
        if labels and label not in labels:
            continue
        texts = [row.text] + ([row.text_b] if isinstance(row.text_b, str) else [])
        if query and not any(query.lower() in t.lower() for t in texts):
            continue
        keep.append(row.row_idx)
    return keep


QUERIES = [None, "犬", "公園", "公園犬", "自転車", "iphone", "CAFÉ", "ab", "7345", "います。", "ない", "走っています犬"]


@pytest.mark.parametrize("task_name", ["jnli", "jsts"])
def test_browse_agrees_with_brute_force(tmp_path, task_name):
    task = REGISTRY[task_name]
    frame = _rows(400, pair=True, score=task.target == "score")
    db = _store(tmp_path, task_name, frame)
    label_choices = [None, [task.label_names[0]], task.label_names[1:3]]
    index, _ = textindex.load(db, "d", task.target)
    with db.transaction() as con:
        for query, labels, offset, use_index in itertools.product(
            QUERIES, label_choices, (0, 7, 10_000), (False, True)
        ):
            want = _expected(task, frame, labels, query)  # the scan and the in-memory index give the same pages
            page = repo.browse(
                con, task, "d", labels=labels, query=query, offset=offset, limit=7, index=index if use_index else None
            )
            assert page.total == len(want), (query, labels)
            start = offset if offset < len(want) else max(0, (len(want) - 1) // 7 * 7)
            assert page.offset == start
            assert list(page.rows["row_idx"]) == want[start : start + 7], (query, labels, offset)


def test_single_text_task_and_deleted_datasets(tmp_path):
    task = REGISTRY["jcola"]
    frame = _rows(50, pair=False, score=False).assign(label="acceptable")
    db = _store(tmp_path, "jcola", frame)
    with db.transaction() as con:
        page = repo.browse(con, task, "d", query="公園")
        assert page.total == len(_expected(task, frame, None, "公園")) > 0
        assert page.rows["text_b"].isna().all()
        repo.delete_dataset(con, "d")
        assert con.execute("SELECT count(*) FROM examples").fetchall() == [(0,)]


def test_label_counts_are_kept_per_dataset_version(tmp_path: Path):
    from japagen_core.project import Project
    from japagen_core.settings import Settings

    project = Project.open(Settings(home=tmp_path, prompts_dir=tmp_path / "none"))
    frame = _rows(30, pair=True, score=False)
    info = repo.DatasetInfo("d", "jnli", "train", "gold", "d", "t", "jsonl", "x", False, len(frame))
    with project.db.transaction() as con:
        repo.insert_dataset(con, info, frame)
    expected = frame["label"].value_counts().to_dict()
    [first] = project.datasets()
    assert first["counts"] == expected
    with project.db.transaction() as con:  # what a counting scan would see now; the cache answers instead
        con.execute("UPDATE examples SET label = 'neutral'")
    assert project.datasets()[0]["counts"] == expected
    with project.db.transaction() as con:  # the dataset re-created: a new version, counted again
        repo.delete_dataset(con, "d")
        repo.insert_dataset(con, info, frame.assign(label="neutral"))
    assert project.datasets()[0]["counts"] == {"neutral": 30}


def test_search_within_rows_and_texts_by_row_id():
    """``within`` restricts a search to some row ids (any order; ids the index lacks are ignored), over
    several blocks searched side by side, with row ids that are not positions; ``texts`` returns a
    page's texts by row id, or None for an id the index lacks."""
    import numpy as np
    import pyarrow as pa

    from japagen_core.storage import textindex

    n = textindex.BLOCK + 5000
    ids = np.arange(n, dtype=np.int64) * 3 + 7  # not 0..n-1
    text = ["猫が公園で寝ています" if i % 5 == 0 else "犬が駅で走っています" for i in range(n)]
    table = pa.table(
        {
            "row_idx": ids,
            "label_key": ["a"] * n,
            "text": text,
            "text_b": pa.nulls(n, pa.string()),
            "text_lower": pa.nulls(n, pa.string()),
            "text_b_lower": pa.nulls(n, pa.string()),
        }
    )
    index = textindex.TextIndex([table])
    every = index.search("公園で寝て")
    assert list(every) == [ids[i] for i in range(n) if i % 5 == 0]
    within = np.concatenate([ids[::2][::-1], [1, 2, 10**9]])  # reversed, plus ids not in the index
    assert list(index.search("公園で寝て", within=within)) == [ids[i] for i in range(n) if i % 10 == 0]
    assert list(index.search("公園で寝て", within=np.zeros(0, np.int64))) == []
    assert index.texts(np.array([ids[5], ids[1]])) == (["猫が公園で寝ています", "犬が駅で走っています"], [None, None])
    assert index.texts(np.array([ids[5], 8])) is None


def test_a_cache_lookup_does_not_wait_for_another_sessions_build():
    """A queue page looks up its texts' index inside a store transaction: that lookup must not wait while
    another session builds an index (seconds at 1M rows). Two sessions asking for one index build it once."""
    import threading

    cache = textindex.TextIndexCache()
    started, release, builds = threading.Event(), threading.Event(), []

    def slow_build():
        builds.append(1)
        started.set()
        assert release.wait(10)
        return "built"  # any object stands for an index here

    results = []
    first = threading.Thread(target=lambda: results.append(cache.get(("db", "d", 1), slow_build)))
    second = threading.Thread(target=lambda: results.append(cache.get(("db", "d", 1), slow_build)))
    first.start()
    assert started.wait(10)
    second.start()
    looked_up = threading.Thread(target=lambda: results.append(cache.peek(("db", "other", 1))))
    looked_up.start()
    looked_up.join(2)
    assert not looked_up.is_alive() and results == [None]  # answered while the build is still running
    assert cache.peek(("db", "d", 1)) is None  # not there until built
    release.set()
    first.join(10)
    second.join(10)
    assert results[1:] == ["built", "built"] and len(builds) == 1
    assert cache.peek(("db", "d", 1)) == "built"
