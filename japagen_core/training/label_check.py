"""Label correctness as in the paper (§4.3): a BERT fine-tuned on gold data predicts each set's labels.

The model is one the Train page or `train --data gold-full` made (a stored model id), or a model folder
japagen wrote (its ``japagen.json`` names the snapshots it trained on). Rows whose content the model
trained on are left out of the score, so every number is out of sample; the count left out is in the
signature. Imports torch: load it only where this method runs (the analysis job).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pandas as pd
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from japagen_core.metrics.correctness import Correctness, class_correctness, score_correctness
from japagen_core.project import Project
from japagen_core.review.snapshots import get_snapshot, read_snapshot
from japagen_core.tasks import Task
from japagen_core.training.config import TrainingError
from japagen_core.training.finetune import MODEL_FILE, _device, predict
from japagen_core.training.store import get_model

BERT_METHOD = "BERT fine-tuned on gold"


def _model_record(project: Project, model: str) -> tuple[dict, Path]:
    """The model's stored record (or its folder's japagen.json) and its folder."""
    folder = Path(model)
    if folder.is_dir():
        meta_file = folder / MODEL_FILE
        if not meta_file.exists():
            raise TrainingError(
                f"model folder {folder} has no {MODEL_FILE}: japagen cannot tell which rows it trained on, so it "
                f"cannot keep its scores out of sample (use a model the Train page or `train` made)"
            )
        return json.loads(meta_file.read_text(encoding="utf-8")), folder
    record = get_model(project, model)
    if not record.get("path"):
        raise TrainingError(f"{model} is a prompting run, not a fine-tuned model")
    return record, project.settings.home / record["path"]


def _training_keys(project: Project, record: dict) -> tuple[set[tuple[str, str]], list[str]]:
    """The content of every row the model trained on, and the datasets it came from."""
    from japagen_core.analysis import content_keys  # analysis imports this module only when it runs

    keys: set[tuple[str, str]] = set()
    sources: list[str] = []
    for snapshot_id in record.get("train_snapshots") or []:
        sources.append(get_snapshot(project, int(snapshot_id)).dataset_id)
        keys.update(content_keys(read_snapshot(project, int(snapshot_id))))
    return keys, sources


def load_checker(project: Project, task: Task, model: str) -> Callable[[pd.DataFrame, list], tuple]:
    """A function (labelled rows, their targets) -> (Correctness, what produced it) for one model."""
    from japagen_core.analysis import content_keys

    record, folder = _model_record(project, model)
    if record.get("task") != task.name:
        raise TrainingError(f"model {model} is for task {record.get('task')!r}, not {task.name}")
    if not any(folder.glob("*.safetensors")) and not any(folder.glob("*.bin")):
        raise TrainingError(f"model {model} was trained without keeping its weights ({folder})")
    seen, sources = _training_keys(project, record)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    device = _device()
    net = AutoModelForSequenceClassification.from_pretrained(str(folder)).to(device)
    max_length = (record.get("config") or {}).get("effective", {}).get("max_length") or task.max_length
    model_id = record.get("id") or folder.name
    trained_on = f"{model_id} ({record.get('data_spec', '?')}: {', '.join(sources) or 'unknown data'})"

    def check(frame: pd.DataFrame, truth: list) -> tuple[Correctness | None, dict]:
        keep = [i for i, key in enumerate(content_keys(frame)) if key not in seen]
        excluded = len(frame) - len(keep)
        extra = {
            "method": "bert",
            "method_name": BERT_METHOD,
            "trained_on": trained_on,
            "rows": keep,
            "excluded_seen_in_training": excluded,
            "device": device,
            "base_model": record.get("base_model"),
        }
        if not keep:
            raise ValueError(f"every row is in the training data of model {model_id}: nothing out of sample")
        rows = frame.iloc[keep].reset_index(drop=True)
        predictions = predict(net, tokenizer, task, rows, max_length=max_length)
        signature = (
            f"correctness|method:bert|model:{model_id}|base:{record.get('base_model')}|max_len:{max_length}"
            f"|oos:unseen-only(excluded:{excluded})|transformers-{version('transformers')}"
        )
        kept_truth = [truth[i] for i in keep]
        if task.target == "score":
            result = score_correctness(list(predictions["score"]), kept_truth, grade_of=task.grade_for_score,
                                       signature=signature)  # fmt: skip
        else:
            probs = [json.loads(p) for p in predictions["probabilities"]]
            result = class_correctness(list(predictions["predicted"]), probs, kept_truth, labels=task.label_names,
                                       signature=signature)  # fmt: skip
        return result, extra

    return check
