"""Hyperparameters of a fine-tuning run, with the paper's defaults (§4.1, after Kurihara et al. 2022),
and the rows of the paper's Table 1 a run belongs to."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from japagen_core.errors import JapagenError

DEFAULT_MODEL = "tohoku-nlp/bert-base-japanese-v3"
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DEFAULT_SEEDS = 5


class TrainingError(JapagenError):
    """A training request that cannot run (bad setting, missing data, weights that cannot be loaded)."""


@dataclass(frozen=True)
class TrainConfig:
    """How one model is trained. Defaults are the paper's: batch 32, 4 epochs, AdamW 5e-5 with
    betas (0.9, 0.999), warmup ratio 0.1, label smoothing 0.1 (classification only: a regression head
    has nothing to smooth), the task's maximum token length.

    max_steps: stop after this many optimizer steps (-1: train the full epochs); for smoke tests.
    precision: ``auto`` is bf16 on a GPU that has it, else fp16 on a GPU, else fp32 (CPU).
    save_weights: keep the weights in the model folder (about 440 MB for bert-base); a scaling
    series of many models may leave them out and keep only config, label map and metrics.
    """

    model: str = DEFAULT_MODEL
    epochs: float = 4.0
    batch_size: int = 32
    learning_rate: float = 5e-5
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    weight_decay: float = 0.0
    warmup_ratio: float = 0.1
    label_smoothing: float = 0.1
    max_length: int | None = None  # None: the task's max_length
    max_steps: int = -1
    eval_batch_size: int = 64
    precision: str = "auto"
    save_weights: bool = True

    def __post_init__(self):
        checks = [
            (bool(str(self.model).strip()), f"model {self.model!r} must name a model or a folder"),
            (self.epochs > 0, f"epochs {self.epochs!r} must be positive"),
            (1 <= self.batch_size <= 4096, f"batch_size {self.batch_size!r} must be between 1 and 4096"),
            (0 < self.learning_rate < 1, f"learning_rate {self.learning_rate!r} must be in (0, 1)"),
            (0 <= self.adam_beta1 < 1 and 0 <= self.adam_beta2 < 1, "adam betas must be in [0, 1)"),
            (0 <= self.warmup_ratio < 1, f"warmup_ratio {self.warmup_ratio!r} must be in [0, 1)"),
            (0 <= self.label_smoothing < 1, f"label_smoothing {self.label_smoothing!r} must be in [0, 1)"),
            (self.weight_decay >= 0, f"weight_decay {self.weight_decay!r} must be >= 0"),
            (
                self.max_length is None or 8 <= self.max_length <= 8192,
                f"max_length {self.max_length!r} must be between 8 and 8192",
            ),
            (self.max_steps == -1 or self.max_steps >= 1, f"max_steps {self.max_steps!r} must be -1 or >= 1"),
            (1 <= self.eval_batch_size <= 4096, f"eval_batch_size {self.eval_batch_size!r} must be 1-4096"),
            (self.precision in PRECISIONS, f"precision {self.precision!r} must be one of {list(PRECISIONS)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise TrainingError(f"training settings: {message}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainingError(f"training settings: unknown key(s) {unknown}; known: {sorted(known)}")
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# The rows of Table 1, in the paper's order: (method, setting) -> how the row is written.
TABLE1_ROWS: dict[tuple[str, str], tuple[str, str]] = {
    ("fine-tuning", "fully-supervised"): ("FINE-TUNING", "Fully supervised"),
    ("fine-tuning", "few-shot"): ("FINE-TUNING", "Few-shot"),
    ("prompting", "zero-shot"): ("PROMPTING", "Zero-shot"),
    ("prompting", "few-shot"): ("PROMPTING", "Few-shot"),
    ("japagen", "zero-shot"): ("JAPAGEN", "Zero-shot"),
    ("japagen", "kadg"): ("JAPAGEN", "w/ KADG"),
    ("japagen", "few-shot"): ("JAPAGEN", "Few-shot"),
}
METHOD_TITLES = {"fine-tuning": "FINE-TUNING", "prompting": "PROMPTING", "japagen": "JAPAGEN", "mix": "MIX"}


def row_title(method: str, setting: str) -> tuple[str, str]:
    """The (block, row) a run is shown under; methods and settings beyond the paper get rows of their own."""
    if (method, setting) in TABLE1_ROWS:
        return TABLE1_ROWS[(method, setting)]
    return METHOD_TITLES.get(method, method.upper()), setting
