"""Hugging Face-ready export of a snapshot: a folder that ``datasets.load_dataset(DIR)`` and the Hub
take as it is.

    DIR/README.md                          dataset card: YAML metadata (language, task, license to
                                           fill, size, features with the label names) and how the
                                           data was made
    DIR/data/<split>-00000-of-00001.parquet  the rows, with the task's gold field names

Class labels are written as integers 0..n-1 in the task's label order, declared as a ``ClassLabel``
both in the card's ``dataset_info`` and in the Parquet schema's ``huggingface`` metadata (which is
what ``datasets`` reads from a Parquet file); score tasks (JSTS) keep their float score.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from japagen_core.project import Project
from japagen_core.tasks import Task

# Hugging Face split names for japagen's: synthetic data is training data.
_SPLITS = {"train": "train", "synthetic": "train", "valid": "validation", "dev": "validation", "test": "test"}


def split_name(split: str) -> str:
    return _SPLITS.get(split) or (re.sub(r"\W+", "_", split).strip("_") or "train")


def size_category(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < limit:
            return name
    return "1M<n<10M" if rows < 10_000_000 else "n>1M"


def hf_table(task: Task, records: list[dict[str, Any]]) -> tuple[pa.Table, list[dict[str, Any]]]:
    """Gold-format records as an Arrow table with Hugging Face features; returns (table, card features)."""
    fields = task.gold_fields
    columns: dict[str, pa.Array] = {}
    features: list[dict[str, Any]] = []
    hf_features: dict[str, Any] = {}
    for name in (fields.id, fields.text, fields.text_b if task.is_pair else None):
        if name:
            columns[name] = pa.array([None if r.get(name) is None else str(r[name]) for r in records], pa.string())
            features.append({"name": name, "dtype": "string"})
            hf_features[name] = {"dtype": "string", "_type": "Value"}
    if task.target == "score":
        name = fields.score or "score"
        scores = [float(r[name]) if name in r else None for r in records]  # none: an unlabelled row
        columns[name] = pa.array(scores, pa.float64())
        features.append({"name": name, "dtype": "float64"})
        hf_features[name] = {"dtype": "float64", "_type": "Value"}
    elif fields.label:
        index = {label.name: i for i, label in enumerate(task.labels)}
        values = [index[task.resolve_label(r[fields.label]).name] if fields.label in r else None for r in records]
        columns[fields.label] = pa.array(values, pa.int64())
        names = task.label_names
        features.append(
            {"name": fields.label, "dtype": {"class_label": {"names": {str(i): n for i, n in enumerate(names)}}}}
        )
        hf_features[fields.label] = {"names": names, "_type": "ClassLabel"}
    table = pa.table(columns)
    metadata = {b"huggingface": json.dumps({"info": {"features": hf_features}}, ensure_ascii=False).encode()}
    return table.replace_schema_metadata(metadata), features


def made_with(frame: pd.DataFrame) -> dict[str, Any]:
    """What the rows' provenance says about how they were made (values with their row counts)."""
    counts: dict[str, Counter] = {}
    keys = (
        "model",
        "backend",
        "teacher",
        "setting",
        "preset",  # japagen's prompts or the paper's (the authors' configs), and the sha the run used
        "preset_sha",
        "prompt_version",
        "pair_protocol",
        "fewshot_draw",
        "batch_api",
        "words_list",
        "words_list_version",
        "words_version",
    )
    for raw in frame["provenance"]:
        if not raw:
            continue
        prov = json.loads(raw) if isinstance(raw, str) else raw
        for key in keys:
            if prov.get(key) is not None:
                counts.setdefault(key, Counter())[str(prov[key])] += 1
        if prov.get("params"):
            counts.setdefault("sampling", Counter())[json.dumps(prov["params"], sort_keys=True)] += 1
        if prov.get("base_url"):
            counts.setdefault("base_url", Counter())[str(prov["base_url"])] += 1
    return {key: dict(counter.most_common()) for key, counter in counts.items()}


