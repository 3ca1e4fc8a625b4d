"""Background jobs as folders: a job is a command over files, so it survives the app and runs anywhere.

    <home>/jobs/<id>/job.json        kind and config (never an API key)
                     launch.json     pid and process start time of the process the app or CLI started
                     pid.json        pid and start time of the attempt holding the lock (and of its worker)
                     progress.json   atomically replaced while it runs
                     result.json     written once it ends: succeeded / failed / cancelled
                     log.txt         the job's log (stdout and stderr)
                     CANCEL          asks the job to stop
                     queue.json      the resource pools it waits for or holds (jobs/resources.py)
                     parts/          its output, one Parquet file per finished unit of work

The app submits ``python -m japagen_core job run <dir>`` with ``start_new_session=True``. The state is
derived, never trusted from a file alone: a final result.json says how it ended; the lock held means
"running", unless queue.json says it still waits for its slots ("queued"); a started process that is
still alive (same pid and same process start time, not a zombie) but has not taken the lock yet means
"queued"; a job whose process is gone without a result is
"interrupted", and running it again resumes from its parts.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from japagen_core import readonly
from japagen_core.errors import JapagenError
from japagen_core.settings import INSTALLED, PROJECT_ROOT, WORK_ROOT

FINAL_STATES = ("succeeded", "failed", "cancelled")
# A launch whose pid is not yet recorded counts as queued this long (Popen returns within milliseconds).
LAUNCH_GRACE_S = 30.0
QUEUE_FILE = "queue.json"


class JobError(JapagenError):
    """A job cannot be found, started or stopped."""


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


@dataclass
class Job:
    id: str
    dir: Path
    kind: str
    config: dict[str, Any]
    created_at: str
    state: str = "queued"  # queued, running, interrupted, succeeded, failed, cancelled
    progress: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def parts_dir(self) -> Path:
        return self.dir / "parts"

    @property
    def log_path(self) -> Path:
        return self.dir / "log.txt"

    @property
    def cancel_requested(self) -> bool:
        return (self.dir / "CANCEL").exists()

    def read_progress(self) -> dict[str, Any]:
        """progress.json as it is now (``progress`` is what it was when the job was read)."""
        return _read_json(self.dir / "progress.json") or {}

    def log_tail(self, lines: int = 40) -> str:
        try:
            with self.log_path.open("rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 16_000))
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


class JobStore:
    """The jobs under ``<home>/jobs``.

    read_only: refuse to create, start or cancel jobs (``ReadOnlyError``); listing and reading work.
    None (the default) follows this process's ``JAPAGEN_READ_ONLY``, so a store built from a bare
    folder path in a read-only process refuses too.
    """

    def __init__(self, jobs_dir: Path, *, read_only: bool | None = None):
        self.root = jobs_dir
        self.read_only = readonly.flag_from_env() if read_only is None else read_only

    def create(self, kind: str, config: dict[str, Any], *, label: str = "") -> Job:
        readonly.check_writable(self.read_only, f"creating a {kind} job")
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        job_id = f"{kind}-{label + '-' if label else ''}{stamp}-{uuid.uuid4().hex[:6]}"
        job_dir = self.root / job_id
        (job_dir / "parts").mkdir(parents=True)
        spec = {"id": job_id, "kind": kind, "config": config, "created_at": datetime.now(UTC).isoformat()}
        write_json_atomic(job_dir / "job.json", spec)
        return self.get(job_id)

    def get(self, job_id: str) -> Job:
        job_dir = self.root / job_id
        spec = _read_json(job_dir / "job.json")
        if spec is None:
            raise JobError(f"no job {job_id!r} in {self.root}")
        job = Job(spec["id"], job_dir, spec["kind"], spec["config"], spec["created_at"])
        job.progress = _read_json(job_dir / "progress.json") or {}
        job.result = _read_json(job_dir / "result.json") or {}
        job.state = self._state(job)
        return job

    def list(self) -> list[Job]:
        if not self.root.exists():
            return []
        jobs = [self.get(p.name) for p in self.root.iterdir() if (p / "job.json").exists()]
        return sorted(jobs, key=lambda j: j.created_at, reverse=True)

    def _state(self, job: Job) -> str:
        pid_info = _read_json(job.dir / "pid.json")
        launch = _read_json(job.dir / "launch.json")
        for info in (pid_info, launch):  # reap a finished child of ours, so no zombie lingers
            if info is not None and info.get("pid"):
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(int(info["pid"]), os.WNOHANG)
        if job.result.get("state") in FINAL_STATES:
            return job.result["state"]
        if lock_is_held(job.dir):
            queue = self.read_queue(job.dir)
            return "queued" if queue and queue.get("pools") and not queue.get("acquired_at") else "running"
        if launch is not None:  # started: queued while its process lives and has not taken the lock yet
            if launch.get("pid") is None:  # being launched right now (the pid follows within moments)
                return "queued" if time.time() - float(launch.get("at", 0)) < LAUNCH_GRACE_S else "interrupted"
            return "queued" if process_alive(launch) else "interrupted"
        starting = job.dir / "STARTING"  # a job started by an earlier version
        if starting.exists() and time.time() - starting.stat().st_mtime < LAUNCH_GRACE_S:
            return "queued"
        return "interrupted" if pid_info is not None or starting.exists() else "queued"

    def launched_and_alive(self, job_dir: Path) -> bool:
        """Whether a start of this job is under way: its process lives (or is being launched right now)."""
        launch = _read_json(job_dir / "launch.json")
        if launch is None:
            return False
        if launch.get("pid") is None:
            return time.time() - float(launch.get("at", 0)) < LAUNCH_GRACE_S
        return process_alive(launch)

    def read_queue(self, job_dir: Path) -> dict[str, Any] | None:
        """The job's queue.json: the pools it waits for (``acquired_at`` null) or holds."""
        return _read_json(job_dir / QUEUE_FILE)

    # -- processes ---------------------------------------------------------------------------------

    def start(self, job: Job, *, env: dict[str, str] | None = None) -> int:
        """Run (or resume) the job in a new session; return its pid.

        The job process takes the job's lock first thing; a second start of the same job finds it
        held and exits, so two runners never work on one job.
        """
        readonly.check_writable(self.read_only, f"starting job {job.id}")
        current = self.get(job.id)
        if current.state == "queued" and (job.dir / "launch.json").exists():
            raise JobError(f"job {job.id} is already starting")
        if current.state == "succeeded":
            raise JobError(f"job {job.id} already succeeded")
        deadline = time.monotonic() + LAUNCH_GRACE_S
        while current.state in FINAL_STATES and lock_is_held(job.dir) and time.monotonic() < deadline:
            time.sleep(0.05)  # the attempt that wrote the result is still closing: its lock goes with it
        if current.state == "running" or lock_is_held(job.dir):
            raise JobError(f"job {job.id} is already running")
        for stale in ("CANCEL", "result.json", "STARTING", QUEUE_FILE):
            (job.dir / stale).unlink(missing_ok=True)
        write_json_atomic(job.dir / "launch.json", {"pid": None, "at": time.time()})
        run_env = dict(os.environ if env is None else env)
        if not INSTALLED:  # a checkout: japagen_core is importable from its root
            run_env["PYTHONPATH"] = str(PROJECT_ROOT) + os.pathsep + run_env.get("PYTHONPATH", "")
        with job.log_path.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "japagen_core", "job", "run", str(job.dir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=run_env,
                cwd=WORK_ROOT,  # where relative defaults (secrets) resolve, as in the process that starts it
            )
        launched = {"pid": proc.pid, "start_time": process_start_time(proc.pid), "at": time.time()}
        write_json_atomic(job.dir / "launch.json", launched)
        return proc.pid

    def cancel(self, job: Job, *, grace: float = 5.0) -> str:
        """Ask the job to stop (CANCEL file), then SIGTERM its process group, then SIGKILL.

        Returns what happened, for the CLI and the Jobs page.
        """
        readonly.check_writable(self.read_only, f"cancelling job {job.id}")
        current = self.get(job.id)
        if current.state in FINAL_STATES:
            return f"job {job.id} had already {current.state}; nothing to cancel"
        if current.progress.get("state") == "saving":
            raise JobError(f"job {job.id} has finished generating and is being saved; it cannot be cancelled now")
        (job.dir / "CANCEL").touch()
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and lock_is_held(job.dir):
            time.sleep(0.1)
        pid_info = _read_json(job.dir / "pid.json")
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if pid_info is None or not lock_is_held(job.dir):
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pid_info["pid"]), sig)
            time.sleep(1.0)
        if self.get(job.id).state not in FINAL_STATES:
            write_json_atomic(job.dir / "result.json", {"state": "cancelled", "message": "cancelled: resume to go on"})
        return f"cancelled {job.id}"


