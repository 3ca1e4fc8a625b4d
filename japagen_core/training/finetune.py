"""Fine-tuning with the transformers Trainer, one model per seed (and scaling size), then evaluation.

A job's models train side by side in worker processes where the machine has room (side_by_side.py);
each is ``train_model`` here. This module imports the store (DuckDB) only inside the functions that
read or write it, so a worker (and bench/finetune.py on a machine without DuckDB) can import it.

This module imports torch and transformers: import it only where training happens (the job process,
``evaluate``), never in the app.

Batches are padded to their own longest example (``DataCollatorWithPadding``), never to 512. On a GPU
the Trainer uses bf16 (or fp16) mixed precision; without one it trains on the CPU. Progress goes to the
job's report callback; a ``TrainerCallback`` checks the job's CANCEL file after every step.

Several GPUs: launch the same job with accelerate, no code change —

    python -m japagen_core train ... --no-start            # prints the job folder
    accelerate launch --multi_gpu --num_processes 4 -m japagen_core job run <job folder>

Every process trains its shard of each batch (DDP); only the main process evaluates and writes.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
import transformers
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)

from japagen_core.tasks import Task
from japagen_core.training.callbacks import CancelCallback, ProgressCallback
from japagen_core.training.config import TrainConfig, TrainingError
from japagen_core.training.data import labelled, targets
from japagen_core.training.evaluate import task_metrics
from japagen_core.training.model_card import model_card
from japagen_core.training.store import ModelRecord, get_model, model_done, save_evaluation, save_model
from japagen_core.training.weights import load_tokenizer_and_model

if TYPE_CHECKING:  # the store (DuckDB) is imported only where a job reads or writes it: a worker process
    from japagen_core.project import Project  # training models side by side never opens it (side_by_side.py)
    from japagen_core.training.plan import TrainPlan

log = logging.getLogger(__name__)
CARD_FILE = "README.md"  # the Hugging Face model card
MODEL_FILE = "japagen.json"  # in every model folder: label map, seed, snapshots, config, metrics
PREDICTIONS_FILE = "predictions.parquet"
ROWS_FILE = "train_rows.json"


class TrainingCancelled(Exception):
    """The job's CANCEL file appeared while a model trained or predicted."""


# --- the model and its inputs ------------------------------------------------------------------


def weights_help(name: str, reason: str) -> str:
    return (
        f"cannot load the model {name!r} ({reason}). japagen needs its weights and tokenizer, from a local "
        f"folder or the Hugging Face Hub. Either (1) on a machine with internet run "
        f"`huggingface-cli download {name} --local-dir ./models/{name.rsplit('/', 1)[-1]}`, copy that folder here "
        f"and pass it as the model (--model /path/to/folder, or the Model field of the Train page); or (2) copy a "
        f"Hugging Face cache that holds the model (~/.cache/huggingface, or $HF_HOME) to this machine: japagen "
        f"loads a model it finds there without asking the Hub."
    )


def load_pretrained(name: str, task: Task):
    """Tokenizer and a sequence-classification model (a fresh head) for the task; TrainingError with
    instructions when the weights cannot be had."""
    if task.target == "score":
        head = {"num_labels": 1, "problem_type": "regression", "id2label": {0: "score"}, "label2id": {"score": 0}}
    else:
        names = task.label_names
        head = {
            "num_labels": len(names),
            "problem_type": "single_label_classification",
            "id2label": dict(enumerate(names)),
            "label2id": {n: i for i, n in enumerate(names)},
        }
    try:
        tokenizer, model = load_tokenizer_and_model(
            name, AutoModelForSequenceClassification, ignore_mismatched_sizes=True, **head
        )
    except (OSError, ValueError, ImportError) as exc:
        raise TrainingError(weights_help(name, _short(exc))) from None
    return tokenizer, model


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def encode(tokenizer, task: Task, frame: pd.DataFrame, *, max_length: int, labels: list | None = None) -> list[dict]:
    """Token ids per example, truncated to ``max_length`` and not padded (batches pad themselves)."""
    text_b = list(frame["text_b"]) if task.is_pair else None
    encoded = tokenizer(list(frame["text"]), text_b, truncation=True, max_length=max_length,
                        return_token_type_ids=True)  # fmt: skip
    keys = ("input_ids", "token_type_ids", "attention_mask")
    features = [{k: encoded[k][i] for k in keys} for i in range(len(frame))]
    if labels is not None:
        for feature, label in zip(features, labels, strict=True):
            feature["labels"] = label
    return features


