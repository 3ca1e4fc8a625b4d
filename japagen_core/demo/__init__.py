"""The demo project: a few dozen hand-written rows per task, loaded through the gold importer.

Files are ``data/<task name>.jsonl`` in the task's native gold format; every dataset they make is
marked ``is_demo`` and named "Demo: ...", so the UI can label it as demo data.
"""

from __future__ import annotations

from pathlib import Path

from japagen_core.datasets.importers import ImportResult, prepare_gold, write_prepared
from japagen_core.storage import Database
from japagen_core.storage import repository as repo
from japagen_core.tasks import Registry

DEMO_DIR = Path(__file__).resolve().parent / "data"
DEMO_SPLIT = "train"


def demo_files(registry: Registry) -> dict[str, Path]:
    """Demo file per task name, for the tasks that have one."""
    return {path.stem: path for path in sorted(DEMO_DIR.glob("*.jsonl")) if path.stem in registry}


def load_demo(db: Database, registry: Registry) -> list[ImportResult]:
    """Import every demo file in one transaction (idempotent: loading twice adds nothing)."""
    db.require_writable("loading the demo")  # refused even when it is loaded already
    items = [
        (registry[name], item)
        for name, path in demo_files(registry).items()
        for item in prepare_gold(registry[name], DEMO_SPLIT, path=path, source_name=path.name, is_demo=True)
    ]
    return write_prepared(db, items)


def remove_demo(db: Database) -> int:
    """Delete every demo dataset; return how many were removed."""
    db.require_writable("removing the demo")
    with db.transaction() as con:
        demo = [info.id for info in repo.list_datasets(con) if info.is_demo]
        for dataset_id in demo:
            repo.delete_dataset(con, dataset_id)
    return len(demo)
