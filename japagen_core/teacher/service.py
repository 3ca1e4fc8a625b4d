"""Teachers end to end: prepare the training file, submit the tuning job, run it, use the result.

    prepare(project, request)         the exact training file, its token count and estimated cost
    submit_teacher(project, request)  snapshot the data, write the file into a job folder, register, start
    run_teacher_job(project, job, .)  the job's body: OpenAI fine-tuning or local LoRA, then the registry
    list_teachers(project)            the registry with each unfinished teacher's live job state
    run_fields(project, teacher)      the RunConfig / LLM settings that generate with a teacher

The data is a gold split (``gold-fewshot[:K]`` per class, drawn with the seed exactly as a student's
few-shot training draws it, or ``gold-full``) or synthetic data someone reviewed (``snapshot:ID``,
``dataset:ID``), in the same words as ``train --data``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from japagen_core.errors import JapagenError
from japagen_core.generation.llm import resolve_api_key
from japagen_core.generation.local import check_model_name
from japagen_core.generation.prompts import load_spec
from japagen_core.jobs.store import FINAL_STATES, Job, JobError, JobStore
from japagen_core.project import Project
from japagen_core.review.snapshots import create_snapshot, get_snapshot, read_snapshot
from japagen_core.settings import SECRETS_PATH
from japagen_core.storage import repository as repo
from japagen_core.teacher import registry
from japagen_core.teacher.lora_config import LoraTuning
from japagen_core.teacher.openai_tune import DEFAULT_BASE_MODEL, FineTuningFlow, OpenAITuning
from japagen_core.teacher.registry import BACKENDS, Teacher
from japagen_core.teacher.trainfile import (
    OPENAI_MIN_EXAMPLES,
    PURPOSES,
    TeacherError,
    TrainingFile,
    build_training_file,
    read_training_file,
    training_cost,
)
from japagen_core.training.config import TrainingError
from japagen_core.training.data import DataChoice, class_keys, labelled, parse_data, sample_per_class
from japagen_core.training.plan import default_gold_train
from japagen_core.training.weights import check_model_available

log = logging.getLogger(__name__)
JOB_KINDS = {"openai": "teacher-tune-openai", "local": "teacher-tune-local"}
TRAINING_FILE = "train.jsonl"  # in the job folder: exactly what is uploaded / trained on
DEFAULT_DATA = "gold-fewshot:5"


@dataclass(frozen=True)
class TeacherRequest:
    """What a user asks for. ``openai`` holds OpenAITuning fields, ``lora`` LoraTuning fields."""

    task: str
    backend: str
    base_model: str = DEFAULT_BASE_MODEL
    data: str = DEFAULT_DATA
    purpose: str = "generate"
    gold_dataset: str | None = None
    base_url: str | None = None
    allow_insecure_http: bool = False  # confirmed: the key may go over plain http to base_url
    seed: int = 0
    exclude_flagged: bool = True  # flagged examples stay out, as in export and student training
    openai: dict[str, Any] = field(default_factory=dict)
    lora: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Prepared:
    """A request resolved into its training file, before anything is started."""

    request: TeacherRequest
    file: TrainingFile
    data_spec: str
    source_dataset: str
    snapshot_id: int | None
    epochs: float

    @property
    def tokens(self) -> int:
        """Estimated tokens of the file (one epoch)."""
        return self.file.tokens

    @property
    def trained_tokens(self) -> int:
        """Estimated tokens billed (OpenAI) or seen (LoRA): the file times the epochs."""
        return round(self.file.tokens * self.epochs)

    @property
    def cost_usd(self) -> float | None:
        if self.request.backend != "openai":
            return 0.0
        return training_cost(self.request.base_model, self.file.tokens, self.epochs)

    def summary(self) -> dict[str, Any]:
        return {
            "task": self.request.task,
            "backend": self.request.backend,
            "base_model": self.request.base_model,
            "purpose": self.request.purpose,
            "data": self.data_spec,
            "source_dataset": self.source_dataset,
            "snapshot_id": self.snapshot_id,
            "examples": len(self.file.records),
            "answers_per_label": self.file.answers_per_label(),
            "epochs": self.epochs,
            "tokens_estimate": self.tokens,
            "trained_tokens_estimate": self.trained_tokens,
            "cost_usd_estimate": self.cost_usd,
            "training_file_sha": self.file.sha256,
            "token_count": "estimate without a tokenizer: ~1 token per Japanese character, 4 ASCII characters "
            "per token, 4 per message",
        }


def check_request(project: Project, request: TeacherRequest):
    """The task and the backend's settings, checked; TeacherError names the bad value."""
    if request.backend not in BACKENDS:
        raise TeacherError(f"backend {request.backend!r} must be one of {list(BACKENDS)}")
    if request.purpose not in PURPOSES:
        raise TeacherError(f"purpose {request.purpose!r} must be one of {list(PURPOSES)}")
    if not request.base_model.strip():
        raise TeacherError("base model must not be empty")
    task = project.registry[request.task]
    if request.backend == "openai":
        return task, OpenAITuning(**request.openai)
    check_model_name(request.base_model)
    return task, LoraTuning(**request.lora)


