"""Job kinds: one registry, one way to submit, run and show a job.

A kind is a ``JobKind`` that lives beside its domain (``generation/kind.py``, ``training/kind.py``, ...)
and says, for its jobs:

    config_type                   the typed config stored in job.json (a dataclass)
    plan(project, request)        check the request and take its snapshots now, at submit: a ``Planned``
    run(ctx)                      the work, in the job's process: returns the result dict
    describe(job)                 how the job reads on a card: "zero-shot · 100 per label"
    summary(job)                  what it did and what to link to: "1,200 examples into dataset X"
    resources(config)             the slots it waits for before working (see jobs/resources.py)
    resumable(job)                None when Resume can help, else why not

Kinds register in ONE place, ``KINDS`` below: a kind name and the ``"module:attribute"`` that holds it,
imported only when a job of that kind is submitted, run or shown. ``japagen_core.jobs`` therefore imports
no domain package, and a job process imports only what its own kind needs. Adding a kind is one module
and one line here; tests add theirs with ``register``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from japagen_core.errors import JapagenError
from japagen_core.jobs.progress import Progress
from japagen_core.jobs.store import Job, JobError, JobStore

if TYPE_CHECKING:
    from japagen_core.project import Project

# kind name -> "module:attribute" of its JobKind. The one place a kind is registered.
KINDS: dict[str, str] = {
    "generate": "japagen_core.generation.kind:GENERATE",
    "annotate": "japagen_core.generation.kind:ANNOTATE",
    "train": "japagen_core.training.kind:TRAIN",
    "prompting": "japagen_core.training.prompting_kind:PROMPTING",
    "analysis": "japagen_core.analysis_kind:ANALYSIS",
    "teacher-tune-openai": "japagen_core.teacher.kind:TEACHER_OPENAI",
    "teacher-tune-local": "japagen_core.teacher.kind:TEACHER_LOCAL",
}


class NotResumable(JapagenError):
    """A job failed in a way that running it again cannot fix (an invalid config, missing weights)."""


@dataclass(frozen=True)
class Link:
    """What a finished job points to: a dataset, a training run, analysis results, a teacher."""

    kind: str  # dataset / run / analysis / teacher
    id: str


@dataclass(frozen=True)
class Summary:
    """What a job did, in words, and what to open next."""

    text: str
    links: tuple[Link, ...] = ()


@dataclass
class Planned:
    """A request resolved at submit: the job's config and what goes into its folder with it.

    files: written into the job folder before it starts (e.g. a teacher's exact training file).
    on_created: called with the new job before it starts (e.g. to register the teacher it makes).
    """

    config: Any  # the kind's config_type (a dataclass) or a plain dict
    label: str = ""  # goes into the job id, usually the task
    files: dict[str, bytes] = field(default_factory=dict)
    on_created: Callable[[Job], None] | None = None


@dataclass
class JobContext:
    """What a running job gets: its project and folder, a progress reporter and the cancel flag."""

    project: Project
    job: Job
    report_progress: Callable[[Progress], None]

    @property
    def parts_dir(self) -> Path:
        return self.job.parts_dir

    @property
    def config(self) -> dict[str, Any]:
        return self.job.config

    def cancelled(self) -> bool:
        return self.job.cancel_requested

    def report(self, progress: Progress | dict[str, Any]) -> None:
        """Report progress; a dict (domain code that still reports the older shape) is read as Progress."""
        self.report_progress(progress if isinstance(progress, Progress) else Progress.from_json(progress))

    def last(self) -> Progress:
        return Progress.from_json(self.job.read_progress())


class JobKind:
    """The base of every kind; a kind overrides what differs (at least ``plan`` and ``run``)."""

    name: str = ""
    title: str = ""  # the kind in words, for cards: "generation", "fine-tuning"
    display: str = "steps"  # which figures a card shows: llm (rate, tokens, cost), training (model, step, loss)
    config_type: type | None = None

    def load(self, config: dict[str, Any]) -> Any:
        """The typed config of a stored job.json config."""
        if self.config_type is None:
            return config
        from_stored = getattr(self.config_type, "from_stored", None) or getattr(self.config_type, "from_dict", None)
        return from_stored(config) if from_stored else self.config_type(**config)

    def plan(self, project: Project, request: Any) -> Planned:
        raise NotImplementedError

    def run(self, ctx: JobContext) -> dict[str, Any]:
        raise NotImplementedError

    def describe(self, job: Job) -> str:
        return ""

    def summary(self, job: Job) -> Summary:
        return Summary(str(job.result.get("message") or ""))

    def resources(self, config: dict[str, Any]) -> list[str]:
        """The pools it waits for (``resources.device_pool()``, ``resources.llm_pool(url)``); none by default."""
        return []

    def resumable(self, job: Job) -> str | None:
        """None when Resume can help this job, else the reason it cannot (shown instead of the button)."""
        if job.state not in ("interrupted", "cancelled", "failed"):
            return "only a stopped job resumes"
        if job.result.get("resumable") is False:
            return str(job.result.get("not_resumable") or "running it again would fail the same way")
        return None


# More kinds without editing KINDS (plugins, tests): name=module:attribute, separated by commas. Read at
# lookup, so a job's process (which inherits the environment) finds the same kinds as the app.
EXTRA_KINDS_ENV = "JAPAGEN_JOB_KINDS"
_LOADED: dict[str, JobKind] = {}


def known_kinds() -> dict[str, str]:
    """Every registered kind: ``KINDS`` and those of ``JAPAGEN_JOB_KINDS``."""
    extra = {}
    for entry in os.environ.get(EXTRA_KINDS_ENV, "").split(","):
        name, _, target = entry.strip().partition("=")
        if name and target:
            extra[name.strip()] = target.strip()
    return {**KINDS, **extra}


def register(name: str, target: str) -> None:
    """Add (or replace) a kind in this process: ``target`` is ``"module:attribute"``, imported when first used."""
    KINDS[name] = target
    _LOADED.pop(name, None)


def get_kind(name: str) -> JobKind:
    """The kind called ``name``, its module imported now; JobError for a kind nobody registered."""
    target = known_kinds().get(name)
    if target is None:
        raise JobError(f"unknown job kind {name!r} (known: {', '.join(sorted(known_kinds()))})")
    cached = _LOADED.get(name)
    if cached is not None and getattr(cached, "_target", None) == target:
        return cached
    module, _, attribute = target.partition(":")
    try:
        kind = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise JobError(f"job kind {name!r}: cannot load {target} ({exc})") from None
    if not isinstance(kind, JobKind):
        raise JobError(f"job kind {name!r}: {target} is not a JobKind")
    kind._target = target
    _LOADED[name] = kind
    return kind


def submit(project: Project, kind: str, request: Any, *, start: bool = True) -> Job:
    """Plan a job of ``kind`` (checks and snapshots now), create its folder and (unless told not to) start it.

    The job starts at once and waits in the queue ("queued", with its position) until the slots its kind
    needs are free (jobs/resources.py).
    """
    job_kind = get_kind(kind)
    project.require_writable(f"starting a {kind} job")
    planned = job_kind.plan(project, request)
    config = asdict(planned.config) if is_dataclass(planned.config) else dict(planned.config)
    store = JobStore(project.settings.jobs_dir, read_only=project.read_only)
    job = store.create(kind, config, label=planned.label)
    for name, data in planned.files.items():
        (job.dir / name).write_bytes(data)
    if planned.on_created is not None:
        planned.on_created(job)
    if start:
        store.start(job)
    return job


def describe(job: Job) -> str:
    """A job's "how" for its card, or "" when its kind is unknown here (a folder from a newer version)."""
    try:
        return get_kind(job.kind).describe(job)
    except JobError:
        return ""


def summary(job: Job) -> Summary:
    try:
        return get_kind(job.kind).summary(job)
    except JobError:
        return Summary(str(job.result.get("message") or ""))


def resumable(job: Job) -> str | None:
    """None when the Jobs page and ``job resume`` may offer Resume, else the reason they do not."""
    try:
        return get_kind(job.kind).resumable(job)
    except JobError as exc:
        return str(exc)


def title(kind: str) -> str:
    try:
        return get_kind(kind).title or kind
    except JobError:
        return kind
