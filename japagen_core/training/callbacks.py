"""Trainer callbacks every training job shares: stop at the job's CANCEL file, report each step.

The student's fine-tuning (``finetune``) and the local LoRA teacher (``teacher.local_tune``) train with
the transformers Trainer and hand it these two, so cancel and progress behave the same in both. This
module imports torch and transformers: import it only where training happens.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from transformers import TrainerCallback


def _all_agree(flag: bool, device) -> bool:
    """Under DDP every process must stop at the same step: stop when any process saw CANCEL."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return flag
    value = torch.tensor([1 if flag else 0], device=device)
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
    return bool(value.item())


class CancelCallback(TrainerCallback):
    """Stops training at the end of the step in which the job's CANCEL file appeared."""

    def __init__(self, cancelled: Callable[[], bool]):
        self.cancelled = cancelled
        self.stopped = False

    def on_step_end(self, args, state, control, **kwargs):
        if _all_agree(self.cancelled(), args.device):
            self.stopped = True
            control.should_training_stop = True
        return control


class ProgressCallback(TrainerCallback):
    """Hands step, total steps and the latest loss to ``on_step`` (throttled by the caller)."""

    def __init__(self, on_step: Callable[[int, int, float | None], None]):
        self.on_step = on_step
        self.loss: float | None = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.loss = float(logs["loss"])

    def on_step_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.on_step(state.global_step, state.max_steps, self.loss)
