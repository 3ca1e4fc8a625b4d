"""The models of one training job (seeds, scaling sizes) trained side by side, one worker process each.

Why: a Table 1 cell is five seeds of the same small model, and one model uses little of the machine.
At the paper's batch 32 a bert-base step on a GPU is launch-bound (one H200: 41 ms a step with the
Trainer, 3% slower padded to 512), so four training processes on the one GPU trained 3.2x the examples
per second of one. On a CPU, torch's default of one thread per core in one process lost to one thread
per process on a loaded 2-core machine by 17x (threads wait on each other; processes do not).

How (the decision, and why):
- Worker *processes*, not threads: the Python side of each step (the kernel launches) holds the GIL, and
  CUDA contexts, torch's thread pools and the Trainer are per process.
- ``multiprocessing`` with the *spawn* start method, not fork: a forked child inherits the parent's CUDA
  context (unusable in the child) and OpenMP pool; spawn starts a clean interpreter that sets its
  thread count before it imports torch (worker.py) and imports only what training needs (worker.py,
  this module and ``finetune``: no DuckDB).
- Not ``python -m japagen_core job run`` subprocesses: a model is not a job. The job process stays the
  only one that opens the store (DuckDB allows one writer): it takes every model's training rows from
  the snapshots, hands them to a worker through a queue, and stores each model as its worker reports it
  done. A worker writes only its model's own folder (``.partial-<model id>``).
- A small pool of long-lived workers, each training model after model, so each pays torch's import
  (seconds) once, not per model; a job of one model (or a one-slot setting) trains in the job process
  itself, exactly as before.

Every model is trained by ``finetune.train_model`` with its own seed (``transformers.set_seed`` before
the head is drawn, the Trainer's ``seed`` and ``data_seed`` for the data order), so its numbers do not
depend on which worker trained it or what that worker trained before: side by side gives the metrics of
one after another, given the same torch thread count per model (a CPU sums in another order with
another thread count; ``JAPAGEN_THREADS_PER_MODEL`` fixes it). Cancel (the job's CANCEL file, polled by
the job process) sets an event that every worker's Trainer checks after each step; a worker that
raises or dies fails the job with the model and seed it was training; models finished before stay
stored, so resume trains only the rest.

Slots (read when a job runs, not at import):
- ``JAPAGEN_PARALLEL_MODELS``: at most this many models at once (``1``: one after another; default
  ``auto``: on a GPU min(models, what fits in free GPU memory, CPU cores, 8); on a CPU min(models,
  cores / threads per model, what fits in available memory)).
- ``JAPAGEN_THREADS_PER_MODEL``: torch threads per model (default: the cores shared out among the models
  trained at once, at least 1), set explicitly in every worker so the cores are never oversubscribed.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from japagen_core.tasks import Task
from japagen_core.training.config import TrainConfig, TrainingError
from japagen_core.training.finetune import TrainedModel, TrainingCancelled, _device, train_model
from japagen_core.training.worker import worker_main

log = logging.getLogger(__name__)

GPU_MAX_MODELS = 8  # 4 processes measured at 3.2x one on an H200; a 5-seed cell needs 5 to train in one wave
GIB = 1 << 30
POLL_S = 0.2  # how often the job process checks CANCEL and its workers while they train


class WorkerFailed(TrainingError):
    """A worker raised or died while it trained a model; the message names the model and its seed."""


@dataclass(frozen=True)
class ModelRun:
    """One model of a job: its number in the plan (1-based) of ``of``, id, seed, size and training rows,
    and the folder its worker writes (moved into place by the job process when the model is stored)."""

    number: int
    of: int
    model_id: str
    seed: int
    size: int | None
    train: pd.DataFrame
    folder: Path

    def describe(self) -> str:
        return f"model {self.number}/{self.of} (seed {self.seed}{f', {self.size:,}/class' if self.size else ''})"


@dataclass(frozen=True)
class Slots:
    """How many models train at once, with how many torch threads each, and why."""

    workers: int
    threads: int
    device: str
    reason: str


# --- how many at once -----------------------------------------------------------------------------


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _positive(environ, name: str) -> int | None:
    value = (environ.get(name) or "").strip().lower()
    if value in ("", "auto"):
        return None
    if not value.isdigit() or int(value) < 1:
        raise TrainingError(f"{name}={environ.get(name)!r} must be a whole number >= 1 (or 'auto')")
    return int(value)


def per_model_bytes(cfg: TrainConfig, max_length: int) -> int:
    """Memory one model needs to train: fp32 weights, gradients and two AdamW moments (16 bytes a
    parameter), activations of a batch of ``max_length`` tokens (per layer s*b*h*(34 + 5*a*s/h) bytes
    in 16 bits, Korthikanti et al. 2022; doubled for fp32), and 1 GiB for the CUDA context and slack.
    Read from the model's config.json (a folder, or the Hub's cache: never a download); 6 GiB when
    it cannot be read."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(cfg.model, local_files_only=True)
        h, layers, vocab = config.hidden_size, config.num_hidden_layers, config.vocab_size
        heads = config.num_attention_heads
        inner = getattr(config, "intermediate_size", 4 * h)
        positions = getattr(config, "max_position_embeddings", max_length)
    except (OSError, ValueError, AttributeError):
        return 6 * GIB
    params = (vocab + positions) * h + layers * (4 * h * h + 2 * h * inner)
    s, b = max_length, cfg.batch_size
    activations = layers * s * b * h * (34 + 5 * heads * s / h) * 2
    return int(params * 16 + activations + GIB)


