"""What a training request will train on, decided when it is submitted.

``plan_training`` checks the request, snapshots the data it names (GUIDE §3: training reads Parquet
snapshots, never the live tables), draws a first sample to catch impossible requests before any job
starts, and returns the ``TrainPlan`` stored in the job's folder. Every model of the plan (one per
size and seed) later records the snapshot ids it was trained and evaluated on.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from japagen_core.jobs.progress import Progress
from japagen_core.project import Project
from japagen_core.review.snapshots import create_snapshot, get_snapshot, read_snapshot
from japagen_core.storage import repository as repo
from japagen_core.tasks import Task
from japagen_core.training.config import DEFAULT_SEEDS, TrainConfig, TrainingError
from japagen_core.training.data import (
    DataChoice,
    class_keys,
    labelled,
    sample_fraction,
    sample_per_class,
)

EVAL_SPLITS = ("test", "valid", "validation", "dev")  # the default evaluation split, in this order


@dataclass(frozen=True)
class TrainRequest:
    """What a user asks for: a task, training data, the gold split to evaluate on, seeds, settings."""

    task: str
    data: DataChoice
    eval_dataset: str | None = None  # None: the task's gold test split (else valid / dev)
    seeds: int = DEFAULT_SEEDS
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass(frozen=True)
class TrainPlan:
    """A submitted request, resolved: the job's config (job.json)."""

    run_id: str
    task: str
    data: dict[str, Any]  # the DataChoice
    data_spec: str
    method: str  # the Table 1 block: fine-tuning, japagen, mix
    setting: str
    synthetic_snapshot: int | None
    gold_snapshot: int | None
    eval_dataset: str
    eval_snapshot: int
    seeds: list[int]
    sizes: list[int | None]  # synthetic examples per class, one model per size and seed; [None]: all
    train: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainPlan:
        return cls(**data)

    @property
    def choice(self) -> DataChoice:
        return DataChoice(**{**self.data, "sizes": tuple(self.data.get("sizes") or ())})

    @property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.train)

    def runs(self) -> list[tuple[str, int | None, int]]:
        """(model id, size, seed) of every model, in training order: sizes ascending, then seeds."""
        out = []
        for size in self.sizes:
            for seed in self.seeds:
                middle = f"-n{size}" if size is not None else ""
                out.append((f"{self.run_id}{middle}-s{seed}", size, seed))
        return out


