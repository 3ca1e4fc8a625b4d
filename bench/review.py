"""Benchmark: the review-queue query at 1,000,000 examples with 100,000 review events.

Times the real queue path (``japagen_core.review.queue.queue_page``: find the newest analysis, open the
DuckDB file, count the matches, fetch a page of 50 ranked by suspicion, close) over a mix of the
filters people use, against a naive baseline in the same run: the same queries answered by folding the
event log at query time with pandas (examples and predictions already held in memory, which favours
the baseline). Prints p50/p95 of each and the ratio. Target: queue p95 <= 100 ms.

    .venv/bin/python bench/review.py [--rows 1000000] [--events 100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.browse import make_frame
from japagen_core.project import Project
from japagen_core.review import events as ev
from japagen_core.review import queue as q
from japagen_core.settings import Settings
from japagen_core.storage import repository as repo

LABELS = ["entailment", "contradiction", "neutral"]
WORDS = ["公園", "海", "台所", "駅", "山", "学校", "病院", "空港", "商店街"]
RUN = "jnli-bench-run"


def build(project: Project, rows: int, n_events: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A synthetic JNLI run with KADG provenance, one stored analysis with cleanlab-style scores, and
    ``n_events`` review events over random rows (written through the real event path in batches)."""
    rng = np.random.default_rng(seed)
    frame = make_frame(rows, seed)
    words = rng.choice(WORDS, rows)
    frame["provenance"] = [json.dumps({"setting": "kadg", "kadg_word": w}, ensure_ascii=False) for w in words]
    info = repo.DatasetInfo(RUN, "jnli", "synthetic", "synthetic", "bench run", "llm", "llm", RUN, False, rows)
    with project.db.transaction() as con:
        repo.insert_dataset(con, info, frame)
        con.execute(
            "INSERT INTO analysis_results (id, kind, dataset_id, signature, result) "
            "VALUES ('correctness-bench', 'correctness', ?, 'bench', '{}')",
            [RUN],
        )
    predictions = pd.DataFrame(
        {
            "analysis_id": "correctness-bench",
            "dataset_id": RUN,
            "row_idx": np.arange(rows, dtype=np.int32),
            "predicted": rng.choice(LABELS, rows),
            "score": None,
            "probabilities": None,
            "confidence": rng.random(rows),
            "label_quality": rng.random(rows),
            "is_issue": rng.random(rows) < 0.05,
        }
    )
    with project.db.transaction() as con:
        con.register("p", predictions)
        con.execute("INSERT INTO example_predictions BY NAME SELECT * FROM p")
        con.unregister("p")
    task = project.registry["jnli"]
    actions = [ev.Action("relabel", name) for name in LABELS] + [ev.Action("flag", f) for f in ev.FLAGS]
    written, batch = 0, 2000
    while written < n_events:
        keys = [(RUN, int(r)) for r in rng.integers(0, rows, batch)]
        action = actions[int(rng.integers(len(actions)))]
        written += ev.apply(project, task, keys, action, reviewer="bench")[1]
    project.text_index(RUN)  # built once per process, as the app's first text query does
    frame["kadg_word"] = words
    return frame, predictions


def queries() -> list[q.QueueFilter]:
    return [
        q.QueueFilter([RUN]),  # the default: everything, most suspicious first
        q.QueueFilter([RUN], assigned=["neutral"], predicted=["entailment"]),  # a drill-down cell
        q.QueueFilter([RUN], state="flagged"),
        q.QueueFilter([RUN], state="unreviewed", min_suspicion=0.8),
        q.QueueFilter([RUN], kadg_words=["台所"], issues_only=True),
        q.QueueFilter([RUN], text="公園", assigned=["neutral"]),
        q.QueueFilter([RUN], state="relabeled"),
        q.QueueFilter([RUN], text="寝ています"),  # longer than the gram index: a scan of the texts
    ]


