"""A Hugging Face model card (``README.md``) for a fine-tuned model folder: what it was trained on
(data spec, snapshots, examples), from what (base model), how (settings, seed) and how well (the
metrics on the named evaluation split). Values are written in YAML blocks, never as Markdown."""

from __future__ import annotations

import json
from typing import Any

import yaml

from japagen_core.training.store import ModelRecord

_METRIC_TYPES = {"accuracy": "accuracy", "mcc": "matthews_correlation", "spearman": "spearmanr", "pearson": "pearsonr"}


def model_card(record: ModelRecord, labels: dict[str, str], *, task_title: str = "") -> str:
    """The card's text. ``labels``: the model's id2label (as in japagen.json)."""
    metrics = {k: v for k, v in record.metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    results = [
        {"type": _METRIC_TYPES.get(name, name), "name": name, "value": round(float(value), 6)}
        for name, value in metrics.items()
        if name != "main" and name in _METRIC_TYPES
    ]
    header: dict[str, Any] = {
        "language": ["ja"],
        "license": "unknown",
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "base_model": record.base_model,
        "tags": ["japagen", record.task, record.method, record.setting],
        "model-index": [
            {
                "name": record.id,
                "results": [
                    {
                        "task": {"type": "text-classification", "name": task_title or record.task},
                        "dataset": {"type": record.eval_dataset_id, "name": record.eval_dataset_id, "split": "eval"},
                        "metrics": results,
                    }
                ],
            }
        ],
    }
    facts = {
        "model": record.id,
        "task": record.task,
        "method": record.method,
        "setting": record.setting,
        "base_model": record.base_model,
        "seed": record.seed,
        "training_data": {
            "spec": record.data_spec,
            "snapshots": record.train_snapshots,
            "examples": record.train_examples,
            "per_class": record.per_class,
        },
        "evaluation": {
            "dataset": record.eval_dataset_id,
            "snapshot": record.eval_snapshot_id,
            "metric": record.metric,
            "score": record.score,
            "metrics": metrics,
        },
        "labels": labels,
        "settings": record.config,
        "run": record.run_id,
        "job": record.job_id,
        "created_at": record.created_at.isoformat(timespec="seconds"),
    }
    return "\n".join(
        [
            "---",
            yaml.safe_dump(_plain(header), allow_unicode=True, sort_keys=False).rstrip(),
            "---",
            "",
            f"# {record.task}: {record.method} / {record.setting} (seed {record.seed})",
            "",
            "A BERT classifier fine-tuned by japagen. The license is not set: fill in `license:` above (the base",
            "model's and the training data's terms apply). The training rows are listed in `train_rows.json`, the",
            "per-example predictions on the evaluation split in `predictions.parquet`, all of this in `japagen.json`.",
            "",
            "```yaml",
            yaml.safe_dump(_plain(facts), allow_unicode=True, sort_keys=False).rstrip(),
            "```",
            "",
        ]
    )


def _plain(value: Any) -> Any:
    """Plain JSON types only (paths, numpy numbers and dates as the JSON writer of japagen.json writes them)."""
    return json.loads(json.dumps(value, default=str))
