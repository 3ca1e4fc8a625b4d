"""Background jobs as folders: a job is a command over files, so it survives the app and runs anywhere.

    <home>/jobs/<id>/job.json        kind and config (never an API key)
                     pid.json        pid and process start time of the current attempt
                     progress.json   atomically replaced while it runs
                     result.json     written once it ends: succeeded / failed / cancelled
                     log.txt         the job's log (stdout and stderr)
                     CANCEL          asks the job to stop
                     parts/          its output, one Parquet file per finished unit of work

The app submits ``python -m japagen_core job run <dir>`` with ``start_new_session=True``. A job whose
process is gone without a result is "interrupted"; running it again resumes from its parts.
"""

from __future__ import annotations

import contextlib
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

from japagen_core.errors import JapagenError
from japagen_core.settings import PROJECT_ROOT

FINAL_STATES = ("succeeded", "failed", "cancelled")


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


def _process_start_time(pid: int) -> str | None:
    """The kernel's start time of a process (field 22 of /proc/<pid>/stat), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19] if len(fields) > 19 and fields[0] != "Z" else None


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

    def log_tail(self, lines: int = 40) -> str:
        try:
            with self.log_path.open("rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 16_000))
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


class JobStore:
    """The jobs under ``<home>/jobs``."""

    def __init__(self, jobs_dir: Path):
        self.root = jobs_dir

    def create(self, kind: str, config: dict[str, Any], *, label: str = "") -> Job:
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
        if pid_info is not None:
            self._alive(pid_info)  # also reaps a finished child of ours, so no zombie lingers
        if job.result.get("state") in FINAL_STATES:
            return job.result["state"]
        if pid_info is None:
            return "queued"
        if self._alive(pid_info):
            return "running"
        return "interrupted"

    @staticmethod
    def _alive(pid_info: dict[str, Any]) -> bool:
        pid = int(pid_info["pid"])
        with contextlib.suppress(ChildProcessError):  # reap our finished child: a zombie is not alive
            os.waitpid(pid, os.WNOHANG)
        return _process_start_time(pid) == pid_info.get("start_time")

    # -- processes ---------------------------------------------------------------------------------

    def start(self, job: Job, *, env: dict[str, str] | None = None) -> int:
        """Run (or resume) the job in a new session; return its pid."""
        current = self.get(job.id)
        if current.state == "running":
            raise JobError(f"job {job.id} is already running")
        if current.state in ("succeeded",):
            raise JobError(f"job {job.id} already succeeded")
        for stale in ("CANCEL", "result.json"):
            (job.dir / stale).unlink(missing_ok=True)
        run_env = dict(os.environ if env is None else env)
        run_env["PYTHONPATH"] = str(PROJECT_ROOT) + os.pathsep + run_env.get("PYTHONPATH", "")
        with job.log_path.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "japagen_core", "job", "run", str(job.dir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=run_env,
                cwd=PROJECT_ROOT,
            )
        write_json_atomic(job.dir / "pid.json", {"pid": proc.pid, "start_time": _wait_start_time(proc.pid)})
        return proc.pid

    def cancel(self, job: Job, *, grace: float = 5.0) -> None:
        """Ask the job to stop (CANCEL file), then SIGTERM its process group, then SIGKILL."""
        (job.dir / "CANCEL").touch()
        pid_info = _read_json(job.dir / "pid.json")
        if pid_info is None or not self._alive(pid_info):
            if self.get(job.id).state not in FINAL_STATES:
                write_json_atomic(job.dir / "result.json", {"state": "cancelled", "message": "cancelled while stopped"})
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and self._alive(pid_info):
            time.sleep(0.1)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not self._alive(pid_info):
                break
            try:
                os.killpg(int(pid_info["pid"]), sig)
            except ProcessLookupError:
                break
            time.sleep(1.0)
        if self.get(job.id).state not in FINAL_STATES:
            write_json_atomic(job.dir / "result.json", {"state": "cancelled", "message": "stopped by a signal"})


def _wait_start_time(pid: int) -> str | None:
    for _ in range(50):
        start = _process_start_time(pid)
        if start is not None:
            return start
        time.sleep(0.01)
    return None
