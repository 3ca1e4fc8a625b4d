"""Generation and annotation runs (paper Eq. 1-5; Kaddour & Liu's Y|X), executed as resumable jobs.

A run is planned as units of work with deterministic ids. Each finished unit is written as one Parquet
part (temp name, fsync, ``os.replace``, fsync of the folder), so a run killed at any moment resumes by
skipping the units whose part exists: every requested example is produced exactly once. A part that
does not read (left empty by a crash of the machine) is set aside as ``*.corrupt`` and its unit redone.
Every answer becomes a row: a usable example, or a failure with its raw text and reason. When all units
are done the parts are ingested in one short transaction as a synthetic dataset (examples) plus its
failures.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import math
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from japagen_core import outputs
from japagen_core.errors import JapagenError
from japagen_core.generation.clean import clean_text, parse_label, split_numbered
from japagen_core.generation.journal import CallJournal, call_key, read_journal
from japagen_core.generation.llm import ChatClient, FatalLLMError, LLMConfig, LLMError, OpenAIChatClient, cost_usd
from japagen_core.generation.local import LocalConfig, check_model_name
from japagen_core.generation.presets import kadg_words, load_preset_spec
from japagen_core.generation.prompts import PRESETS, SETTINGS, PromptSpec, format_example
from japagen_core.project import Project
from japagen_core.review.word_lists import ListVersion
from japagen_core.storage import repository as repo
from japagen_core.storage import staging
from japagen_core.tasks import Task

log = logging.getLogger(__name__)

MODES = ("generate", "annotate")
BACKENDS = ("openai", "local")
# paired (the paper's Eq. 2-3): each pair's first sentence is written for its own label and used once;
# contrastive: one first sentence is shared by all labels (minimal pairs, but x1 repeats across labels).
PAIR_PROTOCOLS = ("paired", "contrastive")
# per-run (the paper): one gold example per class, drawn once with the run's seed; per-call: a new draw per call.
FEWSHOT_DRAWS = ("per-run", "per-call")
UNIT_EXAMPLES = 50  # examples (or annotated texts) per unit of work: one Parquet part each
TOPUP_ROUNDS = 3  # extra rounds that make up for failed answers
LIST_PROMPT = "\n\n異なる{n}件を、「1. 」「2. 」のように番号を付けて、1行に1件ずつ書いてください。"
PART_COLUMNS = {
    "unit_id": "string",
    "seq": "int64",
    "status": "string",  # ok / failed
    "reason": "string",
    "label": "string",
    "text": "string",
    "text_b": "string",
    "raw": "string",
    "request_id": "string",
    "created_at": "string",
    "provenance": "string",
}
USAGE_FILE = "usage.jsonl"  # in the parts folder: the call journal (journal.py), kept across attempts
CALL_STATS = ("retries", "timeouts", "connection_errors", "rate_limited", "server_errors")  # the client's counters
_UNIT_ID: contextvars.ContextVar[str] = contextvars.ContextVar("unit_id")  # the unit a call belongs to


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


def progress_line(p: dict[str, Any]) -> str:
    """One line of a run's progress, for the CLI and the Jobs page."""
    eta = f", ETA {p['eta_s']} s" if p.get("eta_s") is not None else ""
    cost = f", ${p['cost_usd']:.4f}" if p.get("cost_usd") is not None else ""
    failures = ", ".join(f"{k} {v}" for k, v in sorted((p.get("failures") or {}).items()))
    return (
        f"{p.get('ok', 0)}/{p.get('target', 0)} examples, {p.get('failed', 0)} failed"
        f"{' (' + failures + ')' if failures else ''}, {p.get('rate_per_s', 0)}/s{eta}, "
        f"{p.get('prompt_tokens', 0) + p.get('completion_tokens', 0):,} tokens{cost}{_calls_text(p)}"
    )


