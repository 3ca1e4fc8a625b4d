"""Shared fixtures: every test gets its own data directory; nothing touches ./storage."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from japagen_core.project import Project
from japagen_core.settings import PROJECT_ROOT, Settings

pytest_plugins = ["tests.review_data", "tests.training_data"]  # reviewed JNLI run; tiny BERT and training data

# AppTest serves nothing, but the app checks where its server listens (app/main.py): test it as scripts/run
# starts it, whatever folder pytest runs from (.streamlit/config.toml is read only from the current one).
try:
    from streamlit import config as _streamlit_config

    _streamlit_config.set_option("server.address", "127.0.0.1")
except ImportError:  # the engine's tests need no streamlit
    pass

GOLD_DIR = Path(os.environ.get("JAPAGEN_GOLD_DIR") or PROJECT_ROOT.parent / "shared" / "data" / "gold")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "home"
    monkeypatch.setenv("JAPAGEN_HOME", str(data))
    monkeypatch.delenv("JAPAGEN_PROMPTS", raising=False)
    monkeypatch.delenv("JAPAGEN_READ_ONLY", raising=False)  # a shell in demo mode must not make every test fail
    return data


@pytest.fixture
def project(home: Path) -> Project:
    return Project.open(Settings.from_env())


@pytest.fixture
def gold_dir() -> Path:
    if not GOLD_DIR.exists():
        pytest.skip(f"real gold data not found at {GOLD_DIR}")
    return GOLD_DIR


def wait_for_job(store, job_id: str, until, timeout: float = 60):
    """Poll a job until ``until(job)`` holds; fail with its state and log tail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = store.get(job_id)
        if until(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not get there: {store.get(job_id).state} {store.get(job_id).log_tail()}")


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def table_snapshot(project: Project) -> dict[str, list]:
    """Every row of every table, to prove a refused import changed nothing."""
    with project.db.transaction() as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {t: sorted(map(repr, con.execute(f'SELECT * FROM "{t}"').fetchall())) for t in sorted(tables)}
