"""The analysis job kind: Table 2 rows (Self-BLEU, Jaccard, label correctness), an adapter over analysis.py.

analysis.py (and scikit-learn with it) loads only when an analysis job is submitted or runs.
"""

from __future__ import annotations

from typing import Any

from japagen_core.jobs import resources
from japagen_core.jobs.kinds import JobContext, JobKind, Link, Planned, Summary
from japagen_core.jobs.progress import Progress
from japagen_core.jobs.store import Job
from japagen_core.project import Project


class AnalysisKind(JobKind):
    name = "analysis"
    title = "analysis"

    @property
    def config_type(self):
        from japagen_core.analysis import AnalysisConfig

        return AnalysisConfig

    def plan(self, project: Project, request) -> Planned:
        from dataclasses import asdict

        task = request.check(project)
        return Planned({**asdict(request), "task": task.name}, label=task.name)  # the card shows its task

    def resources(self, config: dict[str, Any]) -> list[str]:
        return [resources.device_pool()] if config.get("method") == "bert" and config.get("model") else []

    def run(self, ctx: JobContext) -> dict[str, Any]:
        from japagen_core.analysis import run_analysis_job

        def step(s: dict[str, Any]) -> None:
            ctx.report(Progress(done=s["done"], target=s["total"], unit="steps", message=s["step"]))

        config = {k: v for k, v in ctx.config.items() if k != "task"}
        return run_analysis_job(ctx.project, config, ctx.job.id, step)

    def describe(self, job: Job) -> str:
        c = job.config
        count = len(c.get("datasets") or [])
        return f"{count} dataset(s) against {c.get('reference', '')} · {c.get('method', 'quick')} correctness"

    def summary(self, job: Job) -> Summary:
        ids = job.result.get("analyses") or []
        if job.state != "succeeded":
            return Summary(str(job.result.get("message") or ""))
        reference = job.config.get("reference", "")
        return Summary(f"{len(ids)} result(s) for {reference}", (Link("analysis", reference),))


ANALYSIS = AnalysisKind()