def _device() -> str:
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def resolve_precision(cfg: TrainConfig, device: str) -> str:
    if device != "cuda":
        if cfg.precision in ("fp16",):
            raise TrainingError(f"precision {cfg.precision} needs a GPU; this machine trains on {device}")
        return "bf16" if cfg.precision == "bf16" else "fp32"
    if cfg.precision == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return cfg.precision


def training_arguments(cfg: TrainConfig, task: Task, *, seed: int, output_dir: Path, precision: str,
                       logging_steps: int) -> TrainingArguments:  # fmt: skip
    return TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.eval_batch_size,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate,
        adam_beta1=cfg.adam_beta1,
        adam_beta2=cfg.adam_beta2,
        adam_epsilon=cfg.adam_epsilon,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_ratio,  # transformers 5: a float below 1 is a ratio of the total steps
        lr_scheduler_type="linear",
        optim="adamw_torch",
        label_smoothing_factor=cfg.label_smoothing if task.target == "class" else 0.0,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=_device() == "cpu",
        seed=seed,
        data_seed=seed,
        logging_steps=logging_steps,
        logging_first_step=True,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,  # BERT uses every parameter; the search costs a graph traversal a step
    )


# --- prediction ---------------------------------------------------------------------------------


@torch.no_grad()
def predict(model, tokenizer, task: Task, frame: pd.DataFrame, *, max_length: int, batch_size: int = 64,
            cancelled: Callable[[], bool] = lambda: False) -> pd.DataFrame:  # fmt: skip
    """Predictions for every row: row_idx, predicted (label), score (score tasks), probabilities (JSON).

    Examples are batched by length (and put back in order), so padding stays small.
    """
    device = next(model.parameters()).device
    model.eval()
    features = encode(tokenizer, task, frame, max_length=max_length)
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    collate = DataCollatorWithPadding(tokenizer, return_tensors="pt")
    logits = np.zeros((len(features), model.config.num_labels), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        if cancelled():
            raise TrainingCancelled()
        chunk = order[start : start + batch_size]
        batch = {k: v.to(device) for k, v in collate([features[i] for i in chunk]).items()}
        logits[chunk] = model(**batch).logits.float().cpu().numpy()
    if task.target == "score":
        return pd.DataFrame({"row_idx": frame["row_idx"].to_numpy(), "predicted": None,
                             "score": logits[:, 0].astype(float), "probabilities": None})  # fmt: skip
    probs = torch.softmax(torch.from_numpy(logits), dim=-1).numpy()
    names = task.label_names
    return pd.DataFrame(
        {
            "row_idx": frame["row_idx"].to_numpy(),
            "predicted": [names[i] for i in probs.argmax(axis=1)],
            "score": None,
            "probabilities": [json.dumps([round(float(p), 6) for p in row]) for row in probs],
        }
    )


def gold_values(task: Task, frame: pd.DataFrame) -> list:
    """The gold answer per row: a label name, or a float score."""
    if task.target == "class":
        return list(frame["label"])
    return targets(task, frame)


def prediction_values(task: Task, predictions: pd.DataFrame) -> list:
    return list(predictions["predicted"]) if task.target == "class" else list(predictions["score"])


# --- one model -----------------------------------------------------------------------------------


@dataclass
class TrainedModel:
    metrics: dict[str, Any]
    predictions: pd.DataFrame
    info: dict[str, Any]


def train_model(task: Task, cfg: TrainConfig, train: pd.DataFrame, evaluation: pd.DataFrame, *, seed: int,
                folder: Path, on_step=lambda step, total, loss: None,
                cancelled: Callable[[], bool] = lambda: False) -> TrainedModel | None:  # fmt: skip
    """Fine-tune one model on ``train``, evaluate it on ``evaluation`` and write its folder.

    Returns None in a DDP helper process (only the main process evaluates and writes). Raises
    TrainingCancelled when the job was cancelled.
    """
    transformers.set_seed(seed)  # the new classification head is drawn from the seed too
    tokenizer, model = load_pretrained(cfg.model, task)
    max_length = cfg.max_length or task.max_length
    device = _device()
    precision = resolve_precision(cfg, device)
    features = encode(tokenizer, task, train, max_length=max_length, labels=targets(task, train))
    steps_per_epoch = math.ceil(len(features) / cfg.batch_size)
    expected = cfg.max_steps if cfg.max_steps > 0 else math.ceil(steps_per_epoch * cfg.epochs)
    scratch = folder.parent / f".trainer-{folder.name}"
    shutil.rmtree(scratch, ignore_errors=True)  # left by an attempt that was killed
    args = training_arguments(cfg, task, seed=seed, output_dir=scratch, precision=precision,
                              logging_steps=max(1, min(50, expected // 20)))  # fmt: skip
    cancel = CancelCallback(cancelled)
    progress = ProgressCallback(on_step)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=features,
        data_collator=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8 if device == "cuda" else None),
        processing_class=tokenizer,
        callbacks=[cancel, progress],
    )
    started = time.monotonic()
    output = trainer.train()
    seconds = time.monotonic() - started
    shutil.rmtree(scratch, ignore_errors=True)
    if cancel.stopped:
        raise TrainingCancelled()
    if not trainer.is_world_process_zero():
        return None
    predictions = predict(model, tokenizer, task, evaluation, max_length=max_length,
                          batch_size=cfg.eval_batch_size, cancelled=cancelled)  # fmt: skip
    metrics = task_metrics(task, gold_values(task, evaluation), prediction_values(task, predictions))
    info = {
        "seed": seed,
        "device": device,
        "precision": precision,
        "processes": int(args.world_size),
        "torch_threads": torch.get_num_threads(),  # a CPU sums in another order with another thread count
        "max_length": max_length,
        "label_smoothing": args.label_smoothing_factor,
        "problem_type": model.config.problem_type,
        "id2label": {str(k): v for k, v in model.config.id2label.items()},
        "train_examples": len(features),
        "steps": int(output.global_step),
        "train_seconds": round(seconds, 2),
        "train_examples_per_second": round(len(features) * cfg.epochs / seconds, 2) if cfg.max_steps < 0 else None,
        "train_loss": float(output.training_loss),
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
    }
    _write_folder(folder, trainer, model, tokenizer, cfg)
    return TrainedModel(metrics, predictions, info)


def _write_folder(folder: Path, trainer, model, tokenizer, cfg: TrainConfig) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if cfg.save_weights:
        trainer.save_model(str(folder))  # config.json, weights, tokenizer files
        (folder / "training_args.bin").unlink(missing_ok=True)  # a pickle; the settings are in japagen.json
    else:
        model.config.save_pretrained(str(folder))
        tokenizer.save_pretrained(str(folder))


# --- a train job ---------------------------------------------------------------------------------


def models_dir(project: Project) -> Path:
    return project.settings.home / "models"


def run_training_job(project: Project, config: dict[str, Any], *, job_id: str, report: Callable,
                     cancelled: Callable[[], bool]) -> dict[str, Any]:  # fmt: skip
    """Train and evaluate every model of a plan (sizes x seeds), side by side where the machine has room
    (``side_by_side.py``); resume skips the finished ones."""
    from japagen_core.training.plan import TrainPlan, load_frames, training_frame
    from japagen_core.training.side_by_side import ModelRun, Slots, choose_slots, longest_batch, train_side_by_side

    plan = TrainPlan.from_dict(config)
    task = project.registry[plan.task]
    cfg = plan.config
    frames = load_frames(project, plan)
    runs = plan.runs()
    main_process = int(os.environ.get("RANK", "0")) == 0
    tracker = _Tracker(report if main_process else (lambda s: None), task, plan, frames, cfg)
    finished: set[str] = set()
    todo: list[ModelRun] = []
    for number, (model_id, size, seed) in enumerate(runs, start=1):
        folder = models_dir(project) / model_id
        if model_done(project, model_id) or _finished_earlier(project, folder, plan, store=main_process):
            finished.add(model_id)
            tracker.skip(number)
            continue
        train = training_frame(task, plan, frames, size=size, seed=seed)
        partial = folder.with_name(f".partial-{model_id}")
        shutil.rmtree(partial, ignore_errors=True)  # left by an attempt that was killed
        todo.append(ModelRun(number, len(runs), model_id, seed, size, train, partial))
        log.info("model %d/%d %s: %d examples (size %s, seed %d)", number, len(runs), model_id, len(train), size, seed)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # DDP: every process trains the same model at once
        slots = Slots(1, torch.get_num_threads(), _device(), "one model at a time across the DDP processes")
    else:
        tokens = longest_batch([run.train for run in todo], cfg.max_length or task.max_length)
        slots = choose_slots(len(todo), cfg, tokens)
    if len(todo) > 1:
        log.info("%d models to train: %s", len(todo), slots.reason)
    tracker.side_by_side(slots, len(todo))

    def store(run: ModelRun, trained: TrainedModel | None) -> None:
        if trained is None:  # a DDP helper process
            return
        record = _record(plan, job_id, run.model_id, run.size, run.seed, run.train, trained)
        _finish_folder(run.folder, models_dir(project) / run.model_id, record, run.train, trained)
        save_model(project, record, trained.predictions)
        finished.add(run.model_id)
        tracker.finished(run)
        score = record.score if record.score is not None else float("nan")
        log.info("model %s: %s %.4f", run.model_id, task.metric, score)
        _free_memory()

    try:
        state = train_side_by_side(task, cfg, todo, frames["eval"], slots=slots, on_step=tracker.on_step,
                                   on_done=store, cancelled=cancelled)  # fmt: skip
    finally:
        for run in todo if main_process else ():  # what a cancel, a failure or a dead worker left unfinished
            if run.model_id not in finished:
                shutil.rmtree(run.folder, ignore_errors=True)
    done = [model_id for model_id, _, _ in runs if model_id in finished]
    if state == "cancelled":
        message = f"cancelled ({len(done)} of {len(runs)} models finished); resume to train the rest"
        return {"state": "cancelled", "message": message}
    return {"state": "succeeded", "message": f"{len(done)} models trained and evaluated", "models": done,
            "run_id": plan.run_id}  # fmt: skip


def _record(plan: TrainPlan, job_id, model_id, size, seed, train: pd.DataFrame, trained: TrainedModel) -> ModelRecord:
    snapshots = sorted({int(s) for s in train["snapshot_id"]})
    return ModelRecord(
        id=model_id,
        run_id=plan.run_id,
        job_id=job_id,
        kind="finetune",
        task=plan.task,
        method=plan.method,
        setting=plan.setting,
        data_spec=plan.data_spec,
        train_snapshots=snapshots,
        train_examples=len(train),
        per_class=size,
        eval_dataset_id=plan.eval_dataset,
        eval_snapshot_id=plan.eval_snapshot,
        base_model=plan.config.model,
        seed=seed,
        config={**plan.train, "effective": trained.info},
        path=str(Path("models") / model_id),
        metric=trained.metrics["metric"],
        score=trained.metrics["main"],
        metrics=trained.metrics,
        created_at=datetime.now(),
    )


def _finish_folder(partial: Path, folder: Path, record: ModelRecord, train: pd.DataFrame, trained) -> None:
    """Write the model's own record next to its weights, then move the folder into place at once."""
    rows = [[int(s), int(r)] for s, r in zip(train["snapshot_id"], train["row_idx"], strict=True)]
    (partial / ROWS_FILE).write_text(json.dumps({"columns": ["snapshot_id", "row_idx"], "rows": rows}))
    trained.predictions.to_parquet(partial / PREDICTIONS_FILE, index=False)
    meta = {
        **asdict(record),
        "created_at": record.created_at.isoformat(timespec="seconds"),
        "labels": trained.info["id2label"],
        "rows_file": ROWS_FILE,
        "predictions_file": PREDICTIONS_FILE,
    }
    (partial / MODEL_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    (partial / CARD_FILE).write_text(model_card(record, meta["labels"]), encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(partial, folder)


def _finished_earlier(project: Project, folder: Path, plan: TrainPlan, *, store: bool) -> bool:
    """Whether an earlier attempt finished this model's folder (and died before storing it): the main
    process stores it now."""
    meta_path = folder / MODEL_FILE
    if not meta_path.exists() or not (folder / PREDICTIONS_FILE).exists():
        return False
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("run_id") != plan.run_id:
        return False
    if not store:
        return True
    fields = {k: meta[k] for k in ModelRecord.__dataclass_fields__ if k in meta}
    fields["created_at"] = datetime.fromisoformat(meta["created_at"])
    save_model(project, ModelRecord(**fields), pd.read_parquet(folder / PREDICTIONS_FILE))
    return True


def _free_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class _Tracker:
    """Progress over all models of a job, however many train at once: steps done of the steps expected
    (finished models count whole), the step rate of this attempt and the ETA from it, one typed
    ``Progress`` (jobs/progress.py) with the models in training in ``extras``."""

    def __init__(self, report, task: Task, plan: TrainPlan, frames, cfg: TrainConfig):
        self.report = report
        self.runs = plan.runs()
        self.expected = [self._expected_steps(task, plan, frames, cfg, size) for _, size, _ in self.runs]
        self.steps = [0] * len(self.runs)
        self.loss: list[float | None] = [None] * len(self.runs)
        self.done_models = 0
        self.active: dict[int, Any] = {}  # run number -> ModelRun, while it trains
        self.workers, self.threads = 1, None
        self.started: float | None = None
        self.steps_this_process = 0
        self.last_write = 0.0

    @staticmethod
    def _expected_steps(task, plan, frames, cfg: TrainConfig, size) -> int:
        from japagen_core.training.plan import training_frame
        from japagen_core.training.side_by_side import expected_steps

        if cfg.max_steps > 0:
            return cfg.max_steps
        n = len(training_frame(task, plan, frames, size=size, seed=plan.seeds[0]))
        return expected_steps(cfg, n, world=int(os.environ.get("WORLD_SIZE", "1")))

    def skip(self, number: int) -> None:
        self.steps[number - 1] = self.expected[number - 1]
        self.done_models += 1

    def side_by_side(self, slots, models: int) -> None:
        self.workers, self.threads = min(slots.workers, max(models, 1)), slots.threads

    def finished(self, run) -> None:
        self.steps[run.number - 1] = self.expected[run.number - 1]
        self.done_models += 1
        self.active.pop(run.number, None)
        self._write(run, force=True)

    def on_step(self, run, step: int, total: int, loss: float | None) -> None:
        now = time.monotonic()
        if self.started is None:
            self.started = now
        index = run.number - 1
        self.steps_this_process += max(0, step - self.steps[index])
        self.steps[index], self.expected[index] = step, total
        if loss is not None:
            self.loss[index] = loss
        self.active[run.number] = run
        self._write(run, force=step >= total)

    def _write(self, run, *, force: bool) -> None:
        from japagen_core.jobs.progress import Progress

        now = time.monotonic()
        if not force and now - self.last_write < 0.5:
            return
        self.last_write = now
        done, target = sum(self.steps), sum(self.expected)
        elapsed = max(now - (self.started or now), 1e-6)
        rate = self.steps_this_process / elapsed if self.started is not None else None
        eta = int((target - done) / rate) if rate and self.steps_this_process > 1 else None
        index = run.number - 1
        loss = self.loss[index]
        active = [
            {"run": r.number, "seed": r.seed, "size": r.size, "step": self.steps[r.number - 1],
             "steps": self.expected[r.number - 1], "loss": self.loss[r.number - 1]}
            for r in sorted(self.active.values(), key=lambda r: r.number)
        ]  # fmt: skip
        progress = Progress(
            state="running",
            done=done,
            target=target,
            unit="steps",
            rate_per_s=round(rate, 2) if rate is not None else None,
            eta_s=eta,
            message=self._message(run, active),
            extras={
                "run": run.number, "runs": len(self.runs), "seed": run.seed, "size": run.size,
                "step": self.steps[index], "steps": self.expected[index], "loss": loss,
                "models_done": self.done_models, "side_by_side": self.workers, "threads_per_model": self.threads,
                "active": active,
            },
        )  # fmt: skip
        self.report(progress.to_json())

    def _message(self, run, active: list[dict]) -> str:
        if len(active) <= 1:
            index = run.number - 1
            size = f", {run.size:,}/class" if run.size else ""
            loss = self.loss[index]
            loss_text = f", loss {loss:.4f}" if loss is not None else ""
            what = f"model {run.number}/{len(self.runs)} (seed {run.seed}{size})"
            return f"{what}: step {self.steps[index]}/{self.expected[index]}{loss_text}"
        each = ", ".join(f"model {a['run']} (seed {a['seed']}) step {a['step']}/{a['steps']}" for a in active)
        return f"{self.done_models} of {len(self.runs)} models done; {len(active)} side by side: {each}"


# --- evaluating a stored model on another split -----------------------------------------------


def evaluate_model(project: Project, model: dict[str, Any], frame: pd.DataFrame, *, batch_size: int = 64
                   ) -> tuple[dict[str, Any], pd.DataFrame]:  # fmt: skip
    """Load a stored model's folder and score it on ``frame`` (labelled rows of a snapshot)."""
    task = project.registry[model["task"]]
    if not model.get("path"):
        raise TrainingError(f"{model['id']} is a prompting run, not a model that can be evaluated again")
    folder = project.settings.home / model["path"]
    if not any(folder.glob("*.safetensors")) and not any(folder.glob("*.bin")):
        raise TrainingError(f"model {model['id']} was trained without keeping its weights ({folder})")
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    net = AutoModelForSequenceClassification.from_pretrained(str(folder)).to(_device())
    max_length = model["config"].get("effective", {}).get("max_length") or task.max_length
    predictions = predict(net, tokenizer, task, frame, max_length=max_length, batch_size=batch_size)
    return task_metrics(task, gold_values(task, frame), prediction_values(task, predictions)), predictions


def evaluate_stored(project: Project, model_id: str, dataset_id: str, *, fresh: bool = False) -> dict[str, Any]:
    """Score a stored model on a gold split and store the evaluation and its predictions.

    The split is read through a snapshot: the one the model was evaluated on when it is the same split
    (so the numbers are comparable with training time), else — or with ``fresh`` — a new one.
    """
    from japagen_core.review.snapshots import create_snapshot, get_snapshot, read_snapshot

    model = get_model(project, model_id)
    if not fresh and model["eval_dataset_id"] == dataset_id and model["eval_snapshot_id"] is not None:
        snapshot_id = int(model["eval_snapshot_id"])
    else:
        snapshot_id = create_snapshot(project, dataset_id, created_by="evaluate").id
    snapshot = get_snapshot(project, snapshot_id)
    if snapshot.task != model["task"]:
        raise TrainingError(f"{dataset_id} is a {snapshot.task} dataset; model {model_id} is for {model['task']}")
    frame = labelled(read_snapshot(project, snapshot_id))
    if not len(frame):
        raise TrainingError(f"{dataset_id} has no labelled examples to evaluate on")
    metrics, predictions = evaluate_model(project, model, frame)
    save_evaluation(project, model_id, dataset_id, snapshot_id, metrics, predictions)
    return {"model_id": model_id, "dataset_id": dataset_id, "snapshot_id": snapshot_id, "metrics": metrics}