def _calls_text(p: dict[str, Any]) -> str:
    """Retries, timeouts and calls cut off by a stop, when there are any."""
    counts = [(p.get(k) or 0, k.replace("_", " ")) for k in CALL_STATS]
    text = "; " + ", ".join(f"{n} {name}" for n, name in counts if n) if any(n for n, _ in counts) else ""
    if p.get("cut_off_calls"):
        text += f"; {p['cut_off_calls']} calls cut off by a stop (tokens unknown)"
    if p.get("reused_calls"):
        text += f"; {p['reused_calls']} answers reused"
    return text


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
        rows = source_rows or []
        return [
            Unit(f"a{i // UNIT_EXAMPLES:06d}", (), len(chunk), tuple(chunk))
            for i in range(0, len(rows), UNIT_EXAMPLES)
            for chunk in [rows[i : i + UNIT_EXAMPLES]]
        ]
    if task.is_pair:  # a unit is one stage-1 call (n first sentences) and their second sentences
        step = max(1, int(cfg.llm.get("n", 5)))
        sizes = [min(step, cfg.per_label - i) for i in range(0, cfg.per_label, step)]
        if cfg.pair_protocol == "paired":  # the first sentences of a unit are for its one label only
            return [Unit(f"{lab}-p{k:06d}", (lab,), size) for lab in task.label_names for k, size in enumerate(sizes)]
        return [Unit(f"p{k:06d}", tuple(task.label_names), size) for k, size in enumerate(sizes)]
    sizes = [min(UNIT_EXAMPLES, cfg.per_label - i) for i in range(0, cfg.per_label, UNIT_EXAMPLES)]
    return [Unit(f"{label}-{k:06d}", (label,), size) for label in task.label_names for k, size in enumerate(sizes)]


@dataclass
class Progress:
    """Counters a job reports in progress.json."""

    total_units: int = 0
    done_units: int = 0
    target: int = 0
    ok: int = 0
    failed: int = 0
    per_label: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    started: float = field(default_factory=time.monotonic)
    produced_this_attempt: int = 0
    per_label_target: int = 0  # generate: examples wanted per label (surplus answers do not count)

    def add(self, part: pd.DataFrame, *, resumed: bool = False) -> None:
        ok = part[part["status"] == "ok"]
        failed = part[part["status"] == "failed"]
        self.ok += len(ok)
        self.failed += len(failed)
        for label, n in ok["label"].value_counts().items():
            self.per_label[label] = self.per_label.get(label, 0) + int(n)
        for reason, n in failed["reason"].value_counts().items():
            self.failures[reason] = self.failures.get(reason, 0) + int(n)
        self.done_units += 1
        if not resumed:
            self.produced_this_attempt += len(ok)

    def snapshot(self, model: str, state: str, message: str = "") -> dict[str, Any]:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.produced_this_attempt / elapsed
        remaining = max(self.target - self.ok, 0)  # (an estimate; surplus answers make it a little short)
        ok = sum(min(n, self.per_label_target) for n in self.per_label.values()) if self.per_label_target else self.ok
        return {
            "state": state,
            "message": message,
            "done_units": self.done_units,
            "total_units": self.total_units,
            "target": self.target,
            "ok": ok,
            "failed": self.failed,
            "per_label": self.per_label,
            "failures": self.failures,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": cost_usd(model, self.prompt_tokens, self.completion_tokens),
            "rate_per_s": round(rate, 2),
            "eta_s": round(remaining / rate) if rate > 0 else None,
            "updated_at": datetime.now(UTC).isoformat(),
        }