def longest_batch(frames: list[pd.DataFrame], max_length: int) -> int:
    """The longest padded batch can be, in tokens: the longest example's characters (a Japanese token
    is at least one character) plus [CLS] and two [SEP], at most ``max_length``. Batches pad to their own
    longest example, so this, not the task's 512, bounds the activations of short pairs."""
    longest = 0
    for frame in frames:
        chars = frame["text"].fillna("").str.len()
        if "text_b" in frame:
            chars = chars + frame["text_b"].fillna("").str.len()
        longest = max(longest, int(chars.max()) if len(chars) else 0)
    return max(8, min(max_length, longest + 3))


def _available_memory() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def choose_slots(models: int, cfg: TrainConfig, max_length: int, *, device: str | None = None,
                 environ=None) -> Slots:  # fmt: skip
    """The side-by-side plan for ``models`` models: see the module docstring for the rule and settings."""
    env = os.environ if environ is None else environ
    device = device or _device()
    setting = _positive(env, "JAPAGEN_PARALLEL_MODELS")
    threads_setting = _positive(env, "JAPAGEN_THREADS_PER_MODEL")
    cores = usable_cores()
    if models <= 1 or setting == 1:
        threads = threads_setting or cores
        return Slots(1, threads, device, f"one model at a time, {threads} torch thread(s)")
    limits = {"models": models, "cores": cores}
    need = per_model_bytes(cfg, max_length)
    if device == "cuda":
        free, _ = torch.cuda.mem_get_info()
        limits["GPU memory"] = max(1, int(free // need))
        limits["cap"] = GPU_MAX_MODELS
    else:
        limits["cores"] = max(1, cores // (threads_setting or 1))
        available = _available_memory()
        if available is not None:
            limits["memory"] = max(1, int(available // need))
    if setting is not None:
        limits["JAPAGEN_PARALLEL_MODELS"] = setting
    workers = min(limits.values())
    threads = threads_setting or max(1, cores // workers)
    bound = ", ".join(f"{k} {v}" for k, v in limits.items())
    reason = f"{workers} at once ({bound}; ~{need / GIB:.1f} GiB a model), {threads} torch thread(s) each"
    return Slots(workers=workers, threads=threads, device=device, reason=reason)


# --- training them ---------------------------------------------------------------------------------

OnStep = Callable[[ModelRun, int, int, "float | None"], None]
OnDone = Callable[[ModelRun, "TrainedModel | None"], None]


def train_side_by_side(task: Task, cfg: TrainConfig, runs: list[ModelRun], evaluation: pd.DataFrame, *,
                       slots: Slots, on_step: OnStep, on_done: OnDone,
                       cancelled: Callable[[], bool]) -> str:  # fmt: skip
    """Train every run, ``slots.workers`` at a time; ``on_done(run, trained)`` is called in this process
    as each model finishes (in any order). Returns ``"succeeded"`` or ``"cancelled"``; raises
    WorkerFailed (or the model's own TrainingError, with its seed) when a model cannot be trained."""
    if not runs:
        return "succeeded"
    if slots.workers <= 1 or len(runs) == 1:
        return _one_after_another(task, cfg, runs, evaluation, threads=slots.threads, on_step=on_step,
                                  on_done=on_done, cancelled=cancelled)  # fmt: skip
    return _Pool(task, cfg, runs, evaluation, slots, on_step, on_done, cancelled).run()


@contextlib.contextmanager
def _torch_threads(threads: int):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _one_after_another(task, cfg, runs, evaluation, *, threads, on_step, on_done, cancelled) -> str:
    with _torch_threads(threads):
        for run in runs:
            try:
                trained = train_model(task, cfg, run.train, evaluation, seed=run.seed, folder=run.folder,
                                      on_step=lambda s, t, loss, run=run: on_step(run, s, t, loss),
                                      cancelled=cancelled)  # fmt: skip
            except TrainingCancelled:
                return "cancelled"
            except TrainingError as exc:
                if len(runs) == 1:
                    raise
                raise TrainingError(f"{run.describe()}: {exc}") from exc
            on_done(run, trained)
    return "succeeded"


class _Pool:
    """The job process's side: start the workers, deal out the runs, relay progress, cancel and
    failures, and stop every worker however it ends."""

    def __init__(self, task, cfg, runs, evaluation, slots: Slots, on_step, on_done, cancelled):
        self.runs = {run.number: run for run in runs}
        self.pending = list(runs)
        self.on_step, self.on_done, self.cancelled = on_step, on_done, cancelled
        ctx = multiprocessing.get_context("spawn")
        self.results = ctx.Queue()
        self.stop = ctx.Event()
        count = min(slots.workers, len(runs))
        self.inboxes = [ctx.Queue() for _ in range(count)]
        self.workers = [
            ctx.Process(target=worker_main, name=f"japagen-train-{i}", daemon=True,
                        args=(i, self.inboxes[i], self.results, self.stop, slots.threads, task, cfg, evaluation))
            for i in range(count)
        ]  # fmt: skip
        self.assigned: dict[int, ModelRun] = {}  # worker -> the run it trains
        self.finished = 0
        self.suspect: dict[int, float] = {}  # a worker found dead while it held a run -> since when

    def run(self) -> str:
        try:
            for worker in self.workers:
                worker.start()
            for i in range(len(self.workers)):
                self._give(i)
            next_check = 0.0
            while self.assigned:
                if time.monotonic() >= next_check:  # however busy the queue is with steps
                    next_check = time.monotonic() + POLL_S
                    if not self.stop.is_set() and self.cancelled():
                        log.info("cancel: stopping %d worker(s) at their next step", len(self.assigned))
                        self.stop.set()
                    self._check_alive()
                try:
                    message = self.results.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                self._handle(message)
            return "succeeded" if self.finished == len(self.runs) else "cancelled"
        finally:
            self._shut_down()

    def _give(self, i: int) -> None:
        if self.pending and not self.stop.is_set():
            run = self.pending.pop(0)
            self.assigned[i] = run
            self.inboxes[i].put(run)

    def _handle(self, message: tuple) -> None:
        kind, i, number, *rest = message
        run = self.runs[number]
        if kind == "step":
            self.on_step(run, *rest)
            return
        self.assigned.pop(i, None)
        self.suspect.pop(i, None)
        if kind == "done":
            self.on_done(run, rest[0])
            self.finished += 1
            self._give(i)
        elif kind == "error":
            is_training_error, text, trace = rest
            log.error("%s failed in worker %d:\n%s", run.describe(), i, trace)
            self.stop.set()
            raise WorkerFailed(f"{run.describe()} failed: {text}"
                               + ("" if is_training_error else " (traceback in the log)"))  # fmt: skip
        # "cancelled": the worker stopped at a step end; it gets no more runs

    def _check_alive(self) -> None:
        now = time.monotonic()
        for i, run in list(self.assigned.items()):
            code = self.workers[i].exitcode
            if code is None:
                continue
            since = self.suspect.setdefault(i, now)
            if now - since < 2:  # its last message may still be on its way through the queue
                continue
            self.stop.set()
            how = f"died of {_signal_name(-code)}" if code < 0 else f"exited with code {code}"
            hint = " (out of memory? lower JAPAGEN_PARALLEL_MODELS)" if code in (-signal.SIGKILL, 137) else ""
            raise WorkerFailed(f"{run.describe()} failed: its worker process {how}{hint}")

    def _shut_down(self) -> None:
        self.stop.set()
        for inbox, worker in zip(self.inboxes, self.workers, strict=True):
            if worker.is_alive():
                with contextlib.suppress(Exception):
                    inbox.put(None)
        # Every result is in by now: a worker slow to exit (torch's teardown takes seconds on a loaded
        # machine) is terminated rather than waited for, so a cancel ends well inside the job's grace.
        deadline = time.monotonic() + 2
        for worker in self.workers:
            if worker.pid is not None:
                worker.join(timeout=max(0.1, deadline - time.monotonic()))
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
                worker.join()
        for q in (self.results, *self.inboxes):
            q.close()
            q.cancel_join_thread()  # a queue left with unread messages must not hold the job process open


def _signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} (signal {number})"
    except ValueError:
        return f"signal {number}"


def expected_steps(cfg: TrainConfig, examples: int, *, world: int = 1) -> int:
    """Optimizer steps of one model on ``examples`` examples."""
    if cfg.max_steps > 0:
        return cfg.max_steps
    return math.ceil(math.ceil(examples / (cfg.batch_size * world)) * cfg.epochs)
