"""Training-data choices and their exact, seeded sampling.

A choice names where the examples come from; ``plan.py`` turns it into snapshots when a job is
submitted, and the job samples from those snapshots with each run's seed:

    snapshot:ID                 a (reviewed) snapshot of synthetic data, every example
    dataset:ID                  the same, snapshotting the dataset at submit time
    gold-fewshot[:K]            K gold training examples per class (default 5), drawn per seed
    gold-full                   all gold training data
    mix:gold=F,synthetic=N,snapshot=ID   a fraction F of the gold training data (per class, at least one)
                                plus N synthetic examples per class ("all": every one), as in Kaddour & Liu

With ``sizes`` a synthetic choice becomes a scaling series: one model per size and seed, N examples
per class each. For one seed, the smaller samples are prefixes of the larger ones (nested), so a
series measures the effect of more data, not of another draw.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from japagen_core.tasks import Task
from japagen_core.training.config import TrainingError

DATA_KINDS = ("synthetic", "gold-fewshot", "gold-full", "mix")
DEFAULT_SHOTS = 5
DEFAULT_SIZES = (500, 1000, 5000, 10000, 25000)  # the scaling series offered by default (per class)


@dataclass(frozen=True)
class DataChoice:
    """What a model is trained on. ``snapshot`` or ``dataset`` name the synthetic data (synthetic, mix);
    ``gold_dataset`` the gold training split (gold-*, mix; default: the task's gold ``train`` split)."""

    kind: str
    snapshot: int | None = None
    dataset: str | None = None
    gold_dataset: str | None = None
    shots: int = DEFAULT_SHOTS
    gold_fraction: float | None = None
    synthetic_per_class: int | None = None  # mix: None takes every synthetic example
    sizes: tuple[int, ...] = field(default_factory=tuple)  # synthetic: a scaling series (per class)
    exclude_flagged: bool = True  # when snapshotting at submit time: a reviewer's flags hold, as in export

    def __post_init__(self):
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))
        problems = []
        if self.kind not in DATA_KINDS:
            problems.append(f"kind {self.kind!r} must be one of {list(DATA_KINDS)}")
        if self.kind in ("synthetic", "mix") and (self.snapshot is None) == (self.dataset is None):
            problems.append(f"{self.kind} data needs a synthetic snapshot or a dataset (one of them)")
        if self.kind in ("gold-fewshot", "gold-full") and (self.snapshot is not None or self.dataset):
            problems.append(f"{self.kind} takes gold data only (name it with gold_dataset)")
        if self.kind == "gold-fewshot" and not 1 <= self.shots <= 100_000:
            problems.append(f"shots {self.shots!r} must be between 1 and 100,000")
        if self.kind == "mix" and not (self.gold_fraction is not None and 0 < self.gold_fraction <= 1):
            problems.append(f"gold fraction {self.gold_fraction!r} must be in (0, 1]")
        if self.synthetic_per_class is not None and self.synthetic_per_class < 1:
            problems.append(f"synthetic examples per class {self.synthetic_per_class!r} must be >= 1")
        if self.sizes and self.kind != "synthetic":
            problems.append("a scaling series (sizes) is for synthetic data only")
        if any(s < 1 for s in self.sizes) or len(set(self.sizes)) != len(self.sizes):
            problems.append(f"sizes {list(self.sizes)} must be distinct positive numbers")
        if problems:
            raise TrainingError("training data: " + "; ".join(problems))

    @property
    def spec(self) -> str:
        """The choice written as ``parse_data`` reads it (gold split and sizes are separate options)."""
        source = f"snapshot:{self.snapshot}" if self.snapshot is not None else f"dataset:{self.dataset}"
        if self.kind == "synthetic":
            return source
        if self.kind == "gold-fewshot":
            return f"gold-fewshot:{self.shots}"
        if self.kind == "gold-full":
            return "gold-full"
        amount = "all" if self.synthetic_per_class is None else self.synthetic_per_class
        return f"mix:gold={self.gold_fraction:g},synthetic={amount},{source.replace(':', '=')}"


_MIX_KEYS = {"gold", "synthetic", "snapshot", "dataset"}


