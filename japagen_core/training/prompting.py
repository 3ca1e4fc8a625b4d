"""The PROMPTING baseline (paper §4.1): the LLM itself classifies the gold test split, zero-shot or
few-shot (K gold examples per class in the prompt), through the same client as generation.

The question is the task's ``annotate`` prompt (prompts/<task>.yaml). Few-shot examples go before it
as earlier turns of the chat — the annotate question for each example, and its label as the answer —
drawn per seed from a gold training split and shuffled. An answer that names no label (or a call that
failed after retries) is kept with its raw text and counted as wrong; the count is shown with the score.

A job writes one Parquet part per chunk of examples, so a cancelled or killed job resumes where it
stopped; each seed becomes one stored "model" (kind ``prompting``) with its per-example answers.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from japagen_core.generation.clean import parse_label
from japagen_core.generation.llm import (
    ChatClient,
    FatalLLMError,
    LLMConfig,
    LLMError,
    cost_usd,
)
from japagen_core.generation.progress import REPORT_EVERY_S
from japagen_core.generation.prompts import PromptSpec, load_spec
from japagen_core.jobs.parts import PartsFolder, run_units
from japagen_core.jobs.progress import Progress
from japagen_core.project import Project
from japagen_core.review.snapshots import create_snapshot, read_snapshot
from japagen_core.storage import repository as repo
from japagen_core.tasks import Task
from japagen_core.training.config import DEFAULT_SEEDS, TrainingError
from japagen_core.training.data import class_keys, labelled, sample_per_class
from japagen_core.training.evaluate import task_metrics
from japagen_core.training.plan import default_eval, default_gold_train, new_training_id
from japagen_core.training.store import ModelRecord, model_done, save_model

log = logging.getLogger(__name__)
CHUNK = 50  # examples per part file
PART_SCHEMA = pa.schema([("row_idx", pa.int64()), ("predicted", pa.string()), ("score", pa.float64()),
                         ("raw", pa.string()), ("reason", pa.string()), ("prompt_tokens", pa.int64()),
                         ("completion_tokens", pa.int64())])  # fmt: skip
# Labelling wants a steady answer: low temperature (Kaddour & Liu), one choice, a short reply.
PROMPTING_LLM = replace(LLMConfig(), temperature=0.1, n=1, max_tokens=100)


@dataclass(frozen=True)
class PromptingRequest:
    task: str
    shots: int = 0  # examples per class in the prompt: 0 (zero-shot) or e.g. 5 (few-shot)
    eval_dataset: str | None = None  # default: the task's gold test split (else valid / dev)
    fewshot_dataset: str | None = None  # default: the task's gold train split
    seeds: int = DEFAULT_SEEDS
    llm: dict[str, Any] = field(default_factory=lambda: asdict(PROMPTING_LLM))


@dataclass(frozen=True)
class PromptingPlan:
    run_id: str
    task: str
    shots: int
    eval_dataset: str
    eval_snapshot: int
    fewshot_dataset: str | None
    fewshot_snapshot: int | None
    seeds: list[int]
    llm: dict[str, Any]

    @property
    def setting(self) -> str:
        return "few-shot" if self.shots else "zero-shot"

    def model_id(self, seed: int) -> str:
        return f"{self.run_id}-s{seed}"


def plan_prompting(project: Project, request: PromptingRequest, *, created_by: str = "prompting") -> PromptingPlan:
    task = project.registry[request.task]
    llm = LLMConfig(**request.llm)
    if llm.n != 1:
        raise TrainingError(f"prompting asks one answer per example: n must be 1, got {llm.n}")
    if not 0 <= request.shots <= 100:
        raise TrainingError(f"shots {request.shots!r} must be between 0 and 100 per class")
    if not 1 <= request.seeds <= 100:
        raise TrainingError(f"seeds {request.seeds!r} must be between 1 and 100")
    load_spec(project.settings.prompts_dir, task)  # the annotate prompt must exist and be valid
    with project.db.transaction() as con:
        datasets = repo.list_datasets(con)
    by_id = {d.id: d for d in datasets}
    fewshot_id = None
    if request.shots:
        fewshot_id = request.fewshot_dataset or default_gold_train(task, datasets)
    eval_id = request.eval_dataset or default_eval(task, datasets, exclude=fewshot_id)
    for role, dataset_id in (("evaluation", eval_id), ("few-shot", fewshot_id)):
        info = by_id.get(dataset_id) if dataset_id else None
        if dataset_id and (info is None or info.task != task.name or info.kind != "gold"):
            raise TrainingError(f"the {role} split {dataset_id!r} must be a gold dataset of {task.name}")
    if fewshot_id == eval_id:
        raise TrainingError(f"few-shot examples would come from the evaluation split {eval_id}: name another")
    fewshot_snapshot = create_snapshot(project, fewshot_id, created_by=created_by).id if fewshot_id else None
    plan = PromptingPlan(
        run_id=new_training_id(task.name, "prompting-fewshot" if request.shots else "prompting-zeroshot"),
        task=task.name,
        shots=request.shots,
        eval_dataset=eval_id,
        eval_snapshot=create_snapshot(project, eval_id, created_by=created_by).id,
        fewshot_dataset=fewshot_id,
        fewshot_snapshot=fewshot_snapshot,
        seeds=list(range(request.seeds)),
        llm=asdict(llm),
    )
    if not len(labelled(read_snapshot(project, plan.eval_snapshot))):
        raise TrainingError(f"the evaluation split {eval_id} has no labelled examples")
    if fewshot_snapshot is not None:
        fewshot_examples(task, labelled(read_snapshot(project, fewshot_snapshot)), plan.shots, seed=0)
    return plan


# --- messages ------------------------------------------------------------------------------------


def answer_of(task: Task, label: Any, score: Any) -> str:
    """The answer a few-shot example shows: its label name, or the grade of its score."""
    return label if isinstance(label, str) else task.grade_for_score(float(score))


def fewshot_examples(task: Task, frame: pd.DataFrame, shots: int, *, seed: int) -> pd.DataFrame:
    """``shots`` examples per class drawn with ``seed``, in a seeded shuffled order."""
    rows = sample_per_class(task, class_keys(task, frame), shots, seed=seed)
    random.Random(seed).shuffle(rows)
    return frame.iloc[rows].reset_index(drop=True)


def shot_turns(spec: PromptSpec, task: Task, examples: pd.DataFrame | None) -> list[dict[str, str]]:
    """The few-shot turns: (question, answer) per example; made once per seed, shared by every call."""
    turns = []
    for ex in (examples if examples is not None else pd.DataFrame()).itertuples(index=False):
        ex_b = ex.text_b if isinstance(ex.text_b, str) else None
        turns.append(spec.annotate_messages(task, ex.text, ex_b)[1])
        turns.append({"role": "assistant", "content": answer_of(task, ex.label, ex.score)})
    return turns


def messages_for(spec: PromptSpec, task: Task, text: str, text_b: str | None,
                 examples: pd.DataFrame | None = None) -> list[dict[str, str]]:  # fmt: skip
    """The chat for one test example: [system, (question, answer) per few-shot example, question]."""
    system, question = spec.annotate_messages(task, text, text_b)
    return [system, *shot_turns(spec, task, examples), question]


def to_prediction(task: Task, answer: str) -> tuple[str | None, float | None]:
    """(label, score) an answer names: for score tasks the score of the named grade."""
    label = parse_label(answer, task)
    if label is None:
        return None, None
    return label, float(task.label(label).id) if task.target == "score" else None


# --- the job -------------------------------------------------------------------------------------


def _unit_id(seed: int, start: int) -> str:
    """A chunk's part name (``s000-part-00000``): the same as before the shared parts loop, so a job
    started before it resumes."""
    return f"s{seed:03d}-part-{start // CHUNK:05d}"


async def run_prompting(project: Project, config: dict[str, Any], *, job_id: str, parts_dir: Path, client: ChatClient,
                        report: Callable, cancelled: Callable[[], bool]) -> dict[str, Any]:  # fmt: skip
    """Ask the LLM about every evaluation example for every seed, then score and store each seed.

    The chunks of a seed run through the shared resumable parts loop (jobs/parts.py), a few at once so
    the client's concurrency is used; a seed is scored and stored when all its chunks are written."""
    plan = PromptingPlan(**config)
    task = project.registry[plan.task]
    spec = load_spec(project.settings.prompts_dir, task)
    evaluation = labelled(read_snapshot(project, plan.eval_snapshot))
    gold = labelled(read_snapshot(project, plan.fewshot_snapshot)) if plan.fewshot_snapshot is not None else None
    parts = PartsFolder(parts_dir, PART_SCHEMA, prefix="")
    progress = _Progress(report, plan, len(evaluation), parts)
    llm = LLMConfig(**plan.llm)
    stored = []
    for seed in plan.seeds:
        if model_done(project, plan.model_id(seed)):
            stored.append(plan.model_id(seed))
            continue
        examples = fewshot_examples(task, gold, plan.shots, seed=seed) if gold is not None else None
        shots = shot_turns(spec, task, examples)

        async def one(start: int, seed: int = seed, shots: list[dict[str, str]] = shots) -> None:
            rows = await _ask_all(client, spec, task, evaluation.iloc[start : start + CHUNK], shots)
            await asyncio.to_thread(parts.write, _unit_id(seed, start), rows)  # fsyncs off the event loop
            progress.add(seed, rows)

        todo = [start for start in range(0, len(evaluation), CHUNK) if not parts.exists(_unit_id(seed, start))]
        in_flight = max(2, math.ceil(llm.concurrency / CHUNK) + 1)
        if not await run_units(todo, one, in_flight=in_flight, cancelled=cancelled):
            progress.report_now("cancelled", f"cancelled at seed {seed}")
            return {"state": "cancelled", "message": f"cancelled after {len(stored)} seed(s); resume to go on"}
        _store_seed(project, plan, task, job_id, seed, evaluation, parts, examples)
        stored.append(plan.model_id(seed))
    progress.report_now("running", f"{len(stored)} seed(s) scored")
    return {"state": "succeeded", "message": f"{len(stored)} prompting run(s) scored", "models": stored,
            "run_id": plan.run_id}  # fmt: skip