def _choice(request: TeacherRequest) -> DataChoice:
    try:
        choice = parse_data(request.data, gold_dataset=request.gold_dataset, exclude_flagged=request.exclude_flagged)
    except TrainingError as exc:
        raise TeacherError(str(exc)) from None
    if choice.kind == "mix":
        raise TeacherError("a teacher is tuned on gold data or one snapshot, not a mix: use gold-fewshot:K, "
                           "gold-full, snapshot:ID or dataset:ID")  # fmt: skip
    return choice


def _frame(project: Project, request: TeacherRequest, choice: DataChoice, *, snapshot: bool):
    """(rows, source dataset, snapshot id). With ``snapshot`` the data is frozen first (submit); without
    it a preview reads the dataset as it is now (the same rows unless someone reviews it meanwhile)."""
    task = project.registry[request.task]
    if choice.snapshot is not None:
        info = get_snapshot(project, choice.snapshot)
        if info.task != task.name:
            raise TeacherError(f"snapshot {info.id} holds {info.task} data, not {task.name}")
        return read_snapshot(project, info.id), info.dataset_id, info.id
    with project.db.transaction() as con:
        datasets = repo.list_datasets(con)
    if choice.dataset:
        dataset_id = choice.dataset
    else:
        try:
            dataset_id = choice.gold_dataset or default_gold_train(task, datasets)
        except TrainingError as exc:
            raise TeacherError(str(exc)) from None
    info = next((d for d in datasets if d.id == dataset_id), None)
    if info is None:
        raise TeacherError(f"no dataset {dataset_id!r} (list them with: python -m japagen_core datasets)")
    if info.task != task.name:
        raise TeacherError(f"dataset {dataset_id} is a {info.task} dataset, not {task.name}")
    if choice.kind.startswith("gold") and info.kind != "gold":
        raise TeacherError(f"{choice.spec} needs a gold split; {dataset_id} is {info.kind}")
    if snapshot:
        frozen = create_snapshot(project, dataset_id, exclude_flagged=choice.exclude_flagged, created_by="teacher")
        return read_snapshot(project, frozen.id), dataset_id, frozen.id
    with project.db.transaction() as con:
        frame = con.execute(
            "SELECT row_idx, text, text_b, label, score FROM examples WHERE dataset_id = ? ORDER BY row_idx",
            [dataset_id],
        ).df()
    return frame, dataset_id, None


def prepare(project: Project, request: TeacherRequest, *, snapshot: bool = False) -> Prepared:
    """The training file a request would use, with its size and estimated cost."""
    task, settings = check_request(project, request)
    choice = _choice(request)
    frame, source, snapshot_id = _frame(project, request, choice, snapshot=snapshot)
    frame = labelled(frame)
    if choice.kind == "gold-fewshot":
        try:
            rows = sample_per_class(task, class_keys(task, frame), choice.shots, seed=request.seed)
        except TrainingError as exc:
            raise TeacherError(f"{source}: {exc}") from None
        frame = frame.iloc[rows].reset_index(drop=True)
    spec = load_spec(project.settings.prompts_dir, task)
    file = build_training_file(task, spec, frame, purpose=request.purpose)
    if request.backend == "openai" and len(file.records) < OPENAI_MIN_EXAMPLES:
        raise TeacherError(
            f"the training file has {len(file.records)} conversation(s); OpenAI fine-tuning needs at least "
            f"{OPENAI_MIN_EXAMPLES}: use more gold examples per class"
        )
    epochs = float(settings.n_epochs) if request.backend == "openai" else float(settings.epochs)
    # Synthetic data is named by its snapshot once frozen; gold data by how it was drawn (the snapshot
    # id is kept beside it).
    data_spec = f"snapshot:{snapshot_id}" if choice.kind == "synthetic" and snapshot_id is not None else choice.spec
    return Prepared(request, file, data_spec, source, snapshot_id, epochs)


