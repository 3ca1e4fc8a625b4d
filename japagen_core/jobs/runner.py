"""Running a job inside its own process: ``python -m japagen_core job run <job-dir>``."""

from __future__ import annotations

import asyncio
import faulthandler
import json
import logging
import os
import signal
import sys
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from japagen_core.analysis import AnalysisConfig, run_analysis_job
from japagen_core.errors import JapagenError
from japagen_core.generation.llm import FatalLLMError, LLMConfig, OpenAIChatClient, resolve_api_key
from japagen_core.generation.run import RunConfig, Runner, ingest
from japagen_core.jobs.store import Job, JobError, JobStore, take_lock, write_json_atomic
from japagen_core.project import Project
from japagen_core.settings import SECRETS_PATH, Settings
from japagen_core.training.plan import TrainRequest, plan_training
from japagen_core.training.prompting import PromptingRequest, plan_prompting, run_prompting

log = logging.getLogger("japagen_core.job")
RUN_KINDS = ("generate", "annotate")
TEACHER_KINDS = ("teacher-tune-openai", "teacher-tune-local")  # japagen_core.teacher.service


def submit_run(project: Project, cfg: RunConfig) -> Job:
    """Check a run's settings (and that a key is configured), create its job folder and start it."""
    cfg.check(project)
    if cfg.backend == "openai":  # the local backend runs the model in the job: no key
        resolve_api_key(cfg.llm.get("base_url"), allow_insecure_http=bool(cfg.llm.get("allow_insecure_http")),
                        secrets_path=SECRETS_PATH)  # fmt: skip
    store = JobStore(project.settings.jobs_dir)
    job = store.create(cfg.mode, asdict(cfg), label=cfg.task)
    store.start(job)
    return job


def _settings_for(job_dir: Path) -> Settings:
    """The job belongs to the store it lives in: <home>/jobs/<id>."""
    env = Settings.from_env()
    return Settings(home=job_dir.resolve().parent.parent, prompts_dir=env.prompts_dir)


def run_job(job_dir: Path) -> int:
    """Run (or resume) a job in this process; write result.json; return the exit code."""
    sys.stdout.reconfigure(line_buffering=True)  # the log file is read while the job runs
    faulthandler.enable()  # a crash in native code still leaves a traceback in the log
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stdout, force=True
    )
    for noisy in ("httpx", "httpx2"):  # a line per request would only repeat the progress
        logging.getLogger(noisy).setLevel(logging.WARNING)
    store = JobStore(job_dir.resolve().parent)
    job = store.get(job_dir.name)
    if int(os.environ.get("RANK", "0")) > 0:  # `accelerate launch`: a helper process of rank 0's job
        return _run_helper(job)
    try:
        lock = take_lock(job.dir)  # held until this process ends, however it ends
    except JobError as exc:
        log.error("%s", exc)
        return 1
    signal.signal(signal.SIGTERM, _raise_cancel)
    progress_path = job.dir / "progress.json"
    last: dict[str, Any] = {}

    def report(snapshot: dict[str, Any]) -> None:
        last.clear()
        last.update(snapshot)
        write_json_atomic(progress_path, snapshot)

    log.info("job %s (%s) starting in pid %d", job.id, job.kind, os.getpid())
    try:
        result = _run(job, report)
    except _Cancelled:
        result = {"state": "cancelled", "message": "cancelled"}
    except FatalLLMError as exc:
        log.error("stopping at once: %s", exc)
        result = {"state": "failed", "message": str(exc), "reason": exc.reason}
    except JapagenError as exc:
        log.error("%s", exc)
        result = {"state": "failed", "message": str(exc)}
    except Exception as exc:
        log.error("unexpected error:\n%s", traceback.format_exc())
        result = {"state": "failed", "message": f"unexpected {type(exc).__name__}: {exc} (traceback in the log)"}
    write_json_atomic(progress_path, {**last, "state": result["state"], "message": result.get("message", "")})
    write_json_atomic(job.dir / "result.json", result)
    log.info("job %s ended: %s %s", job.id, result["state"], result.get("message", ""))
    lock.close()
    return 0 if result["state"] == "succeeded" else 1


