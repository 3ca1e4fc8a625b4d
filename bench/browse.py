"""Benchmark: the Browse query over 1,000,000 generated rows.

Times the real Browse path (``Project.browse``: open the DuckDB file, count the matches, fetch a page
of 50 filtered by label + substring, close) against a pandas full scan of the same data held in memory,
in the same run, and prints p50/p95 of each and the ratio. Target: Browse p95 <= 50 ms.

    .venv/bin/python bench/browse.py [--rows 1000000] [--repeats 60]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from japagen_core.project import Project
from japagen_core.settings import Settings
from japagen_core.storage import repository as repo

SUBJECTS = ["犬", "猫", "男性", "女性", "子供", "電車", "自転車", "鳥", "馬", "車"]
PLACES = ["公園", "駅", "海辺", "道路", "部屋", "台所", "山道", "広場", "橋の上", "店先"]
ACTIONS = ["走っています", "座っています", "立っています", "寝ています", "遊んでいます", "歩いています"]
# One to five characters; common words, a phrase, rare strings (numbers) and one that never occurs.
QUERIES = ["犬", "駅", "公園", "台所", "ネコ", "自転車", "海辺で", "7345", "猫が駅で寝", "部屋で寝ています"]


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def sentences() -> np.ndarray:
        s = rng.choice(SUBJECTS, rows).astype(object)
        p = rng.choice(PLACES, rows).astype(object)
        a = rng.choice(ACTIONS, rows).astype(object)
        n = rng.integers(0, 10_000, rows).astype(str).astype(object)
        return s + "が" + p + "で" + a + "。" + n

    return pd.DataFrame(
        {
            "row_idx": np.arange(rows, dtype=np.int32),
            "text": sentences(),
            "text_b": sentences(),
            "label": rng.choice(["entailment", "contradiction", "neutral"], rows, p=[0.15, 0.3, 0.55]),
            "score": None,
            "split": "train",
            "source": "bench",
            "source_id": None,
            "provenance": None,
        }
    )


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def pandas_browse(frame: pd.DataFrame, labels: list[str], query: str) -> pd.DataFrame:
    """The baseline: a full scan of the in-memory frame; returns every match in source order."""
    mask = frame["label"].isin(labels) & (
        frame["text"].str.contains(query, case=False, regex=False)
        | frame["text_b"].str.contains(query, case=False, regex=False)
    )
    return frame[mask]


def check(page, matches: pd.DataFrame, offset: int) -> None:
    """Browse must agree with the scan: the same total and the same page of rows."""
    assert page.total == len(matches), (len(matches), page.total)
    want = offset if offset < page.total else max(0, (page.total - 1) // 50 * 50)
    assert page.offset == want, (page.offset, want)
    assert list(page.rows["row_idx"]) == list(matches["row_idx"].iloc[want : want + 50]), "rows differ"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=60)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as home:
        project = Project.open(Settings(home=Path(home), prompts_dir=Path(home) / "none"))
        task = project.registry["jnli"]
        frame = make_frame(args.rows)
        t0 = time.perf_counter()
        info = repo.DatasetInfo(
            "bench-1m", "jnli", "train", "synthetic", "bench", "bench", "bench", "x", False, len(frame)
        )
        with project.db.transaction() as con:
            repo.insert_dataset(con, info, frame)
        t1 = time.perf_counter()
        state = repo.build_gram_index(project.db, "bench-1m")
        t2 = time.perf_counter()
        print(f"inserted {args.rows:,} rows in {t1 - t0:.1f} s; gram index ({state}) in {t2 - t1:.1f} s")

        rng = random.Random(1)
        cases = [
            (rng.sample(task.label_names, rng.choice([1, 2])), rng.choice(QUERIES), rng.choice([0, 50, 500]))
            for _ in range(args.repeats)
        ]
        # Warm up both paths once (DuckDB opens the file, pandas touches the arrays).
        project.browse("bench-1m", labels=cases[0][0], query=cases[0][1])
        pandas_browse(frame, cases[0][0], cases[0][1])

        # Each path runs its own loop so neither pays for the other's memory churn.
        fast, base, kinds, pages = [], [], {}, []
        for labels, query, offset in cases:
            t = time.perf_counter()
            pages.append(project.browse("bench-1m", labels=labels, query=query, offset=offset, limit=50))
            fast.append((time.perf_counter() - t) * 1000)
            kinds.setdefault(query, []).append(fast[-1])
        for (labels, query, offset), page in zip(cases, pages, strict=True):
            t = time.perf_counter()
            matches = pandas_browse(frame, labels, query)
            matches.iloc[offset : offset + 50]
            base.append((time.perf_counter() - t) * 1000)
            check(page, matches, offset)

    p50f, p95f = percentile(fast, 50), percentile(fast, 95)
    p50b, p95b = percentile(base, 50), percentile(base, 95)
    print(f"Browse query over {args.rows:,} rows, label filter + substring, page of 50, {len(cases)} queries")
    print(f"{'':34}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    print(f"{'japagen (DuckDB, per call)':34}{p50f:>10.1f}{p95f:>10.1f}{statistics.mean(fast):>10.1f}")
    for name, keep in (
        ("  queries of 1-3 chars (gram index)", lambda q: len(q) <= 3),
        ("  queries of 4+ chars (text scan)", lambda q: len(q) > 3),
    ):
        times = [t for q, v in kinds.items() if keep(q) for t in v]
        print(f"{name:34}{percentile(times, 50):>10.1f}{percentile(times, 95):>10.1f}{statistics.mean(times):>10.1f}")
    print(f"{'baseline (pandas full scan)':34}{p50b:>10.1f}{p95b:>10.1f}{statistics.mean(base):>10.1f}")
    print(f"ratio baseline/japagen: p50 {p50b / p50f:.1f}x, p95 {p95b / p95f:.1f}x")
    print("japagen median ms per query: " + ", ".join(f"{q} {statistics.median(v):.0f}" for q, v in kinds.items()))
    print(f"target p95 <= 50 ms: {'met' if p95f <= 50 else 'NOT met'} ({p95f:.1f} ms over all queries)")


if __name__ == "__main__":
    main()