def new_teacher_id(task: str, backend: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"teacher-{task}-{backend}-{stamp}-{os.urandom(2).hex()}"


def submit_teacher(project: Project, request: TeacherRequest, *, start: bool = True) -> tuple[Teacher, Job]:
    """Freeze the data, write the training file into a new job folder, register the teacher, start the job."""
    from japagen_core.jobs.kinds import submit  # the job kinds' one way in (teacher/kind.py plans it)

    job = submit(project, JOB_KINDS.get(request.backend, f"teacher-tune-{request.backend}"), request, start=start)
    return registry.get_teacher(project, job.config["teacher_id"]), job


def plan_teacher(project: Project, request: TeacherRequest) -> tuple[dict[str, Any], bytes, Callable[[Job], None]]:
    """At submit: the job's config, the exact training file, and what registers the teacher once the job exists."""
    project.require_writable("fine-tuning a teacher")
    if request.backend == "openai":  # no key: say so now, not in the job's log
        resolve_api_key(request.base_url, allow_insecure_http=request.allow_insecure_http, secrets_path=SECRETS_PATH)
    elif problem := check_model_available(request.base_model):  # say so now, before a snapshot and a job
        raise TeacherError(problem)
    prepared = prepare(project, request, snapshot=True)
    teacher_id = new_teacher_id(request.task, request.backend)
    config = {
        "teacher_id": teacher_id,
        "request": asdict(request),
        "data_spec": prepared.data_spec,
        "snapshot_id": prepared.snapshot_id,
        "training_file": TRAINING_FILE,
        "training_file_sha": prepared.file.sha256,
        "summary": prepared.summary(),
        "task": request.task,  # the Jobs page and CLI show a job's task from here
    }

    def register(job: Job) -> None:
        teacher = Teacher(
            id=teacher_id, task=request.task, backend=request.backend, purpose=request.purpose,
            base_model=request.base_model, base_url=request.base_url, model=None, status="queued", job_id=job.id,
            remote_job_id=None, training_file_sha=prepared.file.sha256, data_spec=prepared.data_spec,
            snapshot_id=prepared.snapshot_id, examples=len(prepared.file.records),
            meta={"settings": request.openai if request.backend == "openai" else request.lora, "seed": request.seed,
                  "source_dataset": prepared.source_dataset, "tokens_estimate": prepared.tokens,
                  "trained_tokens_estimate": prepared.trained_tokens, "cost_usd_estimate": prepared.cost_usd,
                  "prompt_version": prepared.file.prompt_version},
        )  # fmt: skip
        registry.insert_teacher(project, teacher)

    return config, prepared.file.data, register


# --- the job ------------------------------------------------------------------------------------------


def run_teacher_job(project: Project, job: Job, report, cancelled) -> dict[str, Any]:
    """The body of a teacher-tune-* job: tune, then record the result in the registry."""
    config = job.config
    teacher_id = config["teacher_id"]
    request = TeacherRequest(**config["request"])
    data = (job.dir / TRAINING_FILE).read_bytes()
    if hashlib.sha256(data).hexdigest() != config["training_file_sha"]:
        raise TeacherError(f"{job.dir / TRAINING_FILE} changed after the job was submitted; submit a new one")
    registry.update_teacher(project, teacher_id, status="running", message=None)
    try:
        if request.backend == "openai":
            outcome = _tune_openai(project, job, request, teacher_id, data, report, cancelled)
        else:
            outcome = _tune_local(project, request, teacher_id, data, config, report, cancelled)
    except JapagenError as exc:  # a refused key, a failed remote job, weights that cannot be loaded
        registry.update_teacher(project, teacher_id, status="failed", message=str(exc))
        raise
    if outcome["state"] == "cancelled":
        registry.update_teacher(project, teacher_id, status="cancelled", message="cancelled")
        return {"state": "cancelled", "message": "cancelled", "teacher_id": teacher_id}
    registry.update_teacher(project, teacher_id, status="succeeded", model=outcome["model"], message=None,
                            meta=outcome.get("meta", {}))  # fmt: skip
    log.info("teacher %s is ready: %s", teacher_id, outcome["model"])
    return {"state": "succeeded", "teacher_id": teacher_id, "model": outcome["model"],
            "message": f"teacher {teacher_id}: {outcome['model']}"}  # fmt: skip


def _tune_openai(project, job, request, teacher_id, data, report, cancelled) -> dict[str, Any]:
    key = resolve_api_key(request.base_url, allow_insecure_http=request.allow_insecure_http, secrets_path=SECRETS_PATH)
    summary = job.config["summary"]
    flow = FineTuningFlow(
        base_model=request.base_model, base_url=request.base_url, api_key=key,
        settings=OpenAITuning(**request.openai), state_dir=job.dir, teacher_id=teacher_id,
        report=report, cancelled=cancelled,
        on_created=lambda remote_id: registry.update_teacher(project, teacher_id, remote_job_id=remote_id),
    )  # fmt: skip
    extra = {"prompt_tokens": summary["trained_tokens_estimate"], "cost_usd": summary["cost_usd_estimate"]}
    outcome = flow.run(data, extra=extra)
    meta = {"file_id": outcome.get("file_id"), "trained_tokens": outcome.get("trained_tokens"),
            "events": len(flow.events)}  # fmt: skip
    return {**outcome, "meta": meta}


def _tune_local(project, request, teacher_id, data, config, report, cancelled) -> dict[str, Any]:
    from japagen_core.teacher.local_tune import TuningCancelled, tune_lora  # torch loads only in this job

    folder = Path("teachers") / teacher_id / "adapter"  # relative to JAPAGEN_HOME, as stored
    info = {"teacher_id": teacher_id, "task": request.task, "purpose": request.purpose,
            "training_file_sha": config["training_file_sha"], "data_spec": config["data_spec"]}  # fmt: skip
    try:
        outcome = tune_lora(read_training_file(data), base_model=request.base_model,
                            out_dir=project.settings.home / folder, settings=LoraTuning(**request.lora), info=info,
                            report=report, cancelled=cancelled)  # fmt: skip
    except TuningCancelled:
        return {"state": "cancelled"}
    meta = {k: outcome[k] for k in ("adapter_sha", "steps", "loss", "tokens", "trainable", "device")}
    return {"state": "succeeded", "model": str(folder), "meta": meta}


# --- reading the registry -------------------------------------------------------------------------------


def list_teachers(project: Project, *, task: str | None = None, usable: bool = False) -> list[Teacher]:
    """The registered teachers, newest first; an unfinished one shows its job's state (a job that died
    leaves its row 'running')."""
    store = JobStore(project.settings.jobs_dir)
    out = []
    for teacher in registry.stored_teachers(project, task=task):
        if teacher.status not in registry.FINAL and teacher.job_id:
            try:
                state = store.get(teacher.job_id).state
            except JobError:  # the job folder is gone: the row's own status is all there is
                state = None
            if state in FINAL_STATES or state == "interrupted":
                teacher = Teacher(**{**asdict(teacher), "status": "failed" if state == "interrupted" else state,
                                     "message": "the tuning job stopped: resume it on the Jobs page"
                                     if state == "interrupted" else teacher.message})  # fmt: skip
        if not usable or teacher.usable:
            out.append(teacher)
    return out


def run_fields(project: Project, teacher: Teacher) -> dict[str, Any]:
    """How to generate with a teacher: the model (and base URL) of its LLM settings, the backend and the
    local settings of a RunConfig, and the teacher id that every example records."""
    if not teacher.usable:
        raise TeacherError(f"teacher {teacher.id} is {teacher.status}: only a succeeded teacher can generate")
    if teacher.backend == "openai":
        return {"model": teacher.model, "base_url": teacher.base_url, "backend": "openai", "local": {},
                "teacher": teacher.id}  # fmt: skip
    adapter = teacher.adapter_path(project.settings.home)
    if not (adapter / "adapter_config.json").is_file():
        raise TeacherError(f"teacher {teacher.id}: its adapter folder {adapter} is missing")
    return {"model": teacher.base_model, "base_url": None, "backend": "local", "local": {"adapter": str(adapter)},
            "teacher": teacher.id}  # fmt: skip


def preview_frame(prepared: Prepared, limit: int = 3) -> pd.DataFrame:
    """The first conversations as rows of (conversation, role, content), for a page or the CLI."""
    rows = [
        {"conversation": i + 1, "role": m["role"], "content": m["content"]}
        for i, record in enumerate(prepared.file.records[:limit])
        for m in record["messages"]
    ]
    return pd.DataFrame(rows, columns=["conversation", "role", "content"])
