"""Running a job inside its own process: ``python -m japagen_core job run <job-dir>``."""

from __future__ import annotations

import asyncio
import faulthandler
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from japagen_core import readonly
from japagen_core.analysis import AnalysisConfig, run_analysis_job
from japagen_core.errors import JapagenError
from japagen_core.generation.llm import FatalLLMError, LLMConfig, OpenAIChatClient, resolve_api_key
from japagen_core.generation.run import RunConfig, Runner, ingest
from japagen_core.jobs.store import (
    FINAL_STATES,
    Job,
    JobError,
    JobStore,
    process_start_time,
    take_lock,
    write_json_atomic,
)
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


# Set in the environment of the worker process a job's supervisor starts: the number of the lock file
# descriptor it passes on (the worker shares the supervisor's lock, so the job stays locked while either lives).
WORKER_LOCK_FD = "JAPAGEN_JOB_LOCK_FD"
# Signals that stop a job on request (cancel, Ctrl-C, a closed terminal): the job is interrupted, not failed.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def run_job(job_dir: Path) -> int:
    """Run (or resume) a job; write result.json; return the exit code.

    This process takes the job's lock and supervises: the work runs in a child process that shares
    the lock, so however the work dies (a crash in native code, the OOM killer's SIGKILL) this process
    is left to record it as failed, with the signal and the last step it was on.
    """
    sys.stdout.reconfigure(line_buffering=True)  # the log file is read while the job runs
    faulthandler.enable()  # a crash in native code still leaves a traceback in the log
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stdout, force=True
    )
    for noisy in ("httpx", "httpx2"):  # a line per request would only repeat the progress
        logging.getLogger(noisy).setLevel(logging.WARNING)
    store = JobStore(job_dir.resolve().parent)
    job = store.get(job_dir.name)
    readonly.check_writable(store.read_only, f"running job {job.id}")  # it would write its folder and the store
    if int(os.environ.get("RANK", "0")) > 0:  # `accelerate launch`: a helper process of rank 0's job
        return _run_helper(job)
    worker_fd = os.environ.pop(WORKER_LOCK_FD, None)
    if worker_fd is not None:
        return _work(job, _shared_lock(job, worker_fd))
    try:
        lock = take_lock(job.dir)  # held until this process ends, however it ends
    except JobError as exc:
        log.error("%s", exc)
        return 1
    return _supervise(job, lock)


def _shared_lock(job: Job, fd_text: str) -> int:
    """The job lock the supervisor passed on (flock on the same open file is granted again at once)."""
    try:
        fd = int(fd_text)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (ValueError, OSError):
        raise JobError(f"job {job.id}: {WORKER_LOCK_FD}={fd_text!r} is not the job's lock") from None
    return fd


def _supervise(job: Job, lock) -> int:
    env = {**os.environ, WORKER_LOCK_FD: str(lock.fileno())}
    worker = subprocess.Popen(
        [sys.executable, "-m", "japagen_core", "job", "run", str(job.dir)], pass_fds=(lock.fileno(),), env=env
    )
    for stop in _STOP_SIGNALS:  # the worker gets them too (one process group) and ends the job itself; set
        signal.signal(stop, signal.SIG_IGN)  # after the start, as an ignored signal stays ignored across exec
    me = {"pid": os.getpid(), "start_time": process_start_time(os.getpid())}
    write_json_atomic(job.dir / "pid.json", {**me, "worker_pid": worker.pid,
                                             "worker_start_time": process_start_time(worker.pid)})  # fmt: skip
    code = worker.wait()
    result = _read_result(job)
    if result.get("state") in FINAL_STATES:
        lock.close()
        return 0 if result["state"] == "succeeded" else 1
    last = last_snapshot(job)
    step = last.get("message") or (f"{last.get('ok', 0)}/{last['target']} done" if last.get("target") else "")
    step = step or "starting"
    stopped = code == 130 or -code in _STOP_SIGNALS  # 130: the CLI's exit status after Ctrl-C
    if stopped:
        log.warning("job %s stopped (exit status %d) while on: %s; resume to go on", job.id, code, step)
        lock.close()
        return 1
    if code < 0:
        name = _signal_name(-code)
        message = f"the job's process died of {name} (signal {-code}) while on: {step}; see its log, resume to retry"
        result = {"state": "failed", "message": message, "signal": name, "last_step": step}
    else:
        message = f"the job's process exited with code {code} without a result while on: {step}; see its log"
        result = {"state": "failed", "message": message, "exit_code": code, "last_step": step}
    log.error("job %s %s", job.id, message)
    write_json_atomic(job.dir / "progress.json", {**last, "state": "failed", "message": message})
    write_json_atomic(job.dir / "result.json", result)
    lock.close()
    return 1


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal has no name of its own
        return f"SIG{number}"


def _read_result(job: Job) -> dict[str, Any]:
    try:
        return json.loads((job.dir / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _work(job: Job, lock_fd: int) -> int:
    """The job's work, in the supervisor's child process: run it, write progress and result.json."""
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
    os.close(lock_fd)
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
    _wait_for_the_store(project, job, report)
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
    cfg = RunConfig.from_stored(job.config)
    cfg.check(project)
    llm = LLMConfig(**cfg.llm)
    key = (resolve_api_key(llm.base_url, allow_insecure_http=llm.allow_insecure_http, secrets_path=SECRETS_PATH)
           if cfg.backend == "openai" else None)  # fmt: skip

    async def main() -> str:
        if cfg.batch:  # the OpenAI Batch API: the same units, answered by rounds of batch files
            from japagen_core.generation.batch import BatchRunner

            runner = BatchRunner(project, cfg, job.dir, key, report=report, cancelled=lambda: job.cancel_requested)
            state = await runner.run()
            return state, runner.shortfall(runner.done_parts()), runner.progress.failures
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


def _wait_for_the_store(project: Project, job: Job, report) -> None:
    """A job never fails because another process holds the store: work already done (answers paid
    for, a model trained) is saved however long the wait, and the job's progress says that it waits."""
    project.db.lock_timeout = None

    def waiting(seconds: float | None) -> None:
        if seconds is not None:  # None: the wait is over, and the next report says what comes next
            report({**last_snapshot(job), "message": f"waiting for the store ({seconds:.0f} s)"})

    project.db.on_wait = waiting


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