def parse_data(text: str, *, gold_dataset: str | None = None, sizes: Sequence[int] = (),
               exclude_flagged: bool = True) -> DataChoice:  # fmt: skip
    """Read a ``--data`` value (see the module docstring); TrainingError names what is wrong."""
    value = (text or "").strip()
    common = {"gold_dataset": gold_dataset, "sizes": tuple(sizes), "exclude_flagged": exclude_flagged}
    head, _, rest = value.partition(":")
    if head == "snapshot" and re.fullmatch(r"\d+", rest):
        return DataChoice("synthetic", snapshot=int(rest), **common)
    if head == "dataset" and rest:
        return DataChoice("synthetic", dataset=rest, **common)
    if head == "gold-fewshot" and (not rest or re.fullmatch(r"\d+", rest)):
        return DataChoice("gold-fewshot", shots=int(rest or DEFAULT_SHOTS), **common)
    if value == "gold-full":
        return DataChoice("gold-full", **common)
    if head == "mix" and rest:
        parts = dict(item.partition("=")[::2] for item in rest.split(","))
        unknown = sorted(set(parts) - _MIX_KEYS)
        if unknown or "gold" not in parts or not (("snapshot" in parts) ^ ("dataset" in parts)):
            raise TrainingError(
                f"--data {value!r}: a mixture is mix:gold=FRACTION,synthetic=N|all,snapshot=ID (or dataset=ID)"
            )
        try:
            fraction = float(parts["gold"])
            amount = parts.get("synthetic", "all")
            per_class = None if amount == "all" else int(amount)
            snapshot = int(parts["snapshot"]) if "snapshot" in parts else None
        except ValueError:
            raise TrainingError(f"--data {value!r}: gold must be a fraction, synthetic and snapshot numbers") from None
        return DataChoice("mix", snapshot=snapshot, dataset=parts.get("dataset"), gold_fraction=fraction,
                          synthetic_per_class=per_class, **common)  # fmt: skip
    raise TrainingError(
        f"--data {value!r} is not a training-data choice; use snapshot:ID, dataset:ID, gold-fewshot[:K], "
        "gold-full or mix:gold=FRACTION,synthetic=N,snapshot=ID"
    )


# --- classes and targets of snapshot rows ------------------------------------------------------


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that carry a label or a score (unlabeled texts cannot be trained or scored on)."""
    keep = frame["label"].notna() | frame["score"].notna()
    return frame[keep].reset_index(drop=True)


def class_keys(task: Task, frame: pd.DataFrame) -> list[str]:
    """The class of each row for sampling: its label, or for a score its nearest grade."""
    return [
        label if isinstance(label, str) else task.grade_for_score(float(score))
        for label, score in zip(frame["label"], frame["score"], strict=True)
    ]


def targets(task: Task, frame: pd.DataFrame) -> list:
    """What the model learns: the label's index in the task's label order, or a float score (for a
    score task: the gold score, or the grade a synthetic example was generated for)."""
    if task.target == "class":
        index = {name: i for i, name in enumerate(task.label_names)}
        unknown = sorted({x for x in frame["label"] if x not in index}, key=str)
        if unknown:
            raise TrainingError(f"labels {unknown} are not labels of task {task.name} ({task.label_names})")
        return [index[x] for x in frame["label"]]
    return [
        float(score) if score is not None and score == score else float(task.label(label).id)
        for label, score in zip(frame["label"], frame["score"], strict=True)
    ]


# --- sampling ----------------------------------------------------------------------------------


def _class_order(task: Task, keys: Sequence[str]) -> list[str]:
    order = {name: i for i, name in enumerate(task.label_names)}
    return sorted(set(keys), key=lambda k: (order.get(k, len(order)), k))


def _permuted_rows(task: Task, keys: Sequence[str], seed: int) -> dict[str, list[int]]:
    """Each class's rows in a seeded random order (the class's own stream, so adding a class elsewhere
    does not change this one's draw)."""
    by_class: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        by_class.setdefault(key, []).append(i)
    out = {}
    for position, name in enumerate(_class_order(task, keys)):
        rows = np.asarray(by_class[name])
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), position]))
        out[name] = [int(r) for r in rows[rng.permutation(len(rows))]]
    return out


def sample_per_class(task: Task, keys: Sequence[str], per_class: int, *, seed: int) -> list[int]:
    """Positions of exactly ``per_class`` rows of every class present, drawn with ``seed``; sorted.

    For one seed a smaller sample is a prefix of a larger one. A class with fewer rows is an error
    (a scaling point that silently used fewer examples would be plotted at the wrong size).
    """
    if per_class < 1:
        raise TrainingError(f"examples per class {per_class!r} must be >= 1")
    permuted = _permuted_rows(task, keys, seed)
    short = {name: len(rows) for name, rows in permuted.items() if len(rows) < per_class}
    if short:
        have = ", ".join(f"{name} {n:,}" for name, n in short.items())
        raise TrainingError(f"{per_class:,} examples per class asked for, but some classes have fewer ({have})")
    missing = [name for name in task.label_names if name not in permuted] if task.target == "class" else []
    if missing:
        raise TrainingError(f"no examples of class(es) {missing} to sample {per_class} per class from")
    return sorted(r for rows in permuted.values() for r in rows[:per_class])


def sample_fraction(task: Task, keys: Sequence[str], fraction: float, *, seed: int) -> list[int]:
    """Positions of round(fraction x n) rows of each class (half up; at least one), drawn with ``seed``; sorted."""
    if not 0 < fraction <= 1:
        raise TrainingError(f"fraction {fraction!r} must be in (0, 1]")
    permuted = _permuted_rows(task, keys, seed)
    return sorted(r for rows in permuted.values() for r in rows[: max(1, int(fraction * len(rows) + 0.5))])