def new_training_id(task: str, kind: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{task}-{kind}-{stamp}-{os.urandom(2).hex()}"


def plan_training(project: Project, request: TrainRequest, *, created_by: str = "training") -> TrainPlan:
    """Check a request, snapshot its data, and return the plan a train job runs."""
    task = project.registry[request.task]
    choice = request.data
    if not 1 <= request.seeds <= 100:
        raise TrainingError(f"seeds {request.seeds!r} must be between 1 and 100")
    train = _with_model_path(request.train)
    with project.db.transaction() as con:
        datasets = repo.list_datasets(con)
    by_id = {d.id: d for d in datasets}

    synthetic_snapshot = None
    method, setting = "fine-tuning", "fully-supervised"
    if choice.kind in ("synthetic", "mix"):
        synthetic_snapshot = _synthetic_snapshot(project, task, choice, by_id, created_by)
        method, setting = _synthetic_row(project, synthetic_snapshot, by_id)
    gold_snapshot = None
    gold_id = None
    if choice.kind in ("gold-fewshot", "gold-full", "mix"):
        gold_id = choice.gold_dataset or default_gold_train(task, datasets)
        _check_gold(task, gold_id, by_id, "training")
    eval_id = request.eval_dataset or default_eval(task, datasets, exclude=gold_id)
    _check_gold(task, eval_id, by_id, "evaluation")
    if gold_id and eval_id == gold_id:
        raise TrainingError(
            f"the gold training split {gold_id} is also the evaluation split: name another one to evaluate on"
        )
    if gold_id:
        gold_snapshot = create_snapshot(project, gold_id, exclude_flagged=choice.exclude_flagged,
                                        created_by=created_by).id  # fmt: skip
    eval_snapshot = create_snapshot(project, eval_id, created_by=created_by).id

    if choice.kind == "gold-fewshot":
        method, setting = "fine-tuning", "few-shot"
    elif choice.kind == "mix":
        amount = "all" if choice.synthetic_per_class is None else f"{choice.synthetic_per_class}/class"
        method, setting = "mix", f"{choice.gold_fraction:g} gold + {amount} {setting}"
    # From here on the data is named by its snapshot, not by the dataset it was taken from.
    resolved = replace(choice, snapshot=synthetic_snapshot, dataset=None) if synthetic_snapshot else choice
    plan = TrainPlan(
        run_id=new_training_id(task.name, choice.kind),
        task=task.name,
        data=asdict(resolved),
        data_spec=resolved.spec,
        method=method,
        setting=setting,
        synthetic_snapshot=synthetic_snapshot,
        gold_snapshot=gold_snapshot,
        eval_dataset=eval_id,
        eval_snapshot=eval_snapshot,
        seeds=list(range(request.seeds)),
        sizes=sorted(choice.sizes) if choice.sizes else [None],
        train=train.as_dict(),
    )
    frames = load_frames(project, plan)
    if not len(frames["eval"]):
        raise TrainingError(f"the evaluation split {eval_id} has no labelled examples")
    for _, size, _ in plan.runs()[: len(plan.sizes)]:  # one draw per size catches a class too small
        training_frame(task, plan, frames, size=size, seed=0)
    return plan


def _with_model_path(cfg: TrainConfig) -> TrainConfig:
    """A model folder becomes an absolute path (the job runs elsewhere); a Hub id (``org/name``) stays
    as it is and is checked when the job loads it."""
    model = cfg.model.strip()
    folder = Path(model).expanduser()
    if folder.is_dir():
        return replace(cfg, model=str(folder.resolve()))
    looks_like_path = model.startswith((".", "/", "~")) or model.count("/") >= 2
    if looks_like_path and not Path(model).expanduser().is_dir():
        raise TrainingError(f"model folder {model!r} does not exist (give a folder with config.json and weights)")
    return cfg


def _synthetic_snapshot(project: Project, task: Task, choice: DataChoice, by_id, created_by: str) -> int:
    if choice.snapshot is not None:
        snapshot = get_snapshot(project, choice.snapshot)
    else:
        if choice.dataset not in by_id:
            raise TrainingError(f"no dataset {choice.dataset!r} (list them with: python -m japagen_core datasets)")
        snapshot = create_snapshot(project, choice.dataset, exclude_flagged=choice.exclude_flagged,
                                   created_by=created_by)  # fmt: skip
    if snapshot.task != task.name:
        raise TrainingError(f"snapshot {snapshot.id} holds {snapshot.task} data, not {task.name}")
    info = by_id.get(snapshot.dataset_id)
    if info is not None and info.kind == "unlabeled":
        raise TrainingError(f"snapshot {snapshot.id} is of unlabeled texts: annotate them first")
    return snapshot.id


def _synthetic_row(project: Project, snapshot_id: int, by_id) -> tuple[str, str]:
    """The Table 1 row of a snapshot's data: JAPAGEN with the run's generation setting (from the
    dataset's run settings, else the examples' provenance), or gold fine-tuning for gold data. Data
    from a fine-tuned teacher gets a row of its own, beside the untuned teacher's at the same sizes."""
    info = by_id.get(get_snapshot(project, snapshot_id).dataset_id)
    if info is None or info.kind == "gold":
        return "fine-tuning", "fully-supervised"
    run = info.meta.get("run") or {}
    tuned = " (tuned teacher)" if run.get("teacher") else ""  # Kaddour & Liu: a teacher fine-tuned on gold
    if run.get("mode") == "annotate":
        return "japagen", "annotate" + tuned
    setting = run.get("setting") or info.meta.get("setting")
    if not setting:
        settings = [json.loads(p or "{}").get("setting") for p in read_snapshot(project, snapshot_id)["provenance"]]
        setting = Counter(s for s in settings if s).most_common(1)[0][0] if any(settings) else "zero-shot"
    return "japagen", str(setting) + tuned


def _check_gold(task: Task, dataset_id: str, by_id, role: str) -> None:
    info = by_id.get(dataset_id)
    if info is None:
        raise TrainingError(f"no dataset {dataset_id!r} for {role} (list them with: python -m japagen_core datasets)")
    if info.task != task.name:
        raise TrainingError(f"the {role} split {dataset_id} is a {info.task} dataset, not {task.name}")
    if info.kind != "gold":
        raise TrainingError(f"the {role} split must be gold data; {dataset_id} is {info.kind}")


def _prefer_real(candidates: list) -> list:
    real = [d for d in candidates if not d.is_demo]
    return real or candidates


def default_gold_train(task: Task, datasets) -> str:
    candidates = _prefer_real([d for d in datasets if d.task == task.name and d.kind == "gold" and d.split == "train"])
    if len(candidates) == 1:
        return candidates[0].id
    if not candidates:
        raise TrainingError(
            f"no gold training split of {task.name}: import one with `import-gold --split train`, or name it"
        )
    raise TrainingError(f"several gold training splits of {task.name}: name one of {[d.id for d in candidates]}")


def default_eval(task: Task, datasets, *, exclude: str | None) -> str:
    for split in EVAL_SPLITS:
        candidates = _prefer_real([d for d in datasets if d.task == task.name and d.kind == "gold"
                                   and d.split == split and d.id != exclude])  # fmt: skip
        if len(candidates) == 1:
            return candidates[0].id
        if candidates:
            raise TrainingError(f"several gold {split} splits of {task.name}: name one of {[d.id for d in candidates]}")
    raise TrainingError(
        f"no gold test or valid split of {task.name} to evaluate on: import one (e.g. JGLUE's valid file)"
    )


# --- the data of one model ---------------------------------------------------------------------


def load_frames(project: Project, plan: TrainPlan) -> dict[str, pd.DataFrame]:
    """The labelled rows of the plan's snapshots: synthetic, gold, eval (each when the plan has it)."""
    frames = {"eval": labelled(read_snapshot(project, plan.eval_snapshot))}
    if plan.synthetic_snapshot is not None:
        frames["synthetic"] = labelled(read_snapshot(project, plan.synthetic_snapshot))
    if plan.gold_snapshot is not None:
        frames["gold"] = labelled(read_snapshot(project, plan.gold_snapshot))
    return frames


def training_frame(task: Task, plan: TrainPlan, frames: dict[str, pd.DataFrame], *, size: int | None,
                   seed: int) -> pd.DataFrame:  # fmt: skip
    """The examples one model trains on, with a ``snapshot_id`` column saying where each came from."""
    choice = plan.choice
    parts = []
    if choice.kind in ("gold-fewshot", "gold-full", "mix"):
        gold = frames["gold"]
        keys = class_keys(task, gold)
        if choice.kind == "gold-fewshot":
            rows = sample_per_class(task, keys, choice.shots, seed=seed)
        elif choice.kind == "mix":
            rows = sample_fraction(task, keys, choice.gold_fraction, seed=seed)
        else:
            rows = list(range(len(gold)))
        parts.append(gold.iloc[rows].assign(snapshot_id=plan.gold_snapshot))
    if choice.kind in ("synthetic", "mix"):
        synthetic = frames["synthetic"]
        per_class = size if choice.kind == "synthetic" else choice.synthetic_per_class
        if per_class is None:
            rows = list(range(len(synthetic)))
        else:
            rows = sample_per_class(task, class_keys(task, synthetic), per_class, seed=seed)
        parts.append(synthetic.iloc[rows].assign(snapshot_id=plan.synthetic_snapshot))
    frame = pd.concat(parts, ignore_index=True)
    if not len(frame):
        raise TrainingError(f"no labelled training examples in {plan.data_spec}")
    return frame


def train_progress_line(p: dict[str, Any]) -> str:
    """One line of a train job's progress, for the CLI and the Jobs page."""
    progress = Progress.from_json(p)  # also reads a job's progress written before Progress ("ok")
    eta = f", ETA {progress.eta_s} s" if progress.eta_s is not None else ""
    return f"{progress.message} ({progress.done:,}/{progress.target:,} steps in all{eta})"
