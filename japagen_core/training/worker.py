"""One worker process of a train job that trains its models side by side (see side_by_side.py).

The process is started with the spawn method and its target is ``worker_main`` of this module, which
imports nothing heavy at the top: the thread count and the ``datasets`` check must be in place before
torch and transformers are imported (transformers decides at import whether ``datasets`` is there).
"""

from __future__ import annotations

import importlib.util
import os
import queue
import signal
import sys
import time
import traceback

STEP_REPORT_S = 0.25  # a worker reports its step at most this often (and always its last step)


def _hide_a_folder_named_datasets() -> None:
    """A folder called ``datasets`` on sys.path (the job's working folder, a test folder) would pass for
    the Hugging Face ``datasets`` library, and the Trainer would fail using it."""
    spec = importlib.util.find_spec("datasets")
    if spec is not None and spec.origin is None:  # a namespace package: a plain folder
        sys.modules["datasets"] = None


def worker_main(i: int, inbox, results, stop, threads: int, task, cfg, evaluation) -> None:
    """Train the runs this worker is given (``ModelRun``s on ``inbox``) until it gets None; report
    steps, results, cancels and errors on ``results`` as tuples ``(kind, worker, run number, ...)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the job process, which stops the workers
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    _hide_a_folder_named_datasets()

    import torch

    from japagen_core.errors import JapagenError
    from japagen_core.training.finetune import TrainingCancelled, train_model

    torch.set_num_threads(threads)
    parent = os.getppid()

    def stopped() -> bool:  # a cancel, another worker's failure, or a job process that died (SIGKILL, OOM)
        return stop.is_set() or os.getppid() != parent

    while True:
        try:
            run = inbox.get(timeout=1)
        except queue.Empty:
            if os.getppid() != parent:
                return
            continue
        if run is None:
            return
        last = 0.0

        def on_step(step: int, total: int, loss: float | None, run=run) -> None:
            nonlocal last
            now = time.monotonic()
            if step >= total or now - last >= STEP_REPORT_S:
                last = now
                results.put(("step", i, run.number, step, total, loss))

        try:
            trained = train_model(task, cfg, run.train, evaluation, seed=run.seed, folder=run.folder,
                                  on_step=on_step, cancelled=stopped)  # fmt: skip
        except TrainingCancelled:
            results.put(("cancelled", i, run.number))
            continue
        except Exception as exc:  # reported to the job process, which fails the job naming this model
            text = str(exc) if isinstance(exc, JapagenError) else f"{type(exc).__name__}: {exc}"
            results.put(("error", i, run.number, isinstance(exc, JapagenError), text, traceback.format_exc()))
            continue
        results.put(("done", i, run.number, trained))
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
