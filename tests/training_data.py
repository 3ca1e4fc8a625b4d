"""Tiny, offline training fixtures: a random BERT (hidden 32, 2 layers) with a BertJapaneseTokenizer
built from a local vocab, and small JNLI / JSTS gold splits plus a synthetic run to train on."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from japagen_core.datasets.importers import import_gold
from japagen_core.storage import repository as repo
from tests.conftest import write_jsonl

# No test may reach a model hub: transformers (in this process and in job subprocesses) works offline.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# A tiny model trains in far less time than a worker process takes to import torch (seconds, tens of
# seconds on a loaded machine): tests train a job's models one after another unless they ask for side
# by side (tests/training/test_side_by_side.py sets JAPAGEN_PARALLEL_MODELS itself).
os.environ.setdefault("JAPAGEN_PARALLEL_MODELS", "1")

# pytest puts tests/ on sys.path, where the folder tests/datasets looks like a `datasets` package; the
# Trainer would take it for Hugging Face datasets (not installed) and fail. A None entry hides it.
_spec = importlib.util.find_spec("datasets")
if _spec is not None and _spec.origin is None:  # a namespace package: a plain folder, not the library
    sys.modules["datasets"] = None

SUBJECTS = ["犬", "猫", "男性", "女性", "子供", "電車", "馬", "鳥"]
PLACES = ["公園", "駅", "海辺", "台所", "道路", "川"]
ACTIONS = ["走っている", "座っている", "遊んでいる", "寝ている"]
JNLI_LABELS = ["entailment", "contradiction", "neutral"]


def caption(i: int) -> str:
    return f"{SUBJECTS[i % len(SUBJECTS)]}が{PLACES[i % len(PLACES)]}で{ACTIONS[i % len(ACTIONS)]}。"


def jnli_pairs(n: int, *, offset: int = 0) -> list[dict]:
    """Pairs whose hypothesis depends on the label, so even a tiny model has something to learn."""
    rows = []
    for i in range(offset, offset + n):
        label = JNLI_LABELS[i % 3]
        first = caption(i)
        second = {
            "entailment": f"{SUBJECTS[i % len(SUBJECTS)]}がいる。",
            "contradiction": f"{SUBJECTS[i % len(SUBJECTS)]}はいない。",
            "neutral": f"{SUBJECTS[(i + 1) % len(SUBJECTS)]}も{ACTIONS[(i + 2) % len(ACTIONS)]}。",
        }[label]
        rows.append({"sentence_pair_id": str(i), "sentence1": first, "sentence2": second, "label": label})
    return rows


def jsts_pairs(n: int, *, offset: int = 0) -> list[dict]:
    return [
        {"sentence_pair_id": str(i), "sentence1": caption(i), "sentence2": caption(i + i % 4),
         "label": round((i * 0.7) % 5.0, 1)}
        for i in range(offset, offset + n)
    ]  # fmt: skip


def all_texts() -> list[str]:
    rows = jnli_pairs(300) + jsts_pairs(300)
    return [r["sentence1"] for r in rows] + [r["sentence2"] for r in rows]


def build_tiny_model(folder: Path) -> Path:
    """Save a random tiny BERT and a MeCab + WordPiece tokenizer (vocab from the test texts) to ``folder``."""
    import fugashi
    from transformers import BertConfig, BertJapaneseTokenizer, BertModel

    tagger = fugashi.Tagger()
    texts = all_texts()
    words = sorted({w.surface for t in texts for w in tagger(t)})
    chars = sorted({c for t in texts for c in t})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(words + chars), *[f"##{c}" for c in chars]]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertJapaneseTokenizer(
        str(folder / "vocab.txt"), word_tokenizer_type="mecab", subword_tokenizer_type="wordpiece",
        mecab_kwargs={"mecab_dic": "unidic_lite"},
    )  # fmt: skip
    tokenizer.save_pretrained(str(folder))
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=512)  # fmt: skip
    BertModel(config).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-bert"))


def add_synthetic(project, task: str, rows: list[tuple], *, setting: str = "zero-shot", run_id: str | None = None):
    """A synthetic run (as generation would store it) of (text, text_b, label) rows."""
    run_id = run_id or f"{task}-{setting}-test"
    frame = pd.DataFrame(
        {
            "row_idx": range(len(rows)),
            "text": [r[0] for r in rows],
            "text_b": [r[1] for r in rows],
            "label": [r[2] for r in rows],
            "score": [float(r[2]) if task == "jsts" else None for r in rows],
            "split": "synthetic",
            "source": "llm",
            "source_id": None,
            "provenance": [json.dumps({"setting": setting, "model": "test-model"}) for _ in rows],
        }
    )
    meta = {"run": {"mode": "generate", "setting": setting, "task": task}}
    info = repo.DatasetInfo(run_id, task, "synthetic", "synthetic", f"{task} {setting} test run", "llm", "llm",
                            run_id, False, len(rows), meta=meta)  # fmt: skip
    with project.db.transaction() as con:
        repo.insert_dataset(con, info, frame)
    return run_id


def setup_jnli(project, tmp_path: Path) -> dict[str, str]:
    """Gold train (30) and valid (15) JNLI splits and a zero-shot synthetic run (20 per class)."""
    task = project.registry["jnli"]
    [train] = import_gold(project.db, task, "train", path=write_jsonl(tmp_path / "jnli-train.json", jnli_pairs(30)))
    [valid] = import_gold(project.db, task, "valid",
                          path=write_jsonl(tmp_path / "jnli-valid.json", jnli_pairs(15, offset=100)))  # fmt: skip
    synthetic = [(r["sentence1"], r["sentence2"], r["label"]) for r in jnli_pairs(60, offset=200)]
    return {
        "train": train.dataset_id,
        "valid": valid.dataset_id,
        "synthetic": add_synthetic(project, "jnli", synthetic),
    }


def setup_jsts(project, tmp_path: Path) -> dict[str, str]:
    task = project.registry["jsts"]
    [train] = import_gold(project.db, task, "train", path=write_jsonl(tmp_path / "jsts-train.json", jsts_pairs(24)))
    [valid] = import_gold(project.db, task, "valid",
                          path=write_jsonl(tmp_path / "jsts-valid.json", jsts_pairs(12, offset=100)))  # fmt: skip
    synthetic = [(caption(i), caption(i + 1), str(i % 6)) for i in range(36)]
    return {
        "train": train.dataset_id,
        "valid": valid.dataset_id,
        "synthetic": add_synthetic(project, "jsts", synthetic),
    }
