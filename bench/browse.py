"""Benchmark: importing and browsing 1,000,000 pairs.

Import: the CLI (``python -m japagen_core import-gold`` of a JSON Lines file of JNLI-shaped pairs) in a
fresh process: seconds, the store's size and the process's peak RSS (its own ``getrusage``), against
what a user would otherwise run: DuckDB's own ``read_json`` into a table of a fresh file (no checks, no
provenance). Targets: <= 40 s, <= 150 MiB, <= 1 GiB.

Browse: the real path the page calls (``Project.browse`` with the store kept open between reads as
app/resources.py sets it: the label + substring filter from the in-memory index, the page of 50 from
the store) against what a user would otherwise run: DuckDB's own ``contains`` scan on a connection kept
open, in the same process (``repository.browse`` without an index: count and page from one scan). Both
answer the same queries, 1 to 8 characters, labels and offsets mixed (checked identical); p50/p95 per
query length, the ratio and the target (p95 <= 50 ms), with the machine's load.

    .venv/bin/python bench/browse.py [--rows 1000000] [--repeats 60] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
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
from japagen_core.storage.db import KEEP_OPEN_SECONDS

SUBJECTS = ["犬", "猫", "男性", "女性", "子供", "電車", "自転車", "鳥", "馬", "車"]
PLACES = ["公園", "駅", "海辺", "道路", "部屋", "台所", "山道", "広場", "橋の上", "店先"]
ACTIONS = ["走っています", "座っています", "立っています", "寝ています", "遊んでいます", "歩いています"]
# One to eight characters; common words, a phrase, rare strings (numbers) and one that never occurs.
QUERIES = ["犬", "駅", "の", "公園", "台所", "ネコ", "自転車", "海辺で", "7345", "猫が駅で寝", "部屋で寝ています"]
TARGET_MS = 50.0
IMPORT_TARGETS = {"seconds": 40.0, "store_mib": 150.0, "peak_rss_mib": 1024.0}
ROOT = Path(__file__).resolve().parent.parent


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


def write_jsonl(path: Path, rows: int) -> None:
    """``rows`` JNLI-shaped pairs (JGLUE's field names and an extra field, as the gold files have)."""
    frame = make_frame(rows)
    out = pd.DataFrame(
        {
            "sentence_pair_id": frame["row_idx"].astype(str),
            "yjcaptions_id": (frame["row_idx"] * 7 % 100_003).astype(str),
            "sentence1": frame["text"],
            "sentence2": frame["text_b"],
            "label": frame["label"],
        }
    )
    out.to_json(path, orient="records", lines=True, force_ascii=False)


# Runs a command's module in a fresh process and writes its wall time and its own peak RSS. The peak
# is the kernel's high-water mark of this process's memory (VmHWM): getrusage's ru_maxrss of a child
# also counts the parent's peak (Linux carries it over fork and exec), which is this bench's, not the
# command's; ru_maxrss is reported beside it.
_MEASURED = """
import json, re, resource, runpy, sys, time
out, module, *argv = sys.argv[1:]
sys.argv = [module, *argv]
began = time.perf_counter()
try:
    runpy.run_module(module, run_name="__main__", alter_sys=True)
finally:
    status = open("/proc/self/status").read()
    with open(out, "w") as f:
        json.dump({"seconds": time.perf_counter() - began,
                   "peak_rss_mib": int(re.search(r"VmHWM:\\s*(\\d+) kB", status).group(1)) / 1024,
                   "ru_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, f)
"""

_DUCKDB_IMPORT = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE pairs AS SELECT * FROM read_json(?, format = 'newline_delimited')", [sys.argv[2]])
con.close()
"""


def measured(home: Path, module: str, *argv: str) -> tuple[dict, str]:
    report = home / f"{module}.measure.json"
    env = {**os.environ, "JAPAGEN_HOME": str(home / "store"), "PYTHONPATH": f"{ROOT}{os.pathsep}{home}"}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, str(report), module, *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"{module} failed: {done.stderr[-2000:]}")
    return json.loads(report.read_text()), done.stdout


def import_case(home: Path, rows: int) -> tuple[dict, str]:
    data = home / "pairs.jsonl"
    write_jsonl(data, rows)
    mine, out = measured(home, "japagen_core", "import-gold", str(data), "--task", "jnli", "--split", "train", "--json")
    mine["store_mib"] = (home / "store" / "japagen.duckdb").stat().st_size / 2**20
    dataset_id = json.loads(out)[0]["dataset_id"]
    script = home / "duckdb_import.py"
    script.write_text(_DUCKDB_IMPORT)
    theirs, _ = measured(home, "duckdb_import", str(home / "plain.duckdb"), str(data))
    theirs["store_mib"] = (home / "plain.duckdb").stat().st_size / 2**20
    theirs["what"] = "DuckDB read_json into a table, fresh process"
    met = all(mine[k] <= v for k, v in IMPORT_TARGETS.items())
    case = {"name": f"import {rows:,} pairs (CLI import-gold, JSON Lines)", "japagen": mine, "baseline": theirs,
            "ratio": theirs["seconds"] / mine["seconds"],
            "target": "<= 40 s, store <= 150 MiB, peak RSS <= 1 GiB", "met": met}  # fmt: skip
    return case, dataset_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=66, help="queries in all (at least one per query string)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    say = (lambda *a: None) if args.json else print
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        imported, dataset_id = import_case(home, args.rows)
        j, b = imported["japagen"], imported["baseline"]
        say(f"import: {j['seconds']:.1f} s, store {j['store_mib']:.0f} MiB, peak RSS {j['peak_rss_mib']:.0f} MiB "
            f"(DuckDB read_json: {b['seconds']:.1f} s, {b['store_mib']:.0f} MiB, "
            f"{b['peak_rss_mib']:.0f} MiB)")  # fmt: skip
        project = Project.open(Settings(home=home / "store", prompts_dir=home / "none"))
        project.db.keep_open = KEEP_OPEN_SECONDS  # as the app does (app/resources.py)
        task = project.registry["jnli"]
        began = time.perf_counter()
        index = project.text_index(dataset_id)
        built = time.perf_counter() - began
        say(f"search index built in {built:.1f} s, {index.nbytes / 2**20:.0f} MiB")

        rng = random.Random(1)
        cases = [
            (rng.sample(task.label_names, rng.choice([1, 2])), query, rng.choice([0, 50, 500]))
            for query in QUERIES
            for _ in range(max(1, math.ceil(args.repeats / len(QUERIES))))
        ]
        rng.shuffle(cases)
        # The baseline: DuckDB's own scan on a connection kept open (japagen's instance is released first
        # and the baseline's closed before japagen's loop: a process may attach a file once).
        project.db.release()
        base, want = [], []
        with duckdb.connect(str(project.db.path), read_only=True) as con:
            repo.browse(con, task, dataset_id, labels=cases[0][0], query=cases[0][1])  # warm
            for labels, query, offset in cases:
                t = time.perf_counter()
                page = repo.browse(con, task, dataset_id, labels=labels, query=query, offset=offset)
                base.append((time.perf_counter() - t) * 1000)
                want.append((page.total, page.offset, list(page.rows["row_idx"])))
        fast = []
        project.browse(dataset_id, labels=cases[0][0], query=cases[0][1])  # warm, as the baseline
        for (labels, query, offset), expected in zip(cases, want, strict=True):
            t = time.perf_counter()
            page = project.browse(dataset_id, labels=labels, query=query, offset=offset)
            fast.append((time.perf_counter() - t) * 1000)
            assert (page.total, page.offset, list(page.rows["row_idx"])) == expected, (query, labels, offset)
        project.db.release()

    out = {"machine_load": {"before": load_before, "after": os.getloadavg()}, "rows": args.rows,
           "index": {"build_s": built, "mib": index.nbytes / 2**20}, "cases": [imported]}  # fmt: skip
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
    for case in out["cases"][1:]:
        j, b = case["japagen"], case["baseline"]
        print(f"{case['name']:44}{j['p50_ms']:>11.1f}/{j['p95_ms']:<10.1f}{b['p50_ms']:>11.1f}/{b['p95_ms']:<10.1f}"
              f"{case['ratio']:>7.1f}x  {case['target']}: {'met' if case['met'] else 'NOT met'}")  # fmt: skip
    print(f"import: {imported['target']}: {'met' if imported['met'] else 'NOT met'} ({imported['ratio']:.2f}x DuckDB)")


if __name__ == "__main__":
    main()