async def _ask_all(client: ChatClient, spec, task: Task, chunk: pd.DataFrame, shots) -> list[dict[str, Any]]:
    async def one(row_idx: int, text: str, text_b: Any) -> dict[str, Any]:
        text_b = text_b if isinstance(text_b, str) else None
        system, question = spec.annotate_messages(task, text, text_b)
        try:
            completion = await client.complete([system, *shots, question], n=1)
        except FatalLLMError:
            raise
        except LLMError as exc:
            return {"row_idx": row_idx, "predicted": None, "score": None, "raw": str(exc),
                    "reason": exc.reason, "prompt_tokens": 0, "completion_tokens": 0}  # fmt: skip
        answer = completion.texts[0] if completion.texts else ""
        label, score = to_prediction(task, answer)
        return {"row_idx": row_idx, "predicted": label, "score": score, "raw": answer,
                "reason": None if label else "unparsable", "prompt_tokens": completion.prompt_tokens,
                "completion_tokens": completion.completion_tokens}  # fmt: skip

    columns = zip(chunk["row_idx"].tolist(), chunk["text"].tolist(), chunk["text_b"].tolist(), strict=True)
    return list(await asyncio.gather(*(one(int(r), t, b) for r, t, b in columns)))


def _read_parts(parts: PartsFolder, seed: int) -> pd.DataFrame:
    """A seed's answers; a corrupt part is set aside (its chunk is asked again when the job resumes)."""
    tables = parts.read(f"s{seed:03d}-part-*").values()
    frames = [t.to_pandas() for t in tables]  # (parts from before pyarrow may type an all-null column as null)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PART_SCHEMA.names)


