"""The train job kind: a thin adapter over training/plan.py (snapshots at submit) and finetune.py (the work).

torch and transformers load only in the job's process, when ``run`` starts training.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from japagen_core.jobs import resources
from japagen_core.jobs.kinds import JobContext, JobKind, Link, Planned, Summary
from japagen_core.jobs.store import Job
from japagen_core.project import Project
from japagen_core.training.plan import TrainPlan, TrainRequest, plan_training


class TrainKind(JobKind):
    """Fine-tune a classifier per seed (and per size of a scaling series), evaluate each on gold."""

    name = "train"
    title = "fine-tuning"
    config_type = TrainPlan
    display = "training"

    def plan(self, project: Project, request: TrainRequest) -> Planned:
        plan = plan_training(project, request)
        return Planned(plan, label=plan.task)

    def resources(self, config: dict[str, Any]) -> list[str]:
        return [resources.device_pool()]

    def run(self, ctx: JobContext) -> dict[str, Any]:
        from japagen_core.training.finetune import run_training_job  # torch loads only in a train job

        result = run_training_job(ctx.project, ctx.config, job_id=ctx.job.id, report=ctx.report,
                                  cancelled=ctx.cancelled)  # fmt: skip
        if result.get("state") == "succeeded":
            result["scores"] = _scores(ctx.project, result.get("run_id"))
        return result

    def describe(self, job: Job) -> str:
        c = job.config
        models = len(c.get("seeds", [])) * len(c.get("sizes", []))
        return f"{c.get('data_spec', '')} · {models} model(s) · {Path(str(c.get('train', {}).get('model', ''))).name}"

    def summary(self, job: Job) -> Summary:
        run_id = job.result.get("run_id")
        if job.state != "succeeded" or not run_id:
            return Summary(str(job.result.get("message") or ""))
        return Summary(_scores_text(job.result), (Link("run", run_id),))

    def resumable(self, job: Job) -> str | None:
        reason = super().resumable(job)
        if reason is not None or job.state != "failed":
            return reason
        model = str(job.config.get("train", {}).get("model", ""))
        if "cannot load the model" in str(job.result.get("message", "")) and not model_available(model):
            return f"the model {model!r} still cannot be loaded: provide its weights and start a new job"
        return None


def model_available(name: str) -> bool:
    """Whether a model's config can be had without the network: a local folder, or the Hugging Face cache."""
    folder = Path(name).expanduser()
    if folder.is_dir():
        return (folder / "config.json").is_file()
    try:
        from huggingface_hub import try_to_load_from_cache  # light (no torch); only for a failed job's card
    except ImportError:
        return False
    try:
        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except ValueError:  # not a repo id
        return False


def _scores(project: Project, run_id: str | None) -> dict[str, Any]:
    """The metric and each model's score of a finished run, kept in the result for its card."""
    from japagen_core.training.store import list_models

    models = list_models(project, run_id=run_id) if run_id else []
    return {"metric": models[0]["metric"] if models else None,
            "values": [m["score"] for m in models if m["score"] is not None]}  # fmt: skip


def _scores_text(result: dict[str, Any]) -> str:
    models = result.get("models") or []
    scores = result.get("scores") or {}
    values = scores.get("values") or []
    text = f"{len(models)} model(s) of run {result.get('run_id')}"
    if values:
        spread = f" ± {statistics.stdev(values):.4f}" if len(values) > 1 else ""
        text += f", {scores.get('metric')} {statistics.fmean(values):.4f}{spread}"
    return text


TRAIN = TrainKind()
