"""The demo project: a few dozen hand-written gold rows per task, and hand-written "synthetic" runs for
some tasks (``synthetic.py``) analysed against them, so every page has something to show.

Gold files are ``data/<task name>.jsonl`` in the task's native gold format, loaded through the gold
importer; synthetic ones are ``data/synthetic_<task name>.jsonl``. Every dataset they make is marked
``is_demo`` and named "Demo: ...", so the UI can label it as demo data.
"""

from __future__ import annotations

from pathlib import Path

from japagen_core.datasets.importers import ImportResult, prepare_gold, write_prepared
from japagen_core.demo.synthetic import PREFIX, prepare_synthetic, synthetic_files
from japagen_core.storage import Database
from japagen_core.storage import repository as repo
from japagen_core.tasks import Registry

DEMO_DIR = Path(__file__).resolve().parent / "data"
DEMO_SPLIT = "train"
# The demo's analysis samples more texts per label than any demo dataset has, so every row is scored.
DEMO_PER_LABEL = 50


def demo_files(registry: Registry) -> dict[str, Path]:
    """Gold demo file per task name, for the tasks that have one."""
    return {
        path.stem: path
        for path in sorted(DEMO_DIR.glob("*.jsonl"))
        if path.stem in registry and not path.stem.startswith(PREFIX)
    }


def load_demo(db: Database, registry: Registry, *, analyse: bool = True) -> list[ImportResult]:
    """Import every demo dataset in one transaction, then analyse the synthetic ones (idempotent:
    loading twice adds nothing).

    analyse: run the paper's analyses (Self-BLEU, weighted Jaccard, label correctness) of each task with
    synthetic demo data against its gold demo split, unless they are stored already (about a second;
    the first time in a process also loads scikit-learn, another second or so).
    """
    db.require_writable("loading the demo")  # refused even when it is loaded already
    gold = demo_files(registry)
    items = [
        (registry[name], item)
        for name, path in gold.items()
        for item in prepare_gold(registry[name], DEMO_SPLIT, path=path, source_name=path.name, is_demo=True)
    ]
    items += [
        (registry[name], item)
        for name, path in synthetic_files(DEMO_DIR, registry).items()
        if name in gold  # analysed against its gold demo split
        for item in prepare_synthetic(registry[name], path)
    ]
    results = write_prepared(db, items)
    if analyse:
        _analyse(db, registry, results)
    return results


def _analyse(db: Database, registry: Registry, results: list[ImportResult]) -> None:
    from japagen_core.analysis import AnalysisConfig, analyse_store  # scikit-learn loads only when needed

    with db.transaction() as con:
        infos = [repo.get_dataset(con, r.dataset_id) for r in results]
        analysed = {row[0] for row in con.execute("SELECT DISTINCT dataset_id FROM analysis_results").fetchall()}
    gold = {info.task: info.id for info in infos if info.kind == "gold"}
    for task in registry:
        synthetic = [i.id for i in infos if i.task == task and i.kind == "synthetic"]
        if synthetic and not set(synthetic) <= analysed:
            cfg = AnalysisConfig(reference=gold[task], datasets=synthetic, train=gold[task], per_label=DEMO_PER_LABEL)
            analyse_store(db, registry, cfg)


def remove_demo(db: Database) -> int:
    """Delete every demo dataset (with its review, analyses and predictions); return how many were removed."""
    db.require_writable("removing the demo")
    with db.transaction() as con:
        demo = [info.id for info in repo.list_datasets(con) if info.is_demo]
        for dataset_id in demo:
            repo.delete_dataset(con, dataset_id)
    return len(demo)
