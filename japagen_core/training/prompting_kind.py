"""The prompting job kind (the PROMPTING baseline): an adapter over training/prompting.py."""

from __future__ import annotations

import asyncio
from typing import Any

from japagen_core.generation.llm import LLMConfig, OpenAIChatClient, resolve_api_key
from japagen_core.jobs import resources
from japagen_core.jobs.kinds import JobContext, JobKind, Link, Planned, Summary
from japagen_core.jobs.store import Job
from japagen_core.project import Project
from japagen_core.settings import SECRETS_PATH
from japagen_core.training.kind import _scores, _scores_text
from japagen_core.training.prompting import PromptingPlan, PromptingRequest, plan_prompting, run_prompting


class PromptingKind(JobKind):
    name = "prompting"
    title = "prompting baseline"
    config_type = PromptingPlan
    display = "llm"

    def plan(self, project: Project, request: PromptingRequest) -> Planned:
        resolve_api_key(request.llm.get("base_url"), allow_insecure_http=bool(request.llm.get("allow_insecure_http")),
                        secrets_path=SECRETS_PATH)  # fmt: skip
        plan = plan_prompting(project, request)
        return Planned(plan, label=plan.task)

    def resources(self, config: dict[str, Any]) -> list[str]:
        return [resources.llm_pool((config.get("llm") or {}).get("base_url"))]

    def run(self, ctx: JobContext) -> dict[str, Any]:
        llm = LLMConfig(**ctx.config["llm"])
        key = resolve_api_key(llm.base_url, allow_insecure_http=llm.allow_insecure_http, secrets_path=SECRETS_PATH)

        async def main() -> dict[str, Any]:
            client = OpenAIChatClient(llm, key)
            try:
                return await run_prompting(ctx.project, ctx.config, job_id=ctx.job.id, parts_dir=ctx.parts_dir,
                                           client=client, report=ctx.report, cancelled=ctx.cancelled)  # fmt: skip
            finally:
                await client.close()

        result = asyncio.run(main())
        if result.get("state") == "succeeded":
            result["scores"] = _scores(ctx.project, result.get("run_id"))
        return result

    def describe(self, job: Job) -> str:
        c = job.config
        return f"{c.get('shots', 0)}-shot · {(c.get('llm') or {}).get('model', '')} on {c.get('eval_dataset', '')}"

    def summary(self, job: Job) -> Summary:
        run_id = job.result.get("run_id")
        if job.state != "succeeded" or not run_id:
            return Summary(str(job.result.get("message") or ""))
        return Summary(_scores_text(job.result), (Link("run", run_id),))


PROMPTING = PromptingKind()
