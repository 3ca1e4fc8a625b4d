"""What a generation or annotation run is, and the units of work it is cut into.

``RunConfig`` is everything a run needs (stored in job.json, never an API key); ``plan`` cuts a run into
units with deterministic ids, one Parquet part each, and ``topup_units`` the units that make up for failed
answers. A unit's id never changes between attempts, so a resumed run skips exactly the units whose part
exists (jobs/parts.py).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from japagen_core.errors import JapagenError
from japagen_core.generation.llm import LLMConfig
from japagen_core.generation.local import LocalConfig, check_model_name
from japagen_core.generation.presets import kadg_words, load_preset_spec
from japagen_core.generation.prompts import PRESETS, SETTINGS
from japagen_core.project import Project
from japagen_core.storage import repository as repo
from japagen_core.tasks import Task

MODES = ("generate", "annotate")
BACKENDS = ("openai", "local")
# paired (the paper's Eq. 2-3): each pair's first sentence is written for its own label and used once;
# contrastive: one first sentence is shared by all labels (minimal pairs, but x1 repeats across labels).
PAIR_PROTOCOLS = ("paired", "contrastive")
# per-run (the paper): one gold example per class, drawn once with the run's seed; per-call: a new draw per call.
FEWSHOT_DRAWS = ("per-run", "per-call")
UNIT_EXAMPLES = 50  # examples (or annotated texts) per unit of work: one Parquet part each
TOPUP_ROUNDS = 3  # extra rounds that make up for failed answers


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs, stored in job.json (never an API key)."""

    mode: str
    task: str
    run_id: str
    llm: dict[str, Any]
    setting: str = "zero-shot"
    per_label: int = 0
    seed: int = 0
    fewshot_dataset: str | None = None
    source_dataset: str | None = None  # annotate: the dataset whose texts the LLM labels
    list_mode: bool = False  # ask for a numbered list with n=1 instead of n choices
    backend: str = "openai"  # openai: any OpenAI-compatible server; local: a causal LM in the job (local.py)
    local: dict[str, Any] = field(default_factory=dict)  # the local backend's LocalConfig (adapter, batch size)
    teacher: str | None = None  # a registered fine-tuned teacher this run generates with (recorded per example)
    batch: dict[str, Any] = field(default_factory=dict)  # the OpenAI Batch API's BatchSettings (batch.py); {}: off
    preset: str = "japagen"  # the prompts: japagen's (prompts/<task>.yaml) or the authors' (imported "paper")
    pair_protocol: str = "paired"
    fewshot_draw: str = "per-run"

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> RunConfig:
        """A config read back from job.json: one written before the paper's protocols became the default
        resumes as it started (contrastive pairs, a few-shot draw per call), so its parts still match."""
        return cls(**{"pair_protocol": "contrastive", "fewshot_draw": "per-call", **data})

    def check(self, project: Project) -> None:
        task = project.registry[self.task]
        llm = LLMConfig(**self.llm)
        if self.backend not in BACKENDS:
            raise JapagenError(f"backend {self.backend!r} must be one of {list(BACKENDS)}")
        if self.backend == "local":
            LocalConfig(**self.local)
            check_model_name(llm.model)
        if self.mode not in MODES:
            raise JapagenError(f"mode {self.mode!r} must be one of {list(MODES)}")
        if self.batch:
            from japagen_core.generation.batch import check_batch  # batch.py builds on this module

            check_batch(self)
        if self.mode == "generate":
            if self.setting not in SETTINGS:
                raise JapagenError(f"setting {self.setting!r} must be one of {list(SETTINGS)}")
            if not 1 <= self.per_label <= 1_000_000:
                raise JapagenError(f"per_label {self.per_label} must be between 1 and 1,000,000")
            if self.setting == "few-shot" and not self.fewshot_dataset:
                raise JapagenError("the few-shot setting needs a gold dataset to draw examples from")
            choices = {"preset": PRESETS, "pair_protocol": PAIR_PROTOCOLS, "fewshot_draw": FEWSHOT_DRAWS}
            for name, allowed in choices.items():
                if (value := getattr(self, name)) not in allowed:
                    raise JapagenError(f"{name} {value!r} must be one of {list(allowed)}")
            if self.setting == "few-shot":
                check_fewshot_source(project, task, self.fewshot_dataset)
        elif not self.source_dataset:
            raise JapagenError("annotation needs a source dataset (import texts with import-gold --unlabeled)")
        spec = load_preset_spec(project, task, self.preset)
        if self.mode == "generate" and self.setting == "kadg":
            if not spec.has_kadg:
                raise JapagenError(
                    f"{spec.path}: no kadg section, so the KADG setting is not available for {task.name}"
                )
            kadg_words(project, spec)  # the edited list when there is one, else the file
        dataset_id = self.source_dataset if self.mode == "annotate" else self.fewshot_dataset
        if dataset_id:
            with project.db.transaction() as con:
                info = repo.get_dataset(con, dataset_id)
            if info.task != task.name:
                raise JapagenError(f"dataset {dataset_id} is a {info.task} dataset, not {task.name}")


