"""Benchmark: the review-queue query at 1,000,000 examples with 100,000 review events.

japagen: the real path the Review page calls (``japagen_core.review.queue.queue_page``: the newest
analysis, the stored queue index, the text filter from the in-memory index, the count and a page of 50
ranked by suspicion), with the store kept open between reads as app/resources.py sets it. Baseline:
what a user with the store would otherwise run: one SQL join of examples, review state and the
analysis' predictions (``contains`` for the text), count and page in one query, on a DuckDB connection
kept open in the same process. Both answer the same mixed queries (checked identical); p50/p95 per case
(no text, a text of 1-3 characters, one of 4+), the ratio and the target (p95 <= 100 ms), with the
machine's load.

    .venv/bin/python bench/review.py [--rows 1000000] [--events 100000] [--repeats 60] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.browse import make_frame, stats
from japagen_core.project import Project
from japagen_core.review import events as ev
from japagen_core.review import queue as q
from japagen_core.settings import Settings
from japagen_core.storage import repository as repo
from japagen_core.storage.db import KEEP_OPEN_SECONDS

LABELS = ["entailment", "contradiction", "neutral"]
WORDS = ["公園", "海", "台所", "駅", "山", "学校", "病院", "空港", "商店街"]
RUN = "jnli-bench-run"


def build(project: Project, rows: int, n_events: int, seed: int = 0) -> None:
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


SHORT = ["犬", "駅", "の", "公園", "台所", "ネコ", "海辺で"]
LONG = ["寝ています", "自転車が", "猫が駅で寝", "部屋で寝ています", "男性が公園"]
TARGET_MS = 100.0
CASES = (("no text", None), ("text 1-3 chars", SHORT), ("text 4+ chars", LONG))


def queries(n: int, seed: int = 1) -> list[tuple[str, q.QueueFilter]]:
    """``n`` filters per case, drawn from what people combine: labels, a drill-down cell, review state,
    suspicion, the cleanlab verdict, KADG words, a text."""
    rng, out = random.Random(seed), []
    for case, texts in CASES:
        for _ in range(n):
            options: dict = {}
            pick = rng.random()
            if pick < 0.3:
                options["assigned"] = rng.sample(LABELS, rng.choice([1, 2]))
            elif pick < 0.5:
                options["assigned"], options["predicted"] = [rng.choice(LABELS)], [rng.choice(LABELS)]
            if rng.random() < 0.4:
                options["state"] = rng.choice(["unreviewed", "flagged", "relabeled"])
            if rng.random() < 0.2:
                options["min_suspicion"] = rng.choice([0.5, 0.8, 0.95])
            if rng.random() < 0.2:
                options["issues_only"] = True
            if rng.random() < 0.2:
                options["kadg_words"] = rng.sample(WORDS, 2)
            if texts:
                options["text"] = rng.choice(texts)
            out.append((case, q.QueueFilter([RUN], **options)))
    rng.shuffle(out)
    return out


def baseline(con: duckdb.DuckDBPyConnection, analysis: str, f: q.QueueFilter, limit: int = 50) -> tuple[int, list]:
    """The same page from one SQL join over the stored tables: (total, [(dataset_id, row_idx), ...])."""
    where, params = ["e.dataset_id = ?"], [RUN]
    for column, values in (("e.label", f.assigned), ("p.predicted", f.predicted),
                           ("json_extract_string(e.provenance, '$.kadg_word')", f.kadg_words)):  # fmt: skip
        if values:
            where.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params += list(values)
    state = {"unreviewed": "coalesce(s.events, 0) = 0", "flagged": "s.flag IS NOT NULL",
             "relabeled": "(s.label IS NOT NULL OR s.score IS NOT NULL)"}.get(f.state)  # fmt: skip
    if state:
        where.append(state)
    if f.min_suspicion is not None:
        where.append("1 - p.label_quality >= ?")
        params.append(f.min_suspicion)
    if f.issues_only:
        where.append("p.is_issue")
    if f.text:  # the queries are Japanese: no case to fold
        where.append("(contains(e.text, ?) OR contains(e.text_b, ?))")
        params += [f.text, f.text]
    rows = con.execute(
        f"""SELECT e.dataset_id, e.row_idx, count(*) OVER () AS total FROM examples e
        LEFT JOIN review_state s USING (dataset_id, row_idx)
        LEFT JOIN example_predictions p ON p.analysis_id = ? AND p.dataset_id = e.dataset_id AND p.row_idx = e.row_idx
        WHERE {" AND ".join(where)}
        ORDER BY 1 - p.label_quality DESC NULLS LAST, e.dataset_id, e.row_idx LIMIT ?""",
        [analysis, *params, limit],
    ).fetchall()
    return (rows[0][2] if rows else 0), [(d, int(r)) for d, r, _ in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=60, help="queries in all, split over the three cases")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    say = (lambda *a: None) if args.json else print
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as home:
        project = Project.open(Settings.from_env({"JAPAGEN_HOME": home}))
        start = time.perf_counter()
        build(project, args.rows, args.events)
        with project.db.transaction() as con:
            n_events = con.execute("SELECT count(*) FROM review_events").fetchall()[0][0]
        project.db.keep_open = KEEP_OPEN_SECONDS  # as the app does (app/resources.py)
        mix = queries(max(1, args.repeats // len(CASES)))
        first = q.queue_page(project, mix[0][1], limit=50)  # builds the stored queue index once
        analysis = first.analyses[RUN]
        say(f"setup: {args.rows:,} examples, {n_events:,} events in {time.perf_counter() - start:.1f} s")
        project.db.release()  # a process attaches a file once: the baseline's connection comes next
        base, want = [], []
        with duckdb.connect(str(project.db.path), read_only=True) as con:
            baseline(con, analysis, mix[0][1])  # warm, as japagen's first call
            for _, f in mix:
                t = time.perf_counter()
                want.append(baseline(con, analysis, f))
                base.append((time.perf_counter() - t) * 1000)
        fast = []
        q.queue_page(project, mix[0][1], limit=50)  # warm
        for (_, f), expected in zip(mix, want, strict=True):
            t = time.perf_counter()
            page = q.queue_page(project, f, limit=50)
            fast.append((time.perf_counter() - t) * 1000)
            got = (
                page.total,
                [(d, int(r)) for d, r in zip(page.rows["dataset_id"], page.rows["row_idx"], strict=True)],
            )
            assert got == expected, (f, got[0], expected[0])
        project.db.release()

    out = {"machine_load": {"before": load_before, "after": os.getloadavg()}, "rows": args.rows,
           "events": n_events, "cases": []}  # fmt: skip
    for case, _ in CASES:
        j = stats([t for t, (c, _) in zip(fast, mix, strict=True) if c == case])
        b = stats([t for t, (c, _) in zip(base, mix, strict=True) if c == case])
        out["cases"].append({"name": f"review queue, {case}, {args.rows:,} rows + {n_events:,} events, p95",
                             "japagen": j, "baseline": {**b, "what": "one SQL join, connection kept open"},
                             "ratio": b["p95_ms"] / j["p95_ms"], "target": f"p95 <= {TARGET_MS:g} ms",
                             "met": j["p95_ms"] <= TARGET_MS})  # fmt: skip
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"load average before {load_before}, after {out['machine_load']['after']}")
    print(f"{'case':64}{'japagen p50/p95 ms':>22}{'baseline p50/p95 ms':>22}{'ratio':>8}  target")
    for c in out["cases"]:
        j, b = c["japagen"], c["baseline"]
        print(f"{c['name']:64}{j['p50_ms']:>11.1f}/{j['p95_ms']:<10.1f}{b['p50_ms']:>11.1f}/{b['p95_ms']:<10.1f}"
              f"{c['ratio']:>7.1f}x  {c['target']}: {'met' if c['met'] else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