def lock_is_held(job_dir: Path) -> bool:
    """Whether a job process holds the job's lock (the lock goes with the process, however it ends)."""
    try:  # opened for reading: asking must not create the file (read-only mode changes nothing)
        with (job_dir / "lock").open("r") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
            return False
    except FileNotFoundError:
        return False


def take_lock(job_dir: Path):
    """Hold the job's lock for the life of this process; JobError if another process has it."""
    f = (job_dir / "lock").open("a")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise JobError(f"job {job_dir.name} is already running in another process") from None
    write_json_atomic(job_dir / "pid.json", {"pid": os.getpid(), "start_time": process_start_time(os.getpid())})
    (job_dir / "STARTING").unlink(missing_ok=True)
    return f


def process_start_time(pid: int) -> str | None:
    """When process ``pid`` started, as the kernel counts it (clock ticks since boot, from
    /proc/<pid>/stat), so a pid reused by another process is not taken for it; None when the process
    is gone or a zombie. Without /proc (not Linux): "" for any live pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return ""
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
    if fields[0] in ("Z", "X"):  # a zombie has ended; only its exit status is left
        return None
    return fields[19]  # field 22 of stat: starttime


def process_alive(info: dict[str, Any]) -> bool:
    """Whether the process a launch.json/pid.json names still runs (same pid, same start time)."""
    pid = info.get("pid")
    if not pid:
        return False
    started = process_start_time(int(pid))
    if started is None:
        return False
    recorded = info.get("start_time")
    return recorded is None or recorded == "" or started == "" or recorded == started
