"""LoRA settings of a local teacher, apart from ``local_tune`` so the app can check them without torch."""

from __future__ import annotations

from dataclasses import dataclass

from japagen_core.teacher.trainfile import TeacherError


@dataclass(frozen=True)
class LoraTuning:
    """LoRA and optimisation settings (defaults: a common LoRA recipe for small data)."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] | None = None  # None: peft's default for the architecture
    epochs: float = 3.0
    learning_rate: float = 2e-4
    batch_size: int = 4
    max_length: int = 512
    warmup_ratio: float = 0.1
    seed: int = 0
    device: str = "auto"
    max_steps: int = -1  # stop after this many steps (-1: the full epochs); for smoke tests

    def __post_init__(self):
        if self.target_modules is not None:
            object.__setattr__(self, "target_modules", tuple(self.target_modules))
        checks = [
            (1 <= self.r <= 1024, f"r {self.r!r} must be between 1 and 1024"),
            (self.alpha >= 1, f"alpha {self.alpha!r} must be >= 1"),
            (0 <= self.dropout < 1, f"dropout {self.dropout!r} must be in [0, 1)"),
            (0 < self.epochs <= 1000, f"epochs {self.epochs!r} must be in (0, 1000]"),
            (0 < self.learning_rate < 1, f"learning_rate {self.learning_rate!r} must be in (0, 1)"),
            (1 <= self.batch_size <= 1024, f"batch_size {self.batch_size!r} must be between 1 and 1024"),
            (16 <= self.max_length <= 32768, f"max_length {self.max_length!r} must be between 16 and 32768"),
            (0 <= self.warmup_ratio < 1, f"warmup_ratio {self.warmup_ratio!r} must be in [0, 1)"),
            (self.max_steps == -1 or self.max_steps >= 1, f"max_steps {self.max_steps!r} must be -1 or >= 1"),
        ]
        problems = [message for ok, message in checks if not ok]
        if problems:
            raise TeacherError("LoRA settings: " + "; ".join(problems))