def _store_seed(project, plan: PromptingPlan, task: Task, job_id, seed, evaluation, parts, examples) -> None:
    answers = _read_parts(parts, seed).set_index("row_idx").reindex(evaluation["row_idx"]).reset_index()
    predicted = [p if isinstance(p, str) else None for p in answers["predicted"]]
    values = predicted if task.target == "class" else [s if s == s else None for s in answers["score"]]
    gold = list(evaluation["label"]) if task.target == "class" else [
        float(s) if s == s and s is not None else float(task.label(lab).id)
        for lab, s in zip(evaluation["label"], evaluation["score"], strict=True)
    ]  # fmt: skip
    metrics = task_metrics(task, gold, values)
    reasons = answers["reason"].dropna().value_counts().to_dict()
    llm = LLMConfig(**plan.llm)
    tokens = (int(answers["prompt_tokens"].sum()), int(answers["completion_tokens"].sum()))
    metrics.update({"failures": reasons, "prompt_tokens": tokens[0], "completion_tokens": tokens[1],
                    "cost_usd": cost_usd(llm.model, *tokens)})  # fmt: skip
    fewshot_rows = [int(r) for r in examples["row_idx"]] if examples is not None else []
    record = ModelRecord(
        id=plan.model_id(seed),
        run_id=plan.run_id,
        job_id=job_id,
        kind="prompting",
        task=task.name,
        method="prompting",
        setting=plan.setting,
        data_spec=f"prompting:{plan.shots}-shot",
        train_snapshots=[plan.fewshot_snapshot] if plan.fewshot_snapshot is not None else [],
        train_examples=len(fewshot_rows),
        per_class=plan.shots or None,
        eval_dataset_id=plan.eval_dataset,
        eval_snapshot_id=plan.eval_snapshot,
        base_model=llm.model + (f" @ {llm.base_url}" if llm.base_url else ""),
        seed=seed,
        config={
            "llm": plan.llm,
            "shots": plan.shots,
            "fewshot_rows": fewshot_rows,
            "prompt": str(load_spec(project.settings.prompts_dir, task).version),
        },
        path=None,
        metric=metrics["metric"],
        score=metrics["main"],
        metrics=metrics,
        created_at=datetime.now(),
    )
    predictions = pd.DataFrame({"row_idx": answers["row_idx"], "predicted": predicted,
                                "score": answers["score"], "probabilities": None, "raw": answers["raw"]})  # fmt: skip
    save_model(project, record, predictions)
    log.info("prompting seed %d: %s %s (%s unparsable)", seed, task.metric, metrics["main"], metrics["unparsable"])