def naive(project: Project, examples: pd.DataFrame, predictions: pd.DataFrame, f: q.QueueFilter) -> pd.DataFrame:
    """Fold the event log at query time (pandas), then filter and rank the in-memory examples."""
    with project.db.transaction() as con:
        log = con.execute(
            "SELECT id, dataset_id, row_idx, action, new_value, undoes FROM review_events ORDER BY id"
        ).df()
    undone = set(log.loc[log["action"] == "undo", "undoes"])
    live = log[(log["action"] != "undo") & ~log["id"].isin(undone)]
    relabel = live[live["action"] == "relabel"].groupby("row_idx")["new_value"].last().rename("relabel")
    flags = live[live["action"].isin(["flag", "unflag"])].groupby("row_idx").last()
    flag = flags["new_value"].where(flags["action"] == "flag").rename("flag")
    counts = log.groupby("row_idx").size().rename("events")
    frame = examples.join(relabel, on="row_idx").join(flag, on="row_idx").join(counts, on="row_idx")
    frame = frame.merge(predictions[["row_idx", "predicted", "label_quality", "is_issue"]], on="row_idx")
    mask = pd.Series(True, index=frame.index)
    if f.assigned:
        mask &= frame["label"].isin(f.assigned)
    if f.predicted:
        mask &= frame["predicted"].isin(f.predicted)
    if f.state == "flagged":
        mask &= frame["flag"].notna()
    elif f.state == "unreviewed":
        mask &= frame["events"].isna()
    elif f.state == "relabeled":
        mask &= frame["relabel"].notna()
    if f.min_suspicion is not None:
        mask &= (1 - frame["label_quality"]) >= f.min_suspicion
    if f.issues_only:
        mask &= frame["is_issue"]
    if f.kadg_words:
        mask &= frame["kadg_word"].isin(f.kadg_words)
    if f.text:
        mask &= frame["text"].str.contains(f.text, regex=False) | frame["text_b"].str.contains(f.text, regex=False)
    hits = frame[mask]
    if f.order == "suspicion":
        return hits.nsmallest(50, "label_quality")
    return hits.head(50)


def timed(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        project = Project.open(Settings.from_env({"JAPAGEN_HOME": home}))
        start = time.perf_counter()
        examples, predictions = build(project, args.rows, args.events)
        with project.db.transaction() as con:
            n_events = con.execute("SELECT count(*) FROM review_events").fetchall()[0][0]
        print(f"setup: {args.rows:,} examples, {n_events:,} events in {time.perf_counter() - start:.1f} s")
        fast, slow = [], []
        for f in queries():
            page = q.queue_page(project, f, limit=50)  # warm the file cache once per query
            fast_times = timed(lambda f=f: q.queue_page(project, f, limit=50), args.repeats)
            slow_times = timed(lambda f=f: naive(project, examples, predictions, f), max(1, args.repeats // 2))
            fast += fast_times
            slow += slow_times
            print(
                f"  {page.total:>9,} matches  queue p50 {statistics.median(fast_times):7.1f} ms  "
                f"naive p50 {statistics.median(slow_times):8.1f} ms  {_describe(f)}"
            )
        print(f"queue (DuckDB, cached state)  p50 {statistics.median(fast):7.1f} ms  p95 {p95(fast):7.1f} ms")
        print(f"naive (fold log in pandas)    p50 {statistics.median(slow):7.1f} ms  p95 {p95(slow):7.1f} ms")
        print(f"ratio (naive / queue, p95): {p95(slow) / p95(fast):.1f}x   target queue p95 <= 100 ms: "
              f"{'met' if p95(fast) <= 100 else 'NOT met'}")  # fmt: skip


def _describe(f: q.QueueFilter) -> str:
    parts = [f"{k}={v}" for k, v in vars(f).items() if k != "datasets" and v not in ((), None, False, "any")]
    return ", ".join(parts) or "no filter"


if __name__ == "__main__":
    main()
