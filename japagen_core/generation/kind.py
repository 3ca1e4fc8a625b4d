"""The generate and annotate job kinds: thin adapters over generation/run.py (plan, Runner, ingest)."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from japagen_core.errors import JapagenError
from japagen_core.generation.llm import LLMConfig, OpenAIChatClient, resolve_api_key
from japagen_core.generation.run import RunConfig, Runner, ingest
from japagen_core.jobs import resources
from japagen_core.jobs.kinds import JobContext, JobKind, Link, NotResumable, Planned, Summary
from japagen_core.jobs.store import Job
from japagen_core.project import Project
from japagen_core.settings import SECRETS_PATH

log = logging.getLogger("japagen_core.job")


class RunKind(JobKind):
    """A generation or annotation run: LLM calls into Parquet parts, then one synthetic dataset."""

    config_type = RunConfig
    display = "llm"

    def __init__(self, name: str, title: str):
        self.name, self.title = name, title

    def plan(self, project: Project, request: RunConfig) -> Planned:
        if request.mode != self.name:
            raise JapagenError(f"a {request.mode} config submitted as a {self.name} job")
        request.check(project)
        if request.backend == "openai":  # the local backend runs the model in the job: no key
            insecure = bool(request.llm.get("allow_insecure_http"))
            resolve_api_key(request.llm.get("base_url"), allow_insecure_http=insecure, secrets_path=SECRETS_PATH)
        return Planned(request, label=request.task)

    def resources(self, config: dict[str, Any]) -> list[str]:
        if config.get("backend") == "local":
            return [resources.device_pool()]
        if config.get("batch"):  # the Batch API answers within hours; holding a slot that long would block others
            return []
        return [resources.llm_pool((config.get("llm") or {}).get("base_url"))]

    def describe(self, job: Job) -> str:
        c = job.config
        if self.name == "annotate":
            return f"labels {c.get('source_dataset', '')}"
        per_label = f"{int(c.get('per_label') or 0):,} per label"
        return " · ".join(x for x in (c.get("setting", ""), per_label, "Batch API" if c.get("batch") else "") if x)

    def summary(self, job: Job) -> Summary:
        dataset = job.result.get("dataset_id")
        if job.state != "succeeded" or not dataset:
            return Summary(str(job.result.get("message") or ""))
        rows = (job.result.get("summary") or {}).get("rows")
        text = f"{rows:,} examples into dataset {dataset}" if rows is not None else f"dataset {dataset}"
        return Summary(text, (Link("dataset", dataset),))

    def run(self, ctx: JobContext) -> dict[str, Any]:
        project, job = ctx.project, ctx.job
        cfg = self.load(job.config)  # RunConfig.from_stored: older jobs resume as they started
        try:
            cfg.check(project)
        except JapagenError as exc:  # the same check would refuse it again on resume
            raise NotResumable(str(exc)) from None
        llm = LLMConfig(**cfg.llm)
        key = (resolve_api_key(llm.base_url, allow_insecure_http=llm.allow_insecure_http, secrets_path=SECRETS_PATH)
               if cfg.backend == "openai" else None)  # fmt: skip
        state, short, failures = asyncio.run(_generate(project, cfg, job, llm, key, ctx))
        if state == "cancelled":
            return {"state": "cancelled", "message": "cancelled: resume to go on"}
        if state == "incomplete":
            missing = ", ".join(f"{name} {n}" for name, n in short.items())
            reasons = ", ".join(f"{r} {n}" for r, n in sorted(failures.items(), key=lambda kv: -kv[1])[:4])
            message = f"not enough usable answers (missing: {missing}; failures: {reasons}); resume to try again"
            log.error("%s", message)
            return {"state": "failed", "message": message, "missing": short}
        last = ctx.last()
        last.state, last.message = "saving", "saving the examples"
        ctx.report(last)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a half-saved run would disagree with its job state
        summary = ingest(project, cfg, job.parts_dir, job_id=job.id)
        log.info("ingested %d examples into dataset %s", summary["rows"], cfg.run_id)
        return {"state": "succeeded", "dataset_id": cfg.run_id, "summary": summary,
                "message": f"{summary['rows']} examples"}  # fmt: skip


async def _generate(project: Project, cfg: RunConfig, job: Job, llm: LLMConfig, key: str | None, ctx: JobContext):
    if cfg.batch:  # the OpenAI Batch API: the same units, answered by rounds of batch files
        from japagen_core.generation.batch import BatchRunner

        runner = BatchRunner(project, cfg, job.dir, key, report=ctx.report, cancelled=ctx.cancelled)
        state = await runner.run()
        return state, runner.shortfall(runner.done_parts()), runner.progress.failures
    client = OpenAIChatClient(llm, key) if key is not None else _local_client(cfg, llm)
    try:
        runner = Runner(project, cfg, client, job.parts_dir, report=ctx.report, cancelled=ctx.cancelled)
        state = await runner.run()
        return state, runner.shortfall(runner.done_parts()), runner.progress.failures
    finally:
        await client.close()


def _local_client(cfg: RunConfig, llm: LLMConfig):
    from japagen_core.generation.local import LocalChatClient, LocalConfig  # torch loads only in a local run

    return LocalChatClient(llm, LocalConfig(**cfg.local), seed=cfg.seed)


GENERATE = RunKind("generate", "generation")
ANNOTATE = RunKind("annotate", "annotation")