class Runner:
    """Executes a run's units against a chat client, writing one part per unit."""

    def __init__(
        self,
        project: Project,
        cfg: RunConfig,
        client: ChatClient,
        parts_dir: Path,
        *,
        report: Callable[[dict[str, Any]], None] = lambda snapshot: None,
        cancelled: Callable[[], bool] = lambda: False,
    ):
        self.project, self.cfg, self.client, self.parts_dir = project, cfg, client, parts_dir
        self.task = project.registry[cfg.task]
        preset = cfg.preset if cfg.mode == "generate" else "japagen"  # annotation uses japagen's annotate prompt
        self.spec: PromptSpec = load_preset_spec(project, self.task, preset)
        self.words: ListVersion | None = None
        if cfg.mode == "generate" and cfg.setting == "kadg":
            # The list as it is now: a resumed run uses the list current when it resumes, and every
            # example records the version it was drawn from.
            self.words = kadg_words(project, self.spec)
        self.llm = LLMConfig(**cfg.llm)
        self.list_mode = cfg.list_mode
        self.report, self.cancelled = report, cancelled
        # What the client adds to each example's provenance (the local backend: model, adapter and its sha).
        self.client_provenance = dict(getattr(client, "provenance", None) or {})
        self.progress = Progress()
        self.journal = CallJournal(parts_dir / USAGE_FILE)  # answered calls are counted and reused on resume
        self.progress.prompt_tokens = self.journal.totals.prompt_tokens
        self.progress.completion_tokens = self.journal.totals.completion_tokens
        self._reported_calls: dict[str, int] = {}
        self._last_report = 0.0
        self._fewshot = self._load_fewshot() if cfg.mode == "generate" and cfg.setting == "few-shot" else {}
        self._fewshot_fixed = (
            draw_fewshot(self._fewshot, cfg.seed, cfg.fewshot_dataset)
            if self._fewshot and cfg.fewshot_draw == "per-run"
            else None
        )
        self._source = self._load_source() if cfg.mode == "annotate" else None

    # -- inputs ------------------------------------------------------------------------------------

    def _load_fewshot(self) -> dict[str, list[tuple[str, str]]]:
        """Gold examples per label name: (example id, formatted text)."""
        with self.project.db.transaction() as con:
            info = repo.get_dataset(con, self.cfg.fewshot_dataset)
            rows = con.execute(
                "SELECT row_idx, text, text_b, label, score FROM examples WHERE dataset_id = ? ORDER BY row_idx",
                [info.id],
            ).fetchall()
        if info.task != self.task.name:
            raise JapagenError(f"few-shot dataset {info.id} is a {info.task} dataset, not {self.task.name}")
        pool: dict[str, list[tuple[str, str]]] = {}
        for row_idx, text, text_b, label, score in rows:
            name = label if label is not None else (self.task.grade_for_score(score) if score is not None else None)
            if name is not None:
                pool.setdefault(name, []).append((f"{info.id}:{row_idx}", format_example(self.task, text, text_b)))
        missing = [name for name in self.task.label_names if name not in pool]
        if missing:
            raise JapagenError(f"few-shot dataset {info.id} has no example of label(s) {missing}")
        return pool

    def _load_source(self) -> pd.DataFrame:
        with self.project.db.transaction() as con:
            info = repo.get_dataset(con, self.cfg.source_dataset)
            frame = con.execute(
                "SELECT row_idx, text, text_b, label, score, source_id FROM examples "
                "WHERE dataset_id = ? ORDER BY row_idx",
                [info.id],
            ).df()
        if info.task != self.task.name:
            raise JapagenError(f"dataset {info.id} is a {info.task} dataset, not {self.task.name}")
        return frame.set_index("row_idx", drop=False)

    # -- running -----------------------------------------------------------------------------------

    def done_parts(self) -> dict[str, pd.DataFrame]:
        """The finished units' rows; a part that cannot be read (left empty or cut short by a crash) is
        set aside as ``*.corrupt`` so its unit is done again."""
        parts = outputs.read_or_set_aside(sorted(self.parts_dir.glob("part-*.parquet")), pd.read_parquet)
        return {path.stem.removeprefix("part-"): frame for path, frame in parts.items()}

    async def run(self) -> str:
        """Run every unit not yet done, then top up shortfalls; 'succeeded', 'incomplete' or 'cancelled'."""
        try:
            return await self._run()
        except LLMError:
            self._report("running", force=True)  # the timeouts and retries up to a breaker's trip
            raise
        finally:
            self.journal.close()

    async def _run(self) -> str:
        source_rows = list(self._source.index) if self._source is not None else None
        units = plan(self.task, self.cfg, source_rows=source_rows)
        outputs.remove_stale_temps(self.parts_dir)  # this job's lock is ours: no other writer is at work
        done = self.done_parts()
        self.progress.target = (
            self.cfg.per_label * len(self.task.labels) if self.cfg.mode == "generate" else len(source_rows)
        )
        self.progress.total_units = len(units)
        self.progress.per_label_target = self.cfg.per_label if self.cfg.mode == "generate" else 0
        for part in done.values():
            self.progress.add(part, resumed=True)
        self.progress.done_units = sum(u.id in done for u in units)
        self._report("running", force=True)  # the target is known before the first unit ends
        first_round = 1 + max((int(m[1]) for u in done if (m := re.match(r"t(\d+)-", u))), default=0)
        for round_no in range(first_round, first_round + TOPUP_ROUNDS + 1):
            todo = [u for u in units if u.id not in done]
            if todo and not await self._run_units(todo):
                return "cancelled"
            done = self.done_parts()
            short = self.shortfall(done)
            if self.cfg.mode == "annotate" or not short or round_no == first_round + TOPUP_ROUNDS:
                break
            if round_no > first_round and not any((part["status"] == "ok").any() for part in done.values()):
                break  # a top-up round and still not one usable answer: more would only repeat the failure
            units = self._topups(short, round_no)
            self.progress.total_units += len(units)
        self._report("running", force=True)
        return "succeeded" if not self.shortfall(done) else "incomplete"

    def shortfall(self, done: dict[str, pd.DataFrame]) -> dict[str, int]:
        """Examples still missing per label (generate), or {"texts": n} when nothing was labelled (annotate)."""
        have = pd.concat(done.values()) if done else pd.DataFrame(columns=list(PART_COLUMNS))
        ok = have[have["status"] == "ok"]
        if self.cfg.mode == "annotate":
            return {} if len(ok) else {"texts": self.progress.target}
        counts = ok["label"].value_counts()
        short = {name: self.cfg.per_label - int(counts.get(name, 0)) for name in self.task.label_names}
        return {name: n for name, n in short.items() if n > 0}

    def _topups(self, short: dict[str, int], round_no: int) -> list[Unit]:
        """Units that make up for failed answers, split like the first pass (ids are deterministic)."""
        if self.task.is_pair and self.cfg.pair_protocol == "paired":
            step = max(1, self.llm.n)
            return [
                Unit(f"t{round_no}-{name}-p{k:06d}", (name,), min(step, n - i))
                for name, n in short.items()
                for k, i in enumerate(range(0, n, step))
            ]
        if self.task.is_pair:
            step, need = max(1, self.llm.n), max(short.values())
            return [
                Unit(f"t{round_no}-p{k:06d}", tuple(short), min(step, need - i))
                for k, i in enumerate(range(0, need, step))
            ]
        return [
            Unit(f"t{round_no}-{name}-{k:06d}", (name,), min(UNIT_EXAMPLES, n - i))
            for name, n in short.items()
            for k, i in enumerate(range(0, n, UNIT_EXAMPLES))
        ]

    async def _run_units(self, units: list[Unit]) -> bool:
        """Run units concurrently (a few more in flight than the client's concurrency needs).

        A cancel request stops the units in flight too: their work is not written, so resuming
        redoes exactly them. Returns False when cancelled.
        """
        in_flight = max(2, math.ceil(self.llm.concurrency / max(1, self.llm.n)) + 2)
        gate = asyncio.Semaphore(in_flight)

        async def one(unit: Unit) -> None:
            async with gate:
                rows = await self._unit(unit)
                self._write_part(unit, rows)

        tasks = [asyncio.create_task(one(u)) for u in units]
        work = asyncio.gather(*tasks)
        work.add_done_callback(lambda w: w.cancelled() or w.exception())  # never "exception not retrieved"
        try:
            while not work.done():
                await asyncio.wait([work], timeout=0.2)
                if self._call_stats() != self._reported_calls:  # retries and timeouts show while they happen
                    self._report("running")
                if not work.done() and self.cancelled():
                    log.info("cancel requested: stopping the units in flight")
                    return False
            work.result()  # raises a unit's exception (a fatal LLM error) here
            return True
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _write_part(self, unit: Unit, rows: list[dict[str, Any]]) -> None:
        frame = pd.DataFrame(rows, columns=list(PART_COLUMNS)).astype(PART_COLUMNS)
        final = self.parts_dir / f"part-{unit.id}.parquet"
        outputs.write_file_atomic(final, lambda tmp: frame.to_parquet(tmp, index=False))
        self.progress.add(frame)
        self._report("running")

    def _report(self, state: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_report >= 0.5:
            self._last_report = now
            self._reported_calls = self._call_stats()
            self.report({**self.progress.snapshot(self.llm.model, state), **self._reported_calls})

    def _call_stats(self) -> dict[str, int]:
        stats = getattr(self.client, "stats", None) or {}
        counts = {k: int(stats.get(k, 0)) for k in CALL_STATS}
        return {**counts, "cut_off_calls": self.journal.earlier_cut_off, "reused_calls": self.journal.reused}

    # -- one unit --------------------------------------------------------------------------------

    async def _unit(self, unit: Unit) -> list[dict[str, Any]]:
        _UNIT_ID.set(unit.id)  # the calls below (tasks copy the context) are journaled under this unit
        rng = random.Random(f"{self.cfg.seed}:{self.cfg.run_id}:{unit.id}")
        if self.cfg.mode == "annotate":
            return await self._annotate_unit(unit)
        if self.task.is_pair:
            return await self._pair_unit(unit, rng)
        return await self._single_unit(unit, rng)

    def _draw(self, rng: random.Random, label: str) -> tuple[str | None, str | None, str | None]:
        """(KADG word, few-shot example id, few-shot example text) for one call."""
        word = rng.choice(self.words.words) if self.words else None
        if self.cfg.setting != "few-shot":
            return word, None, None
        if self._fewshot_fixed is not None:
            example_id, example = self._fewshot_fixed[label]
        else:
            example_id, example = rng.choice(self._fewshot[label])
        return word, example_id, example

    async def _ask(self, messages: list[dict[str, str]], count: int) -> tuple[list[str], dict[str, Any]]:
        """``count`` answers for one prompt: n choices, or a numbered list where the server ignores n.

        An error after some answers came back keeps those answers; ``meta["missing_reason"]`` says why
        the rest are missing. An error before any answer is raised.
        """
        meta = {"request_ids": [], "missing_reason": "missing_choice"}
        texts: list[str] = []
        while len(texts) < count:
            want = count - len(texts)
            try:
                completion, got = await self._ask_once(messages, want)
            except FatalLLMError:
                raise
            except LLMError as exc:
                if not texts:
                    raise
                meta["missing_reason"] = exc.reason
                break
            meta["request_ids"].append(completion.request_id)
            if not got:
                break  # an empty answer: the missing ones are recorded as failures by the caller
            texts += got
        return texts, meta

    async def _ask_once(self, messages: list[dict[str, str]], want: int):
        if self.list_mode and want > 1:
            listed = [*messages[:-1], {**messages[-1], "content": messages[-1]["content"] + LIST_PROMPT.format(n=want)}]
            completion = await self._complete(listed, 1)
            return completion, split_numbered(completion.texts[0], want) if completion.texts else []
        completion = await self._complete(messages, want)
        got = completion.texts[:want]
        if want > 1 and len(got) == 1:
            log.warning("the server returned 1 choice for n=%d: switching to numbered-list prompts", want)
            self.list_mode = True
        return completion, got

    async def _complete(self, messages: list[dict[str, str]], n: int):
        """One call, journaled: answered from the journal when an earlier attempt already paid for it;
        else sent, and its answer counted and kept the moment it comes back."""
        key = call_key(_UNIT_ID.get(), messages, n)
        completion = self.journal.take(key)
        if completion is not None:
            return completion
        call_id = None

        def sent() -> None:  # on the wire: from now on a kill may leave it paid for and unanswered
            nonlocal call_id
            call_id = self.journal.sent(key)

        try:
            if isinstance(self.client, OpenAIChatClient):
                completion = await self.client.complete(messages, n=n, on_send=sent)
            else:  # an in-process model: nothing is paid, nothing waits on a wire
                sent()
                completion = await self.client.complete(messages, n=n)
        except LLMError as exc:
            if call_id is not None:
                self.journal.failed(call_id, exc.reason)
            raise
        self.journal.answered(call_id, key, completion)
        self.progress.prompt_tokens += completion.prompt_tokens
        self.progress.completion_tokens += completion.completion_tokens
        return completion

    def _base_provenance(self, unit: Unit, word: str | None, fewshot_ids: list[str]) -> dict[str, Any]:
        return {
            "run_id": self.cfg.run_id,
            "task": self.task.name,
            "mode": self.cfg.mode,
            "setting": self.cfg.setting,
            "prompt_version": self.spec.version,
            "preset": self.spec.preset,
            "preset_sha": self.spec.version,
            "pair_protocol": self.cfg.pair_protocol if self.task.is_pair else None,
            "fewshot_draw": self.cfg.fewshot_draw if self.cfg.setting == "few-shot" else None,
            "words_list": self.words.name if self.words else None,
            "words_list_version": self.words.version if self.words else None,  # 0: the shipped file
            "words_version": self.words.sha if self.words else None,
            "kadg_word": word,
            "fewshot_ids": fewshot_ids,
            "model": self.llm.model,
            "base_url": self.llm.base_url,
            "params": self.llm.params(),
            "unit_id": unit.id,
            "list_mode": self.list_mode,
            "backend": self.cfg.backend,
            "teacher": self.cfg.teacher,
            **self.client_provenance,
        }

    async def _single_unit(self, unit: Unit, rng: random.Random) -> list[dict[str, Any]]:
        label = unit.labels[0]
        calls = [min(self.llm.n, unit.count - i) for i in range(0, unit.count, self.llm.n)]
        draws = [self._draw(rng, label) for _ in calls]

        async def call(count: int, draw) -> list[dict[str, Any]]:
            word, example_id, example = draw
            prov = self._base_provenance(unit, word, [example_id] if example_id else [])
            messages = self.spec.single_messages(label, setting=self.cfg.setting, word=word, example=example)
            try:
                texts, meta = await self._ask(messages, count)
            except FatalLLMError:
                raise
            except LLMError as exc:
                return [_failure(label, exc.reason, str(exc), None, prov) for _ in range(count)]
            rows = [self._row(label, raw, None, meta, prov) for raw in texts]
            rows += [_failure(label, meta["missing_reason"], "", meta, prov) for _ in range(count - len(texts))]
            return rows

        results = await asyncio.gather(*(call(c, d) for c, d in zip(calls, draws, strict=True)))
        return _number(unit, [row for rows in results for row in rows])

    async def _pair_unit(self, unit: Unit, rng: random.Random) -> list[dict[str, Any]]:
        """Stage 1 writes x1 without a label; stage 2 writes x2 for each label with the chat history."""
        calls = [min(self.llm.n, unit.count - i) for i in range(0, unit.count, self.llm.n)]
        words = [rng.choice(self.words.words) if self.words else None for _ in calls]
        stage1 = await asyncio.gather(
            *(self._first(count, word, unit) for count, word in zip(calls, words, strict=True))
        )
        seconds = []
        rows: list[dict[str, Any]] = []
        for (x1s, meta, failure), word, count in zip(stage1, words, calls, strict=True):
            if failure is not None:
                rows += [{**failure, "label": label} for _ in range(count) for label in unit.labels]
                continue
            first_rows: list[dict[str, Any]] = []
            for raw in x1s:
                x1, reason = clean_text(raw, self.task)
                for label in unit.labels:
                    _, example_id, example = self._draw(rng, label)
                    prov = {**self._base_provenance(unit, word, [example_id] if example_id else []), "x1_raw": raw}
                    prov["x1_request_id"] = ";".join(r for r in meta["request_ids"] if r) or None
                    if reason is None:
                        seconds.append(self._second(label, x1, word, example, prov))
                    else:
                        first_rows.append(_failure(label, f"x1_{reason}", raw, None, prov))
            first_rows += [
                _failure(
                    label, meta.get("missing_reason", "missing_choice"), "", None, self._base_provenance(unit, word, [])
                )
                for _ in range(count - len(x1s))
                for label in unit.labels
            ]
            rows += first_rows
        rows += await asyncio.gather(*seconds)
        return _number(unit, rows)

    async def _first(self, count: int, word: str | None, unit: Unit):
        messages = self.spec.first_messages(setting=self.cfg.setting, word=word)
        try:
            texts, meta = await self._ask(messages, count)
            return texts, meta, None
        except FatalLLMError:
            raise
        except LLMError as exc:
            return [], {}, _failure(None, f"x1_{exc.reason}", str(exc), None, self._base_provenance(unit, word, []))

    async def _second(self, label: str, x1: str, word, example, prov) -> dict[str, Any]:
        messages = self.spec.second_messages(label, x1, setting=self.cfg.setting, word=word, example=example)
        try:
            texts, meta = await self._ask(messages, 1)
        except FatalLLMError:
            raise
        except LLMError as exc:
            return _failure(label, exc.reason, str(exc), None, prov)
        row = (
            self._row(label, texts[0], x1, meta, prov, pair=True)
            if texts
            else _failure(label, "missing_choice", "", meta, prov)
        )
        return row

    def _row(self, label, raw: str, x1: str | None, meta, prov, *, pair: bool = False) -> dict[str, Any]:
        prov = {**prov, "list_mode": self.list_mode}  # it may have switched during this call
        text, reason = clean_text(raw, self.task)
        if reason is not None:
            return _failure(label, reason, raw, meta, prov)
        first, second = (x1, text) if pair else (text, None)
        return {
            "status": "ok",
            "reason": None,
            "label": label,
            "text": first,
            "text_b": second,
            "raw": raw,
            **_meta_fields(meta),
            "provenance": json.dumps(prov, ensure_ascii=False),
        }

    async def _annotate_unit(self, unit: Unit) -> list[dict[str, Any]]:
        async def one(row_idx: int) -> dict[str, Any]:
            src = self._source.loc[row_idx]
            text_b = src["text_b"] if isinstance(src["text_b"], str) else None
            prov = {
                **self._base_provenance(unit, None, []),
                "setting": "annotate",
                "source_dataset": self.cfg.source_dataset,
                "source_row": int(row_idx),
                "source_id": src["source_id"],
                "source_label": src["label"] if isinstance(src["label"], str) else None,
            }
            messages = self.spec.annotate_messages(self.task, src["text"], text_b)
            try:
                texts, meta = await self._ask(messages, 1)
            except FatalLLMError:
                raise
            except LLMError as exc:
                return {**_failure(None, exc.reason, str(exc), None, prov), "text": src["text"], "text_b": text_b}
            answer = texts[0] if texts else ""
            label = parse_label(answer, self.task)
            row = {
                "text": src["text"],
                "text_b": text_b,
                "raw": answer,
                **_meta_fields(meta),
                "status": "ok" if label else "failed",
                "reason": None if label else "unparsable_label",
                "label": label,
                "provenance": json.dumps(prov, ensure_ascii=False),
            }
            return row

        rows = await asyncio.gather(*(one(r) for r in unit.rows))
        return _number(unit, list(rows))


def usage_totals(parts_dir: Path) -> tuple[int, int]:
    """(prompt, completion) tokens of every answered call of a run, across attempts."""
    totals, _ = read_journal(parts_dir / USAGE_FILE)
    return totals.prompt_tokens, totals.completion_tokens


def _meta_fields(meta: dict[str, Any] | None) -> dict[str, Any]:
    ids = [r for r in (meta or {}).get("request_ids", []) if r]
    return {"request_id": ";".join(ids) or None}


def _failure(label, reason: str, raw: str, meta, prov) -> dict[str, Any]:
    return {
        "status": "failed",
        "reason": reason,
        "label": label,
        "text": None,
        "text_b": None,
        "raw": raw,
        **_meta_fields(meta),
        "provenance": json.dumps(prov, ensure_ascii=False),
    }


def _number(unit: Unit, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each row its place in the unit and the time."""
    now = datetime.now(UTC).isoformat()
    return [{**row, "unit_id": unit.id, "seq": seq, "created_at": now} for seq, row in enumerate(rows)]


# -- ingest ------------------------------------------------------------------------------------------


def ingest(project: Project, cfg: RunConfig, parts_dir: Path, *, job_id: str) -> dict[str, Any]:
    """Turn a finished run's parts into a synthetic dataset and its failure rows (idempotent)."""
    task = project.registry[cfg.task]
    files = sorted(parts_dir.glob("part-*.parquet"))
    if not files:
        raise JapagenError(f"run {cfg.run_id} produced no output in {parts_dir}")
    parts = (
        duckdb.connect().execute("SELECT * FROM read_parquet(?, union_by_name = true)", [[str(f) for f in files]]).df()
    )
    order = {name: i for i, name in enumerate(task.label_names)}
    parts["_label_order"] = parts["label"].map(order).fillna(len(order))
    parts["_topup"] = parts["unit_id"].str.match(r"t\d+-")  # (a label may start with "t": topic-news)
    parts = parts.sort_values(["_label_order", "_topup", "unit_id", "seq"], kind="stable").reset_index(drop=True)
    ok = parts[parts["status"] == "ok"].copy()
    if cfg.mode == "generate":  # keep exactly per_label examples per label; the rest is surplus
        ok["_rank"] = ok.groupby("label").cumcount()
        surplus = ok[ok["_rank"] >= cfg.per_label]
        ok = ok[ok["_rank"] < cfg.per_label]
    else:
        surplus = ok.iloc[0:0]
        ok = ok.sort_values(["unit_id", "seq"])
    ok = ok.reset_index(drop=True)
    key = ok["text"].fillna("") + "\x00" + ok["text_b"].fillna("")
    first_of: dict[str, int] = {}
    duplicate_of: list[int | None] = []
    for i, k in enumerate(key):
        duplicate_of.append(first_of.get(k))
        first_of.setdefault(k, i)
    examples = pd.DataFrame(
        {
            "row_idx": range(len(ok)),
            "text": ok["text"],
            "text_b": ok["text_b"] if task.is_pair else None,
            "label": ok["label"],
            "score": [float(task.label(name).id) if task.target == "score" else None for name in ok["label"]],
            "split": "synthetic",
            "source": "llm",
            "source_id": ok["request_id"],
            "provenance": [
                _with_time(p, t, r) for p, t, r in zip(ok["provenance"], ok["created_at"], ok["raw"], strict=True)
            ],
            "duplicate_of": pd.array(duplicate_of, dtype="Int64"),
        }
    )
    failures = pd.concat([parts[parts["status"] == "failed"], surplus.assign(reason="surplus")])
    llm = LLMConfig(**cfg.llm)
    summary = {
        "rows": len(examples),
        "duplicates": int(examples["duplicate_of"].notna().sum()),
        "failures": failures["reason"].value_counts().to_dict(),
        **dict(zip(("prompt_tokens", "completion_tokens"), usage_totals(parts_dir), strict=True)),
    }
    summary["cost_usd"] = cost_usd(
        llm.model, summary["prompt_tokens"], summary["completion_tokens"], batch=bool(cfg.batch)
    )
    if cfg.mode == "generate" and cfg.setting == "few-shot":  # which gold examples the prompts showed, per label
        drawn: dict[str, set[str]] = {}
        for label, prov in zip(ok["label"], ok["provenance"], strict=True):
            drawn.setdefault(label, set()).update(json.loads(prov).get("fewshot_ids") or [])
        summary["fewshot_ids"] = {label: sorted(ids) for label, ids in drawn.items()}
    info = repo.DatasetInfo(
        id=cfg.run_id,
        task=task.name,
        split="synthetic",
        kind="synthetic",
        name=_run_name(task, cfg, len(examples)),
        source=f"job:{job_id}",
        source_format="llm",
        content_sha256=cfg.run_id,
        is_demo=False,
        rows=len(examples),
        meta={"run": asdict(cfg), "summary": summary},
    )

    def record_failures(con) -> None:  # in the transaction that makes the run visible
        con.execute("DELETE FROM generation_failures WHERE run_id = ?", [cfg.run_id])
        frame = pd.DataFrame(
            {
                "run_id": cfg.run_id,
                "unit_id": failures["unit_id"],
                "seq": failures["seq"],
                "label": failures["label"],
                "reason": failures["reason"],
                "raw": failures["raw"],
                "request_id": failures["request_id"],
                "created_at": pd.to_datetime(failures["created_at"], utc=True).dt.tz_localize(None),
                "provenance": failures["provenance"],
            }
        )
        con.register("incoming_failures", frame)
        con.execute("INSERT INTO generation_failures SELECT * FROM incoming_failures")
        con.unregister("incoming_failures")

    staging.write_datasets(project.db, [(info, examples)], finish=record_failures)
    return summary


def _with_time(provenance: str, created_at: str, raw: str) -> str:
    data = json.loads(provenance)
    data["time"] = created_at
    data["raw"] = raw
    return json.dumps(data, ensure_ascii=False)


def _run_name(task: Task, cfg: RunConfig, rows: int) -> str:
    model = cfg.llm.get("model", "?")
    if cfg.mode == "annotate":
        return f"{task.title} · annotated by {model} · {rows:,}"
    return f"{task.title} · {cfg.setting} · {model} · {rows:,}"
