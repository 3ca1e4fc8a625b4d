"""Teacher fixtures: gold splits of a single-text and a pair task, the test server with its fine-tuning
endpoints, and the tiny causal LM (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from japagen_core.datasets.importers import import_gold
from tests.conftest import write_jsonl
from tests.openai_server import FakeOpenAI, ServerConfig
from tests.teacher.tiny_lm import build_tiny_causal_lm
from tests.training_data import caption, jnli_pairs

REVIEWS = {
    "positive": [
        "とても使いやすく満足しています。",
        "品質が良く、また買いたいです。",
        "届くのが早く、梱包も丁寧でした。",
    ],
    "negative": ["すぐに壊れてしまい残念です。", "説明と違う商品が届きました。", "サイズが合わず返品しました。"],
}


def marc_rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        label = "positive" if i % 2 == 0 else "negative"
        rows.append({"review_id": f"r{i}", "sentence": f"{REVIEWS[label][i % 3]}{caption(i)}", "label": label})
    return rows


@pytest.fixture
def marc_gold(project, tmp_path: Path) -> str:
    """A MARC-ja gold train split of 20 reviews (10 per label)."""
    task = project.registry["marc_ja"]
    [result] = import_gold(project.db, task, "train", path=write_jsonl(tmp_path / "marc-train.jsonl", marc_rows(20)))
    return result.dataset_id


@pytest.fixture
def jnli_gold(project, tmp_path: Path) -> str:
    """A JNLI gold train split of 30 pairs (10 per label)."""
    task = project.registry["jnli"]
    [result] = import_gold(project.db, task, "train", path=write_jsonl(tmp_path / "jnli-train.jsonl", jnli_pairs(30)))
    return result.dataset_id


@pytest.fixture
def ft_server():
    server = FakeOpenAI(ServerConfig(ft_polls=3)).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory) -> Path:
    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-causal-lm") / "model")