class _Progress:
    """The job's progress as ``jobs.progress.Progress`` (examples answered of all seeds' examples, failures,
    tokens, cost), counted from the rows of the parts; progress.json is rewritten at most every
    ``REPORT_EVERY_S`` but for the first and last reports."""

    def __init__(self, report, plan: PromptingPlan, per_seed: int, parts: PartsFolder):
        self.report, self.plan, self.target = report, plan, per_seed * len(plan.seeds)
        self.model = LLMConfig(**plan.llm).model
        parts.remove_stale_temps()  # the job's lock is ours: no other writer is at work
        self.answered = 0
        self.failures: dict[str, int] = {}
        self.tokens = [0, 0]
        for rows in parts.read_rows("s*-part-*", columns=("reason", "prompt_tokens", "completion_tokens")).values():
            self._count(rows)
        self.started = time.monotonic()
        self.new = 0
        self._last = 0.0
        self.report_now("running", "starting")

    def _count(self, rows: list[dict[str, Any]]) -> None:
        self.answered += len(rows)
        for row in rows:
            if row["reason"] is not None:
                self.failures[row["reason"]] = self.failures.get(row["reason"], 0) + 1
            self.tokens[0] += int(row["prompt_tokens"] or 0)
            self.tokens[1] += int(row["completion_tokens"] or 0)

    def add(self, seed: int, rows: list[dict[str, Any]]) -> None:
        self._count(rows)
        self.new += len(rows)
        if time.monotonic() - self._last >= REPORT_EVERY_S:
            self.report_now("running", f"seed {seed}")

    def report_now(self, state: str, message: str) -> None:
        self._last = time.monotonic()
        self.report(self.snapshot(state, message).to_json())

    def snapshot(self, state: str, message: str) -> Progress:
        rate = self.new / max(time.monotonic() - self.started, 1e-6)
        return Progress(
            state=state, done=self.answered, target=self.target, unit="examples",
            failed=sum(self.failures.values()), failures=dict(self.failures),
            prompt_tokens=self.tokens[0], completion_tokens=self.tokens[1],
            cost_usd=cost_usd(self.model, *self.tokens), rate_per_s=round(rate, 1),
            eta_s=int((self.target - self.answered) / rate) if rate > 0 else None, message=message,
        )  # fmt: skip
