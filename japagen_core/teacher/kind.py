"""The teacher-tune-openai and teacher-tune-local job kinds: adapters over teacher/service.py."""

from __future__ import annotations

from typing import Any

from japagen_core.errors import JapagenError
from japagen_core.jobs import resources
from japagen_core.jobs.kinds import JobContext, JobKind, Link, Planned, Summary
from japagen_core.jobs.store import Job
from japagen_core.project import Project
from japagen_core.teacher.service import TRAINING_FILE, TeacherRequest, plan_teacher, run_teacher_job


class TeacherKind(JobKind):
    """Tune a teacher LLM on gold (or reviewed) examples, then record it in the teacher registry."""

    def __init__(self, name: str, title: str, backend: str):
        self.name, self.title, self.backend = name, title, backend

    def plan(self, project: Project, request: TeacherRequest) -> Planned:
        if request.backend != self.backend:
            raise JapagenError(f"a {request.backend} teacher request submitted as a {self.name} job")
        config, training_file, register = plan_teacher(project, request)
        return Planned(config, label=request.task, files={TRAINING_FILE: training_file}, on_created=register)

    def resources(self, config: dict[str, Any]) -> list[str]:
        # OpenAI tunes remotely (hours of polling: no local slot); LoRA trains here, on a GPU or the CPU.
        return [resources.device_pool()] if self.backend == "local" else []

    def run(self, ctx: JobContext) -> dict[str, Any]:
        return run_teacher_job(ctx.project, ctx.job, ctx.report, ctx.cancelled)

    def describe(self, job: Job) -> str:
        c = job.config
        base = (c.get("request") or {}).get("base_model")
        return " · ".join(str(v) for v in (base, c.get("data_spec")) if v)

    def summary(self, job: Job) -> Summary:
        teacher = job.result.get("teacher_id") or job.config.get("teacher_id")
        if job.state != "succeeded" or not teacher:
            return Summary(str(job.result.get("message") or ""))
        return Summary(f"teacher {teacher}: {job.result.get('model', '')}", (Link("teacher", teacher),))


TEACHER_OPENAI = TeacherKind("teacher-tune-openai", "teacher tuning (OpenAI)", "openai")
TEACHER_LOCAL = TeacherKind("teacher-tune-local", "teacher tuning (LoRA)", "local")
