"""A JNLI run to review: the demo gold pairs as training data, and a synthetic run whose 'neutral'
pairs include some that are really entailment (the paper's example), with a stored analysis."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from japagen_core.analysis import AnalysisConfig, run_analysis
from japagen_core.demo import load_demo
from japagen_core.storage import repository as repo

KADG_WORDS = ["公園", "海", "台所"]


def make_run(project, rows: list[tuple[str, str, str]], *, run_id: str = "jnli-run-test") -> str:
    """Insert a synthetic JNLI dataset of (premise, hypothesis, label) rows with KADG provenance."""
    frame = pd.DataFrame(
        {
            "row_idx": range(len(rows)),
            "text": [a for a, _, _ in rows],
            "text_b": [b for _, b, _ in rows],
            "label": [label for _, _, label in rows],
            "score": [None] * len(rows),
            "split": "synthetic",
            "source": "llm",
            "source_id": None,
            "provenance": [
                json.dumps(
                    {
                        "setting": "kadg",
                        "kadg_word": KADG_WORDS[i % 3],
                        "model": "test-model",
                        "preset": "paper",
                        "preset_sha": "db7e18309a5b",
                    },
                    ensure_ascii=False,
                )
                for i in range(len(rows))
            ],
        }
    )
    info = repo.DatasetInfo(run_id, "jnli", "synthetic", "synthetic", "JNLI test run", "llm", "llm",
                            run_id, False, len(rows), meta={"setting": "kadg"})  # fmt: skip
    with project.db.transaction() as con:
        repo.insert_dataset(con, info, frame)
    return run_id


@pytest.fixture
def jnli_review(project):
    """(gold id, run id): gold demo JNLI pairs, and a run that copies them, with every gold
    entailment pair labelled 'neutral' as well; analysed with the gold-trained classifier."""
    demo = load_demo(project.db, project.registry, analyse=False)  # the run below is analysed on its own
    gold = next(r.dataset_id for r in demo if r.dataset_id.startswith("jnli-train-"))
    with project.db.transaction() as con:
        pairs = con.execute(
            "SELECT text, text_b, label FROM examples WHERE dataset_id = ? ORDER BY row_idx", [gold]
        ).fetchall()
    rows = [(a, b, label) for a, b, label in pairs]
    rows += [(a, b, "neutral") for a, b, label in pairs if label == "entailment"]  # mislabeled copies
    run = make_run(project, rows)
    run_analysis(project, AnalysisConfig(reference=gold, datasets=[run], train=gold, per_label=1000))
    return gold, run


def make_jsts_run(project, run_id: str = "jsts-run-test") -> str:
    """A synthetic JSTS dataset of six scored pairs (0.4 .. 5.0)."""
    from japagen_core.storage import repository as repo

    frame = pd.DataFrame(
        {
            "row_idx": range(6), "text": [f"文{i}" for i in range(6)], "text_b": [f"別の文{i}" for i in range(6)],
            "label": None, "score": [0.4, 1.5, 2.2, 3.0, 4.6, 5.0], "split": "synthetic", "source": "llm",
            "source_id": None, "provenance": None,
        }
    )  # fmt: skip
    info = repo.DatasetInfo(run_id, "jsts", "synthetic", "synthetic", "JSTS test run", "llm", "llm", run_id, False, 6)
    with project.db.transaction() as con:
        repo.insert_dataset(con, info, frame)
    return run_id
