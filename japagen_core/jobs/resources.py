"""The job queue: resource slots a job holds while it works, and its place in line while it waits.

Decision. There is no scheduler process: every job's process starts at once (as before) and, before its
work, takes the slots its kind needs. A slot is an exclusive ``flock`` on a file
``<home>/jobs/.slots/<pool>-<n>.lock``; the kernel drops it however the process ends, so a crashed job never
leaks a slot and nothing has to be cleaned up. While it waits, the job writes ``queue.json`` (its pools,
``acquired_at`` still null) into its folder and its progress says "queued". This gives, without a daemon:

- FIFO: a waiting job takes a slot only when no job created before it is still waiting for a pool they
  share (jobs waiting for other pools go on independently).
- Survives an app restart: the waiting is done by the job's own process, not by the app.
- Cancel while queued: the wait checks the CANCEL file (and SIGTERM ends it), so the job ends "cancelled".
- State: the job lock held + ``queue.json`` not acquired = "queued"; a waiting process that died leaves
  the lock free and no result: "interrupted", as for any job (store.JobStore._state).
- Position: the jobs ahead of it that share a pool: those holding it now plus the earlier ones waiting.

Pools and their sizes (environment variables, read when a job asks; defaults safe on a laptop and on a
one-GPU box):

    gpu        JAPAGEN_GPU_SLOTS_PER_DEVICE (1) jobs per visible GPU; a job holding slot n runs on GPU
               n // per-device (CUDA_VISIBLE_DEVICES is set for it before torch loads)
    cpu        JAPAGEN_CPU_SLOTS (1): training and other heavy CPU work when there is no GPU
    llm-<id>   JAPAGEN_LLM_JOBS_PER_ENDPOINT (2) jobs per base URL (OpenAI when none)

``JAPAGEN_GPUS`` overrides the GPU count (0 turns the GPU pool off); by default it is the length of
``CUDA_VISIBLE_DEVICES`` if set, else the number of GPUs the NVIDIA driver lists, found without importing
torch, so a waiting job (and the Jobs page) stays light.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from japagen_core.jobs.store import QUEUE_FILE, Job, JobError, JobStore, lock_is_held, write_json_atomic

SLOTS_DIR = ".slots"
POLL_S = 0.5
GPU_POOL = "gpu"
CPU_POOL = "cpu"


def _env_int(name: str, default: int, *, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise JobError(f"{name}={raw!r} must be a whole number") from None
    if value < minimum:
        raise JobError(f"{name}={raw!r} must be at least {minimum}")
    return value


def visible_gpus() -> list[str]:
    """The GPUs a job may use (ids as CUDA_VISIBLE_DEVICES names them), without importing torch."""
    if os.environ.get("JAPAGEN_GPUS", "").strip():
        return [str(i) for i in range(_env_int("JAPAGEN_GPUS", 0, minimum=0))]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [v.strip() for v in visible.split(",") if v.strip()]
        return [] if ids in ([], ["-1"]) else ids
    with contextlib.suppress(OSError):
        return [str(i) for i in range(len(os.listdir("/proc/driver/nvidia/gpus")))]
    return []


def device_pool() -> str:
    """The pool of heavy local work (training, a local model): a GPU slot where there is a GPU, else CPU."""
    return GPU_POOL if visible_gpus() else CPU_POOL


def llm_pool(base_url: str | None) -> str:
    """The pool of an LLM endpoint: its jobs share JAPAGEN_LLM_JOBS_PER_ENDPOINT slots."""
    url = (base_url or "https://api.openai.com/v1").rstrip("/").lower()
    return "llm-" + hashlib.sha256(url.encode()).hexdigest()[:12]


def capacity(pool: str) -> int:
    if pool == GPU_POOL:
        return len(visible_gpus()) * _env_int("JAPAGEN_GPU_SLOTS_PER_DEVICE", 1)
    if pool == CPU_POOL:
        return _env_int("JAPAGEN_CPU_SLOTS", 1)
    if pool.startswith("llm-"):
        return _env_int("JAPAGEN_LLM_JOBS_PER_ENDPOINT", 2)
    return _env_int(f"JAPAGEN_SLOTS_{pool.upper().replace('-', '_')}", 1)


def pool_words(pool: str) -> str:
    if pool == GPU_POOL:
        return "a GPU slot"
    if pool == CPU_POOL:
        return "the CPU training slot"
    if pool.startswith("llm-"):
        return "a slot on its LLM endpoint"
    return f"a {pool} slot"


@dataclass
class Held:
    """The slots a job holds: open files whose locks go when they close (or the process ends)."""

    files: list[Any]
    slots: dict[str, int]  # pool -> slot number

    def release(self) -> None:
        for f in self.files:
            f.close()
        self.files.clear()


def _try_slot(slots_dir: Path, pool: str) -> tuple[Any, int] | None:
    for n in range(capacity(pool)):
        f = (slots_dir / f"{pool}-{n}.lock").open("a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            continue
        return f, n
    return None


def _try_all(slots_dir: Path, pools: list[str]) -> Held | None:
    held = Held([], {})
    for pool in sorted(pools):  # one order for every job: no two jobs hold each other's missing slot
        got = _try_slot(slots_dir, pool)
        if got is None:
            held.release()
            return None
        held.files.append(got[0])
        held.slots[pool] = got[1]
    return held


@dataclass(frozen=True)
class Waiter:
    job_id: str
    created_at: str
    pools: tuple[str, ...]
    holding: bool


def _queue_entries(store: JobStore) -> list[Waiter]:
    """Jobs whose process is alive and that hold slots or wait for them, including jobs just started whose
    process has not written queue.json yet (their kind says which pools they will want): a job that is
    slow to start keeps its place in line."""
    out = []
    if not store.root.exists():
        return out
    for folder in store.root.iterdir():
        if (folder / "result.json").exists() or not (folder / "job.json").exists():
            continue  # ended (a start removes the result of an earlier attempt first)
        info = store.read_queue(folder)
        if lock_is_held(folder):
            if info and info.get("pools") and not info.get("released_at"):
                out.append(Waiter(folder.name, str(info.get("created_at", "")), tuple(info["pools"]),
                                  bool(info.get("acquired_at"))))  # fmt: skip
                continue
            if info:  # released, or wants nothing
                continue
        elif not store.launched_and_alive(folder):
            continue  # never started, or its process is gone: it holds nothing and waits for nothing
        waiter = _starting(store, folder)
        if waiter is not None:
            out.append(waiter)
    return out


def _starting(store: JobStore, folder: Path) -> Waiter | None:
    """A started job that has not written queue.json yet, with the pools its kind will ask for."""
    from japagen_core.jobs.kinds import get_kind

    try:
        job = store.get(folder.name)
        pools = get_kind(job.kind).resources(job.config)
    except JobError:  # an unknown kind fails in its own process; it waits for nothing
        return None
    return Waiter(job.id, job.created_at, tuple(sorted(set(pools))), False) if pools else None


def ahead_of(store: JobStore, job: Job, pools: list[str] | tuple[str, ...]) -> list[Waiter]:
    """The jobs ahead of ``job`` in line for any of ``pools``: holders first, then earlier waiters."""
    mine = set(pools)
    entries = [w for w in _queue_entries(store) if w.job_id != job.id and mine & set(w.pools)]
    holders = [w for w in entries if w.holding]
    earlier = [w for w in entries if not w.holding and (w.created_at, w.job_id) < (job.created_at, job.id)]
    return holders + sorted(earlier, key=lambda w: (w.created_at, w.job_id))


def position(store: JobStore, job: Job) -> int | None:
    """How many jobs are ahead of a queued job (0: it takes its slots next); None when it is not queued."""
    if job.state != "queued" or not (lock_is_held(job.dir) or store.launched_and_alive(job.dir)):
        return None  # not queued, or created and never started (``train --no-start``)
    info = store.read_queue(job.dir)
    if info and info.get("pools"):
        pools = info["pools"]
    else:
        waiter = _starting(store, job.dir)
        if waiter is None:
            return 0
        pools = waiter.pools
    return len(ahead_of(store, job, pools))


def acquire(
    store: JobStore,
    job: Job,
    pools: list[str],
    *,
    cancelled: Callable[[], bool],
    on_wait: Callable[[int, list[str]], None],
) -> Held | None:
    """Wait in line for one slot of each pool; None when the job was cancelled while it waited.

    ``on_wait(position, pools)`` is called whenever the job's place in line changes.
    """
    pools = sorted(set(pools))
    if not pools:
        return Held([], {})
    for pool in pools:
        if capacity(pool) < 1:
            raise JobError(f"job {job.id} needs {pool_words(pool)}, but there are none (see jobs/resources.py)")
    slots_dir = store.root / SLOTS_DIR
    slots_dir.mkdir(parents=True, exist_ok=True)
    entry = {"pools": pools, "created_at": job.created_at, "queued_at": datetime.now(UTC).isoformat(),
             "acquired_at": None, "slots": {}}  # fmt: skip
    write_json_atomic(job.dir / QUEUE_FILE, entry)
    last_position = None
    while True:
        if cancelled():
            return None
        ahead = ahead_of(store, job, pools)
        if not any(not w.holding for w in ahead):  # no earlier job waits for these pools: try them
            held = _try_all(slots_dir, pools)
            if held is not None:
                acquired = {**entry, "acquired_at": datetime.now(UTC).isoformat(), "slots": held.slots}
                write_json_atomic(job.dir / QUEUE_FILE, acquired)
                return held
        if len(ahead) != last_position:
            last_position = len(ahead)
            on_wait(max(last_position, 1), pools)
        time.sleep(POLL_S)


def pin_gpu(held: Held) -> str | None:
    """Point CUDA_VISIBLE_DEVICES at the GPU of the job's GPU slot (before torch loads); its id or None."""
    if GPU_POOL not in held.slots:
        return None
    gpus = visible_gpus()
    per_device = _env_int("JAPAGEN_GPU_SLOTS_PER_DEVICE", 1)
    gpu = gpus[min(held.slots[GPU_POOL] // per_device, len(gpus) - 1)]
    os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    return gpu