def stored_metrics(project: Project, dataset_id: str) -> list[dict[str, Any]]:
    """The newest Self-BLEU, overlap (per reference) and label-correctness result of the dataset."""
    with project.db.transaction() as con:
        rows = con.execute(
            "SELECT kind, reference_id, signature, result, created_at FROM analysis_results "
            "WHERE dataset_id = ? ORDER BY created_at",
            [dataset_id],
        ).fetchall()
    newest: dict[tuple[str, str | None], dict[str, Any]] = {}
    for kind, reference, signature, result, created_at in rows:
        payload = json.loads(result)
        value = {"self_bleu": "self_bleu", "overlap": "weighted_jaccard", "correctness": "overall"}.get(kind)
        newest[(kind, reference)] = {
            "metric": {"self_bleu": "Self-BLEU", "overlap": "weighted Jaccard"}.get(kind)
            or f"label correctness ({payload.get('metric', 'accuracy')})",
            "value": payload.get(value) if value else None,
            "reference": reference,
            "signature": signature,
            "computed_at": str(created_at),
        }
    return list(newest.values())


def dataset_card(
    *,
    task: Task,
    info: Any,
    snapshot: Any,
    split: str,
    rows: int,
    sizes: tuple[int, int],
    features: list[dict[str, Any]],
    made: dict[str, Any],
    metrics: list[dict[str, Any]],
) -> str:
    header = {
        "language": ["ja"],
        "license": "unknown",
        "pretty_name": f"{task.title} ({info.name})",
        "task_categories": ["sentence-similarity" if task.target == "score" else "text-classification"],
        "size_categories": [size_category(rows)],
        "tags": ["japagen", "synthetic" if info.kind == "synthetic" else info.kind],
        "configs": [{"config_name": "default", "data_files": [{"split": split, "path": f"data/{split}-*.parquet"}]}],
        "dataset_info": {
            "features": features,
            "splits": [{"name": split, "num_bytes": sizes[0], "num_examples": rows}],
            "download_size": sizes[1],
            "dataset_size": sizes[0],
        },
    }
    how = {
        "task": task.name,
        "dataset": info.id,
        "kind": info.kind,
        "source": info.source,
        "snapshot": snapshot.id,
        "snapshot_sha256": snapshot.sha256,
        "review": {
            "relabeled_rows": snapshot.relabeled_rows,
            "flagged_rows": snapshot.flagged_rows,
            "flagged_left_out": snapshot.exclude_flagged,
            "review_events_through": snapshot.events_through,
        },
        "generation": made or None,
    }
    labels = (
        [f"- `{i}`: {label.name} ({label.display_ja})" for i, label in enumerate(task.labels)]
        if task.target != "score"
        else [f"- a float score in {task.score_range}"]
    )
    lines = [
        "---",
        yaml.safe_dump(header, allow_unicode=True, sort_keys=False).rstrip(),
        "---",
        "",
        f"# {task.title} / {task.title_ja}",
        "",
        f"Exported by japagen from snapshot {snapshot.id} of dataset `{info.id}` ({rows} rows, split `{split}`);",
        "its name is in `pretty_name` above.",
        "The license is not set: fill in `license:` above (the generator's and the source data's terms apply).",
        "",
        "## Labels",
        "",
        *labels,
        "",
        "## How it was made",
        "",
        "Values as the examples' provenance records them, each with the number of rows it applies to.",
        "",
        "```yaml",
        yaml.safe_dump(how, allow_unicode=True, sort_keys=False).rstrip(),
        "```",
        "",
        "## Measurements",
        "",
        "Computed by japagen on the dataset as generated (before review); scores with different signatures",
        "are not comparable.",
        "",
        *(
            ["```yaml", yaml.safe_dump(metrics, allow_unicode=True, sort_keys=False).rstrip(), "```"]
            if metrics
            else ["None stored: run an analysis of this dataset (the Analysis page) and export again."]
        ),
        "",
    ]
    return "\n".join(lines)


def hf_files(project: Project, snapshot: Any, frame: pd.DataFrame, records: list[dict[str, Any]]) -> dict[str, bytes]:
    """The folder's files (relative path -> bytes) for a snapshot read as ``frame`` / ``records``."""
    from japagen_core.storage import repository as repo

    task = project.registry[snapshot.task]
    with project.db.transaction() as con:
        info = repo.get_dataset(con, snapshot.dataset_id)
    split = split_name(info.split)
    table, features = hf_table(task, records)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    card = dataset_card(
        task=task,
        info=info,
        snapshot=snapshot,
        split=split,
        rows=table.num_rows,
        sizes=(table.nbytes, buffer.tell()),
        features=features,
        made=made_with(frame),
        metrics=stored_metrics(project, snapshot.dataset_id),
    )
    return {f"data/{split}-00000-of-00001.parquet": buffer.getvalue(), "README.md": card.encode("utf-8")}
