"""A small job kind for the tests, and the example of what adding a kind takes: this module, and one line
``"sleep": "tests.jobs.sleep_kind:SLEEP"`` in jobs/kinds.py's KINDS (the tests add it with JAPAGEN_JOB_KINDS)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from japagen_core.errors import JapagenError
from japagen_core.jobs.kinds import JobContext, JobKind, Planned, Summary
from japagen_core.jobs.progress import Progress


@dataclass(frozen=True)
class SleepConfig:
    steps: int
    step_s: float = 0.1
    pools: tuple[str, ...] = ("cpu",)  # the resource pools it waits for (jobs/resources.py)

    def __post_init__(self):
        if not 1 <= self.steps <= 10_000:
            raise JapagenError(f"steps {self.steps!r} must be between 1 and 10,000")


class SleepKind(JobKind):
    name = "sleep"
    title = "sleep"
    config_type = SleepConfig

    def plan(self, project, request: SleepConfig) -> Planned:
        return Planned(request, label="test")

    def resources(self, config: dict[str, Any]) -> list[str]:
        return list(config["pools"])

    def run(self, ctx: JobContext) -> dict[str, Any]:
        cfg = SleepConfig(**ctx.config)
        for step in range(cfg.steps):
            if ctx.cancelled():
                return {"state": "cancelled", "message": f"cancelled after {step} steps"}
            time.sleep(cfg.step_s)
            ctx.report(Progress(done=step + 1, target=cfg.steps, unit="steps", message=f"step {step + 1}"))
        return {"state": "succeeded", "message": f"slept {cfg.steps} steps"}

    def summary(self, job) -> Summary:
        return Summary(f"slept {job.config['steps']} steps" if job.state == "succeeded" else "")


SLEEP = SleepKind()
