"""Benchmark: importing and browsing 1,000,000 generated pairs.

Import: ``staging.write_datasets`` (short transactions, as the importers and a run's ingest write):
total time, the longest single transaction, the store's size and this process's peak RSS.

Browse: the real path (``Project.browse``: open the store, answer the label + substring filter from
the in-memory index, read the page of 50, close) against what a user would otherwise run: DuckDB's
own ``contains`` scan on a connection kept open, in the same process (``repository.browse`` without an
index: count and page from one scan). Both answer the same queries (checked identical); p50/p95 per
query length, the ratio and the target (p95 <= 50 ms), with the machine's load.

    .venv/bin/python bench/browse.py [--rows 1000000] [--repeats 60] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from japagen_core.project import Project
from japagen_core.settings import Settings
from japagen_core.storage import repository as repo
from japagen_core.storage import staging

SUBJECTS = ["犬", "猫", "男性", "女性", "子供", "電車", "自転車", "鳥", "馬", "車"]
PLACES = ["公園", "駅", "海辺", "道路", "部屋", "台所", "山道", "広場", "橋の上", "店先"]
ACTIONS = ["走っています", "座っています", "立っています", "寝ています", "遊んでいます", "歩いています"]
# One to eight characters; common words, a phrase, rare strings (numbers) and one that never occurs.
QUERIES = ["犬", "駅", "の", "公園", "台所", "ネコ", "自転車", "海辺で", "7345", "猫が駅で寝", "部屋で寝ています"]
TARGET_MS = 50.0


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


def stats(values: list[float]) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(values, 50)), "p95_ms": float(np.percentile(values, 95)), "n": len(values)}


def import_rows(project: Project, rows: int) -> dict[str, float]:
    frame = make_frame(rows)
    info = repo.DatasetInfo("bench-1m", "jnli", "train", "synthetic", "bench", "bench", "bench", "x", False, rows)
    longest, original = [0.0], project.db.transaction

    @contextlib.contextmanager
    def timed():  # the time each transaction holds the file, from open to closed
        with original() as con:
            began = time.monotonic()
            yield con
        longest[0] = max(longest[0], time.monotonic() - began)

    project.db.transaction = timed
    began = time.perf_counter()
    staging.write_datasets(project.db, [(info, frame)])
    took = time.perf_counter() - began
    project.db.transaction = original
    return {
        "seconds": took,
        "longest_transaction_s": longest[0],
        "store_mib": project.db.path.stat().st_size / 2**20,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=60, help="queries per case")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    say = (lambda *a: None) if args.json else print
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory() as home:
        project = Project.open(Settings(home=Path(home), prompts_dir=Path(home) / "none"))
        task = project.registry["jnli"]
        imported = import_rows(project, args.rows)
        say(f"imported {args.rows:,} pairs in {imported['seconds']:.1f} s (longest transaction "
            f"{imported['longest_transaction_s']:.2f} s), store {imported['store_mib']:.0f} MiB, "
            f"peak RSS {imported['peak_rss_mib']:.0f} MiB")  # fmt: skip
        began = time.perf_counter()
        index = project.text_index("bench-1m")
        built = time.perf_counter() - began
        say(f"search index built in {built:.1f} s, {index.nbytes / 2**20:.0f} MiB")

        rng = random.Random(1)
        cases = [
            (rng.sample(task.label_names, rng.choice([1, 2])), query, rng.choice([0, 50, 500]))
            for query in QUERIES
            for _ in range(max(1, args.repeats // len(QUERIES)))
        ]
        rng.shuffle(cases)
        # The baseline: DuckDB's own scan on a connection kept open (closed before japagen's loop: one
        # process may not hold the file twice).
        base, want = [], []
        with duckdb.connect(str(project.db.path), read_only=True) as con:
            repo.browse(con, task, "bench-1m", labels=cases[0][0], query=cases[0][1])  # warm
            for labels, query, offset in cases:
                t = time.perf_counter()
                page = repo.browse(con, task, "bench-1m", labels=labels, query=query, offset=offset)
                base.append((time.perf_counter() - t) * 1000)
                want.append((page.total, page.offset, list(page.rows["row_idx"])))
        fast = []
        for (labels, query, offset), expected in zip(cases, want, strict=True):
            t = time.perf_counter()
            page = project.browse("bench-1m", labels=labels, query=query, offset=offset)
            fast.append((time.perf_counter() - t) * 1000)
            assert (page.total, page.offset, list(page.rows["row_idx"])) == expected, (query, labels, offset)

    out = {"machine_load": {"before": load_before, "after": os.getloadavg()}, "rows": args.rows,
           "import": imported, "index": {"build_s": built, "mib": index.nbytes / 2**20}, "cases": []}  # fmt: skip
    for name, keep in (("browse 1-3 chars", lambda q: len(q) <= 3), ("browse 4+ chars", lambda q: len(q) > 3)):
        mine = [t for t, (_, q, _) in zip(fast, cases, strict=True) if keep(q)]
        theirs = [t for t, (_, q, _) in zip(base, cases, strict=True) if keep(q)]
        j, b = stats(mine), stats(theirs)
        out["cases"].append({"name": f"{name}, {args.rows:,} rows, p95", "japagen": j,
                             "baseline": {**b, "what": "DuckDB contains scan, connection kept open"},
                             "ratio": b["p95_ms"] / j["p95_ms"], "target": f"p95 <= {TARGET_MS:g} ms",
                             "met": j["p95_ms"] <= TARGET_MS})  # fmt: skip
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"load average before {load_before}, after {out['machine_load']['after']}")
    print(f"{'case':44}{'japagen p50/p95 ms':>22}{'baseline p50/p95 ms':>22}{'ratio':>8}  target")
    for case in out["cases"]:
        j, b = case["japagen"], case["baseline"]
        print(f"{case['name']:44}{j['p50_ms']:>11.1f}/{j['p95_ms']:<10.1f}{b['p50_ms']:>11.1f}/{b['p95_ms']:<10.1f}"
              f"{case['ratio']:>7.1f}x  {case['target']}: {'met' if case['met'] else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
