"""Soak benchmark: everyone at the store at once, for a few minutes.

While these run together against one fresh ``JAPAGEN_HOME``:
- a generation job (CLI ``generate --wait``, JNLI, over real HTTP to tests/openai_server.py),
- analysis jobs, one after another (gold JNLI valid against itself and the generated run),
- an import of a 100k-row file of MARC-ja-length reviews (~280 characters each),
- a CLI poller (``datasets --json`` and ``jobs`` in fresh processes, as a script would),
- a page reader in this process (the reads Browse does: the dataset list, a page, a text query),

it prints, per party, the errors it saw and the lock waits (max, p95), and for the generated run and
the import the examples lost and duplicated. Target: 0 errors, max wait <= 5 s, 0 lost, 0 duplicated.

A "wait" is the time a party spent before its work could start: for the page reader the open of a
transaction (retried while another process holds the file), for the CLI the whole command minus its
median (the start-up cost of Python and the engine is not a lock wait).

    .venv/bin/python bench/soak.py [--minutes 3] [--rows 100000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generation import start_server  # noqa: E402
from japagen_core.settings import Settings  # noqa: E402

GOLD = Path(os.environ.get("JAPAGEN_GOLD_DIR") or ROOT.parent / "shared" / "data" / "gold")
TARGET_WAIT_S = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "japagen_core", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_reviews(path: Path, rows: int, seed: int = 0) -> None:
    """MARC-ja-shaped JSON Lines: ~280-character reviews, half positive, half negative."""
    rng = random.Random(seed)
    words = ["この商品は", "とても", "使いやすく", "値段の割に", "品質が", "期待以上でした", "残念ながら"]
    words += ["すぐに", "壊れてしまい", "配送も早く", "梱包が丁寧で", "友人にも"]
    words += ["勧めたいと思います", "二度と買いません"]
    with path.open("w", encoding="utf-8") as f:
        for i in range(rows):
            text = ""
            while len(text) < 270:
                text += rng.choice(words) + ("。" if rng.random() < 0.2 else "")
            label = "positive" if i % 2 == 0 else "negative"
            f.write(json.dumps({"review_id": f"r{i}", "sentence": f"{i} {text}", "label": label}, ensure_ascii=False))
            f.write("\n")


class Party:
    def __init__(self, name: str):
        self.name = name
        self.waits: list[float] = []
        self.errors: list[str] = []
        self.calls = 0

    def summary(self) -> dict:
        waits = sorted(self.waits) or [0.0]
        p95 = waits[min(len(waits) - 1, int(0.95 * len(waits)))]
        return {
            "calls": self.calls,
            "errors": len(self.errors),
            "first_errors": self.errors[:3],
            "wait_max_s": round(max(waits), 3),
            "wait_p95_s": round(p95, 3),
        }


def page_reader(settings: Settings, party: Party, stop: threading.Event) -> None:
    """The reads a Browse page makes, every 0.25 s, each in its own short transaction, keeping the store
    open between them as the app does (so writers must ask for it: storage/db.py)."""
    from japagen_core.project import Project
    from japagen_core.storage import repository as repo
    from japagen_core.storage.db import KEEP_OPEN_SECONDS

    project = Project.open(settings)
    project.db.keep_open = KEEP_OPEN_SECONDS
    while not stop.is_set():
        start = time.perf_counter()
        try:
            with project.db.transaction() as con:
                party.waits.append(time.perf_counter() - start)
                datasets = repo.list_datasets(con)
                for info in datasets[:3]:
                    task = project.registry[info.task]
                    repo.browse(con, task, info.id, limit=50)
                    repo.browse(con, task, info.id, query="看板", limit=50)
            party.calls += 1
        except Exception as exc:  # every failure is a finding of this benchmark
            party.errors.append(f"{type(exc).__name__}: {exc}")
        stop.wait(0.25)


def cli_poller(env: dict[str, str], party: Party, stop: threading.Event) -> None:
    durations: list[float] = []
    while not stop.is_set():
        for args in (("datasets", "--json"), ("jobs",)):
            start = time.perf_counter()
            proc = cli(env, *args, timeout=300)
            durations.append(time.perf_counter() - start)
            party.calls += 1
            if proc.returncode != 0:
                party.errors.append(f"{' '.join(args)}: {proc.stderr.strip()[-300:]}")
    base = statistics.median(durations) if durations else 0.0
    party.waits.extend(max(0.0, d - base) for d in durations)


def analysis_loop(settings: Settings, gold_id: str, others: list[str], party: Party, stop: threading.Event) -> None:
    from japagen_core.analysis import AnalysisConfig
    from japagen_core.jobs.kinds import submit
    from japagen_core.jobs.store import JobStore
    from japagen_core.project import Project

    project = Project.open(settings)
    store = JobStore(settings.jobs_dir)
    while not stop.is_set():
        datasets = [d for d in others if d]
        try:
            job = submit(project, "analysis", AnalysisConfig(reference=gold_id, datasets=datasets, per_label=300))
        except Exception as exc:
            party.errors.append(f"submit: {type(exc).__name__}: {exc}")
            stop.wait(5)
            continue
        party.calls += 1
        while store.get(job.id).state in ("queued", "running"):
            time.sleep(1)
        final = store.get(job.id)
        if final.state != "succeeded":
            party.errors.append(f"analysis job {job.id} {final.state}: {final.log_tail(5)[-400:]}")


def generation(env: dict[str, str], base_url: str, per_label: int, party: Party, out: dict) -> None:
    start = time.perf_counter()
    proc = cli(
        env, "generate", "--task", "jnli", "--setting", "kadg", "--per-label", str(per_label), "--model", "soak",
        "--base-url", base_url, "--concurrency", "8", "--n", "5", "--wait", timeout=3600,
    )  # fmt: skip
    party.calls += 1
    out["seconds"] = time.perf_counter() - start
    out["stdout"] = proc.stdout[-2000:]
    if proc.returncode != 0:
        party.errors.append(f"generate exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-400:]}")


def importer(env: dict[str, str], path: Path, party: Party, out: dict) -> None:
    start = time.perf_counter()
    proc = cli(env, "import-gold", str(path), "--task", "marc_ja", "--split", "train", "--json", timeout=3600)
    party.calls += 1
    out["seconds"] = time.perf_counter() - start
    if proc.returncode != 0:
        party.errors.append(f"import exit {proc.returncode}: {proc.stderr.strip()[-400:]}")
    else:
        out["result"] = json.loads(proc.stdout)[0]


def lost_and_duplicated(settings: Settings, dataset_id: str | None, expected: int) -> dict:
    from japagen_core.project import Project

    if not dataset_id:
        return {"rows": 0, "expected": expected, "lost": expected, "duplicated": 0}
    project = Project.open(settings)
    with project.db.transaction() as con:
        rows, distinct = con.execute(
            "SELECT count(*), count(DISTINCT (source_id, text, coalesce(text_b, ''))) FROM examples "
            "WHERE dataset_id = ?",
            [dataset_id],
        ).fetchall()[0]
    return {"rows": rows, "expected": expected, "lost": max(0, expected - distinct), "duplicated": rows - distinct}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="how long the pollers and analyses run")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the long-text import")
    parser.add_argument("--per-label", type=int, default=1500, help="generated JNLI pairs per label")
    parser.add_argument("--latency", type=float, default=0.2, help="the test server's seconds per answer")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    jnli_valid = GOLD / "jglue" / "jnli-v1.3_valid-v1.3.json"
    if not jnli_valid.exists():
        print(f"needs the real gold data: {jnli_valid} is missing", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="japagen-soak-") as tmp:
        home = Path(tmp) / "home"
        env = {**os.environ, "JAPAGEN_HOME": str(home), "OPENAI_API_KEY": "sk-soak", "PYTHONPATH": str(ROOT)}
        env.pop("JAPAGEN_READ_ONLY", None)
        settings = Settings(home=home.resolve(), prompts_dir=Settings.from_env().prompts_dir)
        gold = cli(env, "import-gold", str(jnli_valid), "--task", "jnli", "--split", "valid", "--json")
        if gold.returncode != 0:
            print(f"setup failed: {gold.stderr}", file=sys.stderr)
            return 2
        gold_id = json.loads(gold.stdout)[0]["dataset_id"]
        reviews = Path(tmp) / "reviews.jsonl"
        write_reviews(reviews, args.rows)
        server, base_url = start_server(args.latency)
        parties = {name: Party(name) for name in ("generation", "analysis", "import", "cli", "page")}
        gen_out: dict = {}
        imp_out: dict = {}
        stop = threading.Event()
        threads = [
            threading.Thread(target=generation, args=(env, base_url, args.per_label, parties["generation"], gen_out)),
            threading.Thread(target=importer, args=(env, reviews, parties["import"], imp_out)),
            threading.Thread(target=analysis_loop, args=(settings, gold_id, [gold_id], parties["analysis"], stop)),
            threading.Thread(target=cli_poller, args=(env, parties["cli"], stop)),
            threading.Thread(target=page_reader, args=(settings, parties["page"], stop)),
        ]
        started = time.perf_counter()
        try:
            for thread in threads:
                thread.start()
            time.sleep(args.minutes * 60)
            for thread in threads[:2]:  # the generation and the import run to their end
                thread.join()
            stop.set()
            for thread in threads[2:]:
                thread.join()
        finally:
            stop.set()
            server.terminate()
            server.wait()
        wall = time.perf_counter() - started
        run_id = _run_id(settings)
        labels = 3
        result = {
            "machine": {"cpus": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg()},
            "wall_s": round(wall, 1),
            "parties": {name: party.summary() for name, party in parties.items()},
            "generation": {
                "seconds": round(gen_out.get("seconds", 0), 1),
                **lost_and_duplicated(settings, run_id, args.per_label * labels),
            },
            "import": {
                "seconds": round(imp_out.get("seconds", 0), 1),
                **lost_and_duplicated(settings, (imp_out.get("result") or {}).get("dataset_id"), args.rows),
            },
        }
    errors = sum(p["errors"] for p in result["parties"].values())
    max_wait = max(p["wait_max_s"] for p in result["parties"].values())
    lost = result["generation"]["lost"] + result["import"]["lost"]
    dup = result["generation"]["duplicated"] + result["import"]["duplicated"]
    cases = [
        _case("errors seen by any party", errors, 0),
        _case("max lock wait (s)", max_wait, TARGET_WAIT_S),
        _case("examples lost", lost, 0),
        _case("examples duplicated", dup, 0),
    ]
    if args.json:
        print(json.dumps({"cases": cases, **result}, ensure_ascii=False))
    else:
        _print(result, cases)
    return 0 if all(c["met"] for c in cases) else 1


def _case(name: str, value: float, target: float) -> dict:
    # No baseline exists for "errors under contention": the target itself is the comparison.
    return {"name": name, "japagen": value, "baseline": None, "ratio": None, "target": target, "met": value <= target}


def _run_id(settings: Settings) -> str | None:
    from japagen_core.project import Project

    project = Project.open(settings)
    with project.db.transaction() as con:
        rows = con.execute("SELECT id FROM datasets WHERE kind = 'synthetic' ORDER BY created_at").fetchall()
    return rows[-1][0] if rows else None


def _print(result: dict, cases: list[dict]) -> None:
    m = result["machine"]
    print(f"machine: {m['cpus']} cpus, load before {m['load_before']}, after {m['load_after']}")
    print(f"wall {result['wall_s']} s")
    print(f"{'party':12} {'calls':>6} {'errors':>6} {'wait max s':>11} {'wait p95 s':>11}")
    for name, p in result["parties"].items():
        print(f"{name:12} {p['calls']:>6} {p['errors']:>6} {p['wait_max_s']:>11} {p['wait_p95_s']:>11}")
        for err in p["first_errors"]:
            print(f"    {err}")
    for what in ("generation", "import"):
        r = result[what]
        print(f"{what}: {r['rows']} of {r['expected']} rows in {r['seconds']} s")
        print(f"    lost {r['lost']}, duplicated {r['duplicated']}")
    for c in cases:
        print(f"{c['name']}: {c['japagen']} (target <= {c['target']}) {'met' if c['met'] else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
