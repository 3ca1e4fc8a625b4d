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
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from japagen_core import outputs
from japagen_core.generation.clean import parse_label
from japagen_core.generation.llm import (
    ChatClient,
    FatalLLMError,
    LLMConfig,
    LLMError,
    cost_usd,
)
from japagen_core.generation.prompts import PromptSpec, load_spec
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


def messages_for(spec: PromptSpec, task: Task, text: str, text_b: str | None,
                 examples: pd.DataFrame | None = None) -> list[dict[str, str]]:  # fmt: skip
    """The chat for one test example: [system, (question, answer) per few-shot example, question]."""
    system, question = spec.annotate_messages(task, text, text_b)
    turns = [system]
    for ex in (examples if examples is not None else pd.DataFrame()).itertuples(index=False):
        ex_b = ex.text_b if isinstance(ex.text_b, str) else None
        turns.append(spec.annotate_messages(task, ex.text, ex_b)[1])
        turns.append({"role": "assistant", "content": answer_of(task, ex.label, ex.score)})
    return [*turns, question]


def to_prediction(task: Task, answer: str) -> tuple[str | None, float | None]:
    """(label, score) an answer names: for score tasks the score of the named grade."""
    label = parse_label(answer, task)
    if label is None:
        return None, None
    return label, float(task.label(label).id) if task.target == "score" else None


# --- the job -------------------------------------------------------------------------------------


async def run_prompting(project: Project, config: dict[str, Any], *, job_id: str, parts_dir: Path, client: ChatClient,
                        report: Callable, cancelled: Callable[[], bool]) -> dict[str, Any]:  # fmt: skip
    """Ask the LLM about every evaluation example for every seed, then score and store each seed."""
    plan = PromptingPlan(**config)
    task = project.registry[plan.task]
    spec = load_spec(project.settings.prompts_dir, task)
    evaluation = labelled(read_snapshot(project, plan.eval_snapshot))
    gold = labelled(read_snapshot(project, plan.fewshot_snapshot)) if plan.fewshot_snapshot is not None else None
    progress = _Progress(report, plan, len(evaluation), parts_dir)
    stored = []
    for seed in plan.seeds:
        if model_done(project, plan.model_id(seed)):
            stored.append(plan.model_id(seed))
            continue
        examples = fewshot_examples(task, gold, plan.shots, seed=seed) if gold is not None else None
        for start in range(0, len(evaluation), CHUNK):
            part = parts_dir / f"s{seed:03d}-part-{start // CHUNK:05d}.parquet"
            if part.exists():
                continue
            if cancelled():
                return {"state": "cancelled", "message": f"cancelled after {len(stored)} seed(s); resume to go on"}
            chunk = evaluation.iloc[start : start + CHUNK]
            rows = await _ask_all(client, spec, task, chunk, examples)
            _write_part(part, pd.DataFrame(rows))
            progress.add(seed, pd.DataFrame(rows))
        _store_seed(project, plan, task, job_id, seed, evaluation, parts_dir, examples)
        stored.append(plan.model_id(seed))
    return {"state": "succeeded", "message": f"{len(stored)} prompting run(s) scored", "models": stored,
            "run_id": plan.run_id}  # fmt: skip


async def _ask_all(client: ChatClient, spec, task: Task, chunk: pd.DataFrame, examples) -> list[dict[str, Any]]:
    async def one(row) -> dict[str, Any]:
        text_b = row.text_b if isinstance(row.text_b, str) else None
        try:
            completion = await client.complete(messages_for(spec, task, row.text, text_b, examples), n=1)
        except FatalLLMError:
            raise
        except LLMError as exc:
            return {"row_idx": int(row.row_idx), "predicted": None, "score": None, "raw": str(exc),
                    "reason": exc.reason, "prompt_tokens": 0, "completion_tokens": 0}  # fmt: skip
        answer = completion.texts[0] if completion.texts else ""
        label, score = to_prediction(task, answer)
        return {"row_idx": int(row.row_idx), "predicted": label, "score": score, "raw": answer,
                "reason": None if label else "unparsable", "prompt_tokens": completion.prompt_tokens,
                "completion_tokens": completion.completion_tokens}  # fmt: skip

    return list(await asyncio.gather(*(one(r) for r in chunk.itertuples(index=False))))


def _write_part(path: Path, frame: pd.DataFrame) -> None:
    types = {"predicted": object, "score": "float64", "raw": object, "reason": object}
    typed = frame.astype(types)
    outputs.write_file_atomic(path, lambda tmp: typed.to_parquet(tmp, index=False))


def _sound_parts(parts_dir: Path, pattern: str) -> list[pd.DataFrame]:
    """The parts that read; a corrupt one (0 bytes, cut short) is set aside so its chunk is asked again."""
    return list(outputs.read_or_set_aside(sorted(parts_dir.glob(pattern)), pd.read_parquet).values())


def _read_parts(parts_dir: Path, seed: int) -> pd.DataFrame:
    frames = _sound_parts(parts_dir, f"s{seed:03d}-part-*.parquet")
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _store_seed(project, plan: PromptingPlan, task: Task, job_id, seed, evaluation, parts_dir, examples) -> None:
    answers = _read_parts(parts_dir, seed).set_index("row_idx").reindex(evaluation["row_idx"]).reset_index()
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
    """The job's progress in the generation jobs' shape (examples answered, failures, tokens, cost)."""

    def __init__(self, report, plan: PromptingPlan, per_seed: int, parts_dir: Path):
        self.report, self.plan, self.target = report, plan, per_seed * len(plan.seeds)
        outputs.remove_stale_temps(parts_dir)  # the job's lock is ours: no other writer is at work
        done = _sound_parts(parts_dir, "s*-part-*.parquet")
        self.answered = sum(len(d) for d in done)
        self.failures: dict[str, int] = {}
        self.tokens = [0, 0]
        for d in done:
            self._count(d)
        self.started = time.monotonic()
        self.new = 0
        self.report(self.snapshot("running", "starting"))

    def _count(self, frame: pd.DataFrame) -> None:
        for reason, n in frame["reason"].dropna().value_counts().items():
            self.failures[reason] = self.failures.get(reason, 0) + int(n)
        self.tokens[0] += int(frame["prompt_tokens"].sum())
        self.tokens[1] += int(frame["completion_tokens"].sum())

    def add(self, seed: int, frame: pd.DataFrame) -> None:
        self.answered += len(frame)
        self.new += len(frame)
        self._count(frame)
        self.report(self.snapshot("running", f"seed {seed}"))

    def snapshot(self, state: str, message: str) -> dict[str, Any]:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.new / elapsed
        llm = LLMConfig(**self.plan.llm)
        return {
            "state": state, "unit": "examples", "ok": self.answered, "target": self.target,
            "failed": sum(self.failures.values()), "failures": dict(self.failures),
            "prompt_tokens": self.tokens[0], "completion_tokens": self.tokens[1],
            "cost_usd": cost_usd(llm.model, *self.tokens), "rate_per_s": round(rate, 1),
            "eta_s": int((self.target - self.answered) / rate) if rate > 0 else None, "message": message,
        }  # fmt: skip
