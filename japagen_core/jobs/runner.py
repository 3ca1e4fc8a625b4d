"""Running a job inside its own process: ``python -m japagen_core job run <job-dir>``."""

from __future__ import annotations

import faulthandler
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from japagen_core import readonly
from japagen_core.errors import JapagenError
from japagen_core.jobs import kinds, resources
from japagen_core.jobs.kinds import JobContext, NotResumable
from japagen_core.jobs.progress import Progress
from japagen_core.jobs.store import (
    FINAL_STATES,
    QUEUE_FILE,
    Job,
    JobError,
    JobStore,
    process_start_time,
    take_lock,
    write_json_atomic,
)
from japagen_core.project import Project
from japagen_core.settings import Settings

log = logging.getLogger("japagen_core.job")


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
    progress = Progress.from_json(last)
    step = progress.message or (f"{progress.done}/{progress.target} done" if progress.target else "")
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
    """The job's work, in the supervisor's child process: wait for its slots, run it, write progress and
    result.json."""
    signal.signal(signal.SIGTERM, _raise_cancel)
    progress_path = job.dir / "progress.json"
    last: dict[str, Any] = {}

    def write(progress: Progress) -> None:
        snapshot = progress.to_json()
        last.clear()
        last.update(snapshot)
        write_json_atomic(progress_path, snapshot)

    log.info("job %s (%s) starting in pid %d", job.id, job.kind, os.getpid())
    held = None
    try:
        kind = kinds.get_kind(job.kind)
        held = _wait_for_slots(job, kind, write)
        result = None if held is not None else {"state": "cancelled", "message": "cancelled while queued"}
        if result is None:
            result = _run(job, kind, write)
    except _Cancelled:
        result = {"state": "cancelled", "message": "cancelled"}
    except NotResumable as exc:
        log.error("%s", exc)
        result = {"state": "failed", "message": str(exc), "resumable": False, "not_resumable": str(exc)}
    except JapagenError as exc:  # FatalLLMError (a bad key, an unknown model) carries its reason
        log.error("%s", exc)
        result = {"state": "failed", "message": str(exc)}
        if getattr(exc, "reason", None):
            result["reason"] = exc.reason
    except Exception as exc:
        log.error("unexpected error:\n%s", traceback.format_exc())
        result = {"state": "failed", "message": f"unexpected {type(exc).__name__}: {exc} (traceback in the log)"}
    if held is not None:
        held.release()
        _mark_released(job)
    write_json_atomic(progress_path, {**last, "state": result["state"], "message": result.get("message", "")})
    write_json_atomic(job.dir / "result.json", result)
    log.info("job %s ended: %s %s", job.id, result["state"], result.get("message", ""))
    os.close(lock_fd)
    return 0 if result["state"] == "succeeded" else 1


def _wait_for_slots(job: Job, kind: kinds.JobKind, write) -> resources.Held | None:
    """Wait in the queue for the kind's slots (None: cancelled while waiting). A process of a multi-process
    launch (``accelerate launch``: WORLD_SIZE > 1) was placed by whoever launched it and takes none."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return resources.Held([], {})
    pools = kind.resources(job.config)
    store = JobStore(job.dir.parent)

    def waiting(position: int, pools: list[str]) -> None:
        wants = ", ".join(resources.pool_words(p) for p in pools)
        message = f"queued, position {position}: waiting for {wants}"
        log.info("%s", message)
        write(Progress(state="queued", message=message, extras={"position": position, "pools": pools}))

    held = resources.acquire(store, job, pools, cancelled=lambda: job.cancel_requested, on_wait=waiting)
    if held is not None and held.slots:
        gpu = resources.pin_gpu(held)
        log.info("job %s holds %s%s", job.id, held.slots, f" (GPU {gpu})" if gpu is not None else "")
    return held


def _mark_released(job: Job) -> None:
    info = JobStore(job.dir.parent).read_queue(job.dir)
    if info:
        write_json_atomic(job.dir / QUEUE_FILE, {**info, "released_at": datetime.now(UTC).isoformat()})


def last_snapshot(job: Job) -> dict[str, Any]:
    try:
        return json.loads((job.dir / "progress.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class _Cancelled(Exception):
    pass


def _raise_cancel(signum, frame) -> None:
    raise _Cancelled()


def _run_helper(job: Job) -> int:
    """A DDP process of rank > 0: it trains along with rank 0 and leaves the job's files to it."""
    signal.signal(signal.SIGTERM, _raise_cancel)
    try:
        _run(job, kinds.get_kind(job.kind), lambda progress: None)
    except _Cancelled:
        return 1
    return 0


def _run(job: Job, kind: kinds.JobKind, write) -> dict[str, Any]:
    """The work of any kind: one lookup, then the kind's ``run``."""
    project = Project.open(_settings_for(job.dir))
    _wait_for_the_store(project, job, lambda snapshot: write(Progress.from_json(snapshot)))
    return kind.run(JobContext(project, job, write))


def _wait_for_the_store(project: Project, job: Job, report) -> None:
    """A job never fails because another process holds the store: work already done (answers paid
    for, a model trained) is saved however long the wait, and the job's progress says that it waits."""
    project.db.lock_timeout = None

    def waiting(seconds: float | None) -> None:
        if seconds is not None:  # None: the wait is over, and the next report says what comes next
            report({**last_snapshot(job), "message": f"waiting for the store ({seconds:.0f} s)"})

    project.db.on_wait = waiting