def check_fewshot_source(project: Project, task: Task, dataset_id: str | None) -> None:
    """Refuse the task's evaluation split as a few-shot source: the rule PROMPTING applies (the split
    that training and PROMPTING evaluate on, test, else valid / validation / dev)."""
    from japagen_core.training.config import TrainingError
    from japagen_core.training.plan import default_eval

    with project.db.transaction() as con:
        datasets = repo.list_datasets(con)
    try:
        eval_id = default_eval(task, datasets, exclude=None)
    except TrainingError:
        return  # no evaluation split (or several: each is named when training asks)
    if dataset_id == eval_id:
        split = next(d.split for d in datasets if d.id == eval_id)
        raise JapagenError(
            f"few-shot examples would come from the evaluation split {eval_id} ({split}) of {task.name}: "
            "draw them from a training split"
        )


def draw_fewshot(pool: dict[str, list[tuple[str, str]]], seed: int, dataset_id: str) -> dict[str, tuple[str, str]]:
    """The paper's few-shot draw: one gold example per class, once per run (seeded)."""
    rng = random.Random(f"{seed}:fewshot:{dataset_id}")
    return {label: rng.choice(examples) for label, examples in sorted(pool.items())}


def new_run_id(task: str, setting: str) -> str:
    """A readable, unique id for a run; it becomes the synthetic dataset's id."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{task}-{setting}-{stamp}-{os.urandom(2).hex()}"


@dataclass(frozen=True)
class Unit:
    id: str
    labels: tuple[str, ...]
    count: int  # examples per label (generate) or texts (annotate)
    rows: tuple[int, ...] = ()  # annotate: source row ids


def plan(task: Task, cfg: RunConfig, *, source_rows: list[int] | None = None) -> list[Unit]:
    """The run's first pass. Single-text tasks: units of up to UNIT_EXAMPLES per label; pair tasks: units
    of one stage-1 call of n first sentences, for one label (paired) or shared by all labels (contrastive)."""
    if cfg.mode == "annotate":
        return _annotate_units(source_rows or [], "a")
    if task.is_pair:  # a unit is one stage-1 call (n first sentences) and their second sentences
        step = max(1, int(cfg.llm.get("n", 5)))
        sizes = [min(step, cfg.per_label - i) for i in range(0, cfg.per_label, step)]
        if cfg.pair_protocol == "paired":  # the first sentences of a unit are for its one label only
            return [Unit(f"{lab}-p{k:06d}", (lab,), size) for lab in task.label_names for k, size in enumerate(sizes)]
        return [Unit(f"p{k:06d}", tuple(task.label_names), size) for k, size in enumerate(sizes)]
    sizes = [min(UNIT_EXAMPLES, cfg.per_label - i) for i in range(0, cfg.per_label, UNIT_EXAMPLES)]
    return [Unit(f"{label}-{k:06d}", (label,), size) for label in task.label_names for k, size in enumerate(sizes)]


def _annotate_units(rows: list[int], prefix: str) -> list[Unit]:
    return [
        Unit(f"{prefix}{i // UNIT_EXAMPLES:06d}", (), len(chunk), tuple(chunk))
        for i in range(0, len(rows), UNIT_EXAMPLES)
        for chunk in [rows[i : i + UNIT_EXAMPLES]]
    ]


def annotate_topups(unlabelled: list[int], round_no: int) -> list[Unit]:
    """Units that ask again for the texts no answer has labelled yet (source row ids); ``t<round>-a...``
    ids, and a resumed round asks only for what is still unlabelled then."""
    return _annotate_units(unlabelled, f"t{round_no}-a")


def topup_units(task: Task, cfg: RunConfig, short: dict[str, int], round_no: int) -> list[Unit]:
    """Units that make up for failed answers (``short``: examples missing per label), split like the first
    pass; their ids (``t<round>-...``) are deterministic, so a resumed top-up round skips what it did."""
    step = max(1, LLMConfig(**cfg.llm).n)
    if task.is_pair and cfg.pair_protocol == "paired":
        return [
            Unit(f"t{round_no}-{name}-p{k:06d}", (name,), min(step, n - i))
            for name, n in short.items()
            for k, i in enumerate(range(0, n, step))
        ]
    if task.is_pair:
        need = max(short.values())
        return [
            Unit(f"t{round_no}-p{k:06d}", tuple(short), min(step, need - i)) for k, i in enumerate(range(0, need, step))
        ]
    return [
        Unit(f"t{round_no}-{name}-{k:06d}", (name,), min(UNIT_EXAMPLES, n - i))
        for name, n in short.items()
        for k, i in enumerate(range(0, n, UNIT_EXAMPLES))
    ]