def last_snapshot(job: Job) -> dict[str, Any]:
    try:
        return json.loads((job.dir / "progress.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class _Cancelled(Exception):
    pass


def _raise_cancel(signum, frame) -> None:
    raise _Cancelled()


def submit_analysis(project: Project, cfg: AnalysisConfig) -> Job:
    """Check an analysis config, create its job folder and start it."""
    task = cfg.check(project)
    store = JobStore(project.settings.jobs_dir)
    job = store.create("analysis", asdict(cfg), label=task.name)
    store.start(job)
    return job


def submit_training(project: Project, request: TrainRequest, *, start: bool = True) -> Job:
    """Snapshot a training request's data, create its job folder and (unless told not to) start it."""
    plan = plan_training(project, request)
    store = JobStore(project.settings.jobs_dir)
    job = store.create("train", asdict(plan), label=plan.task)
    if start:
        store.start(job)
    return job


def submit_prompting(project: Project, request: PromptingRequest) -> Job:
    """Check a PROMPTING baseline (and that a key is configured), snapshot its splits and start it."""
    resolve_api_key(request.llm.get("base_url"), allow_insecure_http=bool(request.llm.get("allow_insecure_http")),
                    secrets_path=SECRETS_PATH)  # fmt: skip
    plan = plan_prompting(project, request)
    store = JobStore(project.settings.jobs_dir)
    job = store.create("prompting", asdict(plan), label=plan.task)
    store.start(job)
    return job


def _run_helper(job: Job) -> int:
    """A DDP process of rank > 0: it trains along with rank 0 and leaves the job's files to it."""
    signal.signal(signal.SIGTERM, _raise_cancel)
    try:
        _run(job, lambda snapshot: None)
    except _Cancelled:
        return 1
    return 0


def _run(job: Job, report) -> dict[str, Any]:
    project = Project.open(_settings_for(job.dir))
    if job.kind == "train":
        from japagen_core.training.finetune import run_training_job  # torch loads only in a train job

        cancelled = lambda: job.cancel_requested  # noqa: E731
        return run_training_job(project, job.config, job_id=job.id, report=report, cancelled=cancelled)
    if job.kind == "prompting":
        return _run_prompting(project, job, report)
    if job.kind == "analysis":

        def step(s: dict[str, Any]) -> None:
            report({"state": "running", "ok": s["done"], "target": s["total"], "message": s["step"]})

        return run_analysis_job(project, job.config, job.id, step)
    if job.kind in TEACHER_KINDS:
        from japagen_core.teacher.service import run_teacher_job

        return run_teacher_job(project, job, report, lambda: job.cancel_requested)
    if job.kind not in RUN_KINDS:
        raise JapagenError(f"unknown job kind {job.kind!r}")
    cfg = RunConfig(**job.config)
    cfg.check(project)
    llm = LLMConfig(**cfg.llm)
    key = (resolve_api_key(llm.base_url, allow_insecure_http=llm.allow_insecure_http, secrets_path=SECRETS_PATH)
           if cfg.backend == "openai" else None)  # fmt: skip

    async def main() -> str:
        client = OpenAIChatClient(llm, key) if key is not None else _local_client(cfg, llm)
        try:
            runner = Runner(project, cfg, client, job.parts_dir, report=report, cancelled=lambda: job.cancel_requested)
            state = await runner.run()
            return state, runner.shortfall(runner.done_parts()), runner.progress.failures
        finally:
            await client.close()

    state, short, failures = asyncio.run(main())
    if state == "cancelled":
        return {"state": "cancelled", "message": "cancelled: resume to go on"}
    if state == "incomplete":
        missing = ", ".join(f"{name} {n}" for name, n in short.items())
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(failures.items(), key=lambda kv: -kv[1])[:4])
        message = f"not enough usable answers (missing: {missing}; failures: {reasons}); resume to try again"
        log.error("%s", message)
        return {"state": "failed", "message": message, "missing": short}
    report({**last_snapshot(job), "state": "saving", "message": "saving the examples"})
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a half-saved run would disagree with its job state
    summary = ingest(project, cfg, job.parts_dir, job_id=job.id)
    log.info("ingested %d examples into dataset %s", summary["rows"], cfg.run_id)
    return {
        "state": "succeeded",
        "dataset_id": cfg.run_id,
        "summary": summary,
        "message": f"{summary['rows']} examples",
    }


def _local_client(cfg: RunConfig, llm: LLMConfig):
    from japagen_core.generation.local import LocalChatClient, LocalConfig  # torch loads only in a local run

    return LocalChatClient(llm, LocalConfig(**cfg.local), seed=cfg.seed)


def _run_prompting(project: Project, job: Job, report) -> dict[str, Any]:
    llm = LLMConfig(**job.config["llm"])
    key = resolve_api_key(llm.base_url, allow_insecure_http=llm.allow_insecure_http, secrets_path=SECRETS_PATH)

    async def main() -> dict[str, Any]:
        client = OpenAIChatClient(llm, key)
        try:
            return await run_prompting(project, job.config, job_id=job.id, parts_dir=job.parts_dir, client=client,
                                       report=report, cancelled=lambda: job.cancel_requested)  # fmt: skip
        finally:
            await client.close()

    return asyncio.run(main())
