"""Everything a report shows, gathered from the store in a few short reads into plain dataclasses.

Numbers keep their signatures (what produced them: tokenizer, sample, seed, runs and seeds behind a
Table 1 cell), so a reader can tell which numbers are comparable. The Overview page uses the same
``TaskReport.headline`` figures as the report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

import japagen_core
from japagen_core import showcase
from japagen_core.jobs.store import FINAL_STATES, Job
from japagen_core.project import Project
from japagen_core.showcase import ExampleCard
from japagen_core.storage import repository as repo
from japagen_core.tasks import Task
from japagen_core.training import results as table1
from japagen_core.training.store import list_models

# The sampling parameters a run's settings show (its llm config also holds limits and the server URL,
# which say nothing about the data and may name an internal host).
SAMPLING_KEYS = ("temperature", "top_p", "frequency_penalty", "max_tokens", "n")


@dataclass(frozen=True)
class Measure:
    """One stored analysis number and what produced it."""

    value: float | None
    signature: str
    created_at: str
    reference: str | None = None  # the gold split it was compared with or trained on
    detail: dict[str, Any] = field(default_factory=dict)  # the stored result (per label, confusion, ...)


@dataclass(frozen=True)
class DatasetSummary:
    id: str
    name: str
    kind: str  # gold, synthetic, unlabeled
    split: str
    rows: int
    is_demo: bool
    counts: dict[str, int]  # per label (score tasks: per nearest grade)
    reviewed: int  # examples with review events
    flagged: int
    relabeled: int
    created_at: str | None
    content_sha256: str


@dataclass(frozen=True)
class AnalysisRow:
    """Table 2 for one dataset: the newest result of each analysis."""

    dataset_id: str
    dataset_name: str
    kind: str
    self_bleu: Measure | None
    overlap: Measure | None  # value: weighted Jaccard against ``reference``
    correctness: Measure | None  # value: accuracy (0-1) or MSE, per ``detail["metric"]``


@dataclass(frozen=True)
class RunSettings:
    """How a synthetic dataset was made (method and settings)."""

    dataset_id: str
    dataset_name: str
    mode: str | None  # generate, annotate
    setting: str | None  # zero-shot, few-shot, kadg
    model: str | None
    per_label: int | None
    seed: int | None
    sampling: dict[str, Any]
    prompt_version: str | None
    words_list: str | None
    summary: dict[str, Any]  # rows, duplicates, failures, tokens, estimated cost


@dataclass(frozen=True)
class Headline:
    """The figures a non-programmer asks for first, for one task."""

    synthetic_rows: int
    reviewed_share: float | None  # reviewed synthetic examples / synthetic examples
    analysed_dataset: str | None  # the synthetic dataset the next three figures are about
    self_bleu: Measure | None
    weighted_jaccard: Measure | None
    label_correctness: Measure | None
    best_row: str | None  # "JAPAGEN · w/ KADG": the best own Table 1 row for this task
    best_score: table1.Cell | None
    paper: dict[str, float] = field(default_factory=dict)  # the paper's Table 1 row title -> mean
    includes_demo: bool = False  # some figure above counts demo rows (the UI badges it DEMO)
    sources: dict[str, str] = field(default_factory=dict)  # figure -> dataset/run, split, method, n
    best_eval_split: str | None = None  # the gold split the best result was scored on (valid, test, ...)


@dataclass(frozen=True)
class TaskReport:
    task: Task
    datasets: list[DatasetSummary]
    analyses: list[AnalysisRow]
    settings: list[RunSettings]
    cards: list[ExampleCard]
    headline: Headline


@dataclass(frozen=True)
class JobSummary:
    counts: dict[str, int]  # state -> jobs
    active: list[dict[str, Any]]  # running or queued: id, kind, task, state, message


@dataclass(frozen=True)
class ReportData:
    generated_at: datetime
    version: str
    read_only: bool
    tasks: list[TaskReport]
    table1: table1.Table1 | None  # None: no trained models yet
    scaling: pd.DataFrame  # Figure 3 points (empty without scaling runs)
    jobs: JobSummary

    @property
    def has_demo(self) -> bool:
        return any(d.is_demo for t in self.tasks for d in t.datasets)


def gather(
    project: Project,
    *,
    tasks: list[str] | None = None,
    per_label: int = 3,
    seed: int = 0,
    jobs: list[Job] | None = None,
) -> ReportData:
    """The report's data for ``tasks`` (default: every task with data), example cards ``per_label``
    per label drawn with ``seed``; ``jobs`` defaults to the project's job folders."""
    infos = _datasets(project)
    names = _task_names(project, infos, tasks)
    models = [m for m in list_models(project) if m["task"] in names]
    table = table1.build_table1(models, project.registry, paper=True) if models else None
    real_data = any(not d.summary.is_demo for d in infos)  # then demo rows never make a headline
    reports = [
        _task_report(project, project.registry[name], infos, table, per_label=per_label, seed=seed,
                     real_data=real_data)
        for name in names
    ]  # fmt: skip
    return ReportData(
        generated_at=datetime.now().replace(microsecond=0),
        version=japagen_core.__version__,
        read_only=project.read_only,
        tasks=reports,
        table1=table,
        scaling=table1.scaling_points(models, project.registry),
        jobs=summarize_jobs(project.jobs.list() if jobs is None else jobs),
    )


def _task_names(project: Project, infos: list[DatasetSummary], wanted: list[str] | None) -> list[str]:
    if wanted:
        for name in wanted:
            project.registry[name]  # an unknown task fails here, naming it
        return list(dict.fromkeys(wanted))
    present = {info.task for info in infos}
    return [name for name in project.registry if name in present]


def _task_report(project, task: Task, infos, table, *, per_label: int, seed: int, real_data: bool) -> TaskReport:
    datasets = [d for d in infos if d.task == task.name]
    analyses = _analyses(project, datasets)
    return TaskReport(
        task=task,
        datasets=[d.summary for d in datasets],
        analyses=analyses,
        settings=_run_settings(project, [d for d in datasets if d.summary.kind == "synthetic"]),
        cards=showcase.example_cards(project, task, per_label=per_label, seed=seed),
        headline=_headline(
            task,
            [d.summary for d in datasets],
            analyses,
            table,
            real_data=real_data,
            splits={d.summary.id: d.summary.split for d in infos},
        ),
    )


# --- datasets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dataset:
    task: str
    summary: DatasetSummary
    meta: dict[str, Any]


def _datasets(project: Project) -> list[_Dataset]:
    """Every dataset with its label counts and review tallies, in two scans."""
    with project.db.transaction() as con:
        infos = repo.list_datasets(con)
        counts = repo.all_label_counts(con, project.registry, infos)
        review = {
            d: (int(r), int(f), int(x))
            for d, r, f, x in con.execute(
                "SELECT dataset_id, count(*) FILTER (WHERE events > 0), count(flag), "
                "count(*) FILTER (WHERE label IS NOT NULL OR score IS NOT NULL) FROM review_state GROUP BY ALL"
            ).fetchall()
        }
    return [_dataset(info, counts.get(info.id, {}), review.get(info.id, (0, 0, 0))) for info in infos]


def _dataset(info: repo.DatasetInfo, counts: dict[str, int], review: tuple[int, int, int]) -> _Dataset:
    created = info.created_at.isoformat(sep=" ", timespec="seconds") if info.created_at else None
    summary = DatasetSummary(info.id, info.name, info.kind, info.split, info.rows, info.is_demo, counts, *review,
                             created, info.content_sha256)  # fmt: skip
    return _Dataset(info.task, summary, info.meta)


# --- analyses ------------------------------------------------------------------------------------


def _analyses(project: Project, datasets: list[_Dataset]) -> list[AnalysisRow]:
    """The newest stored result of each kind per dataset (overlap: against whichever gold split the
    newest comparison used, named in the measure)."""
    if not datasets:
        return []
    ids = [d.summary.id for d in datasets]
    marks = ", ".join("?" for _ in ids)
    with project.db.transaction() as con:
        rows = con.execute(
            f"SELECT kind, dataset_id, arg_max(reference_id, created_at), arg_max(signature, created_at), "
            f"arg_max(result, created_at), max(created_at) FROM analysis_results WHERE dataset_id IN ({marks}) "
            "GROUP BY kind, dataset_id",
            ids,
        ).fetchall()
    newest = {(kind, d): _measure(kind, ref, sig, json.loads(res), at) for kind, d, ref, sig, res, at in rows}
    out = []
    for d in datasets:
        found = [newest.get((k, d.summary.id)) for k in ("self_bleu", "overlap", "correctness")]
        if any(found):
            out.append(AnalysisRow(d.summary.id, d.summary.name, d.summary.kind, *found))
    return out


_VALUE_KEY = {"self_bleu": "self_bleu", "overlap": "weighted_jaccard", "correctness": "overall"}


def _measure(kind: str, reference: str | None, signature: str, result: dict, created_at) -> Measure:
    value = result.get(_VALUE_KEY.get(kind, ""))
    at = created_at.isoformat(sep=" ", timespec="seconds") if created_at else ""
    return Measure(None if value is None else float(value), signature, at, reference, result)


# --- settings ------------------------------------------------------------------------------------


def _run_settings(project: Project, datasets: list[_Dataset]) -> list[RunSettings]:
    """Each synthetic dataset's run config (from its meta), completed from its examples' provenance
    (datasets made before the run config was stored, or by other tools, have only the latter)."""
    if not datasets:
        return []
    ids = [d.summary.id for d in datasets]
    marks = ", ".join("?" for _ in ids)
    keys = ("setting", "model", "prompt_version", "words_list", "mode")
    extract = ", ".join(f"any_value(json_extract_string(provenance, '$.{k}'))" for k in keys)
    with project.db.transaction() as con:
        found = con.execute(
            f"SELECT dataset_id, {extract} FROM examples WHERE dataset_id IN ({marks}) GROUP BY dataset_id", ids
        ).fetchall()
    provenance = {row[0]: dict(zip(keys, row[1:], strict=True)) for row in found}
    return [_settings(d, provenance.get(d.summary.id, {})) for d in datasets]


def _settings(d: _Dataset, prov: dict[str, Any]) -> RunSettings:
    run = d.meta.get("run") or {}
    llm = run.get("llm") or {}
    return RunSettings(
        dataset_id=d.summary.id, dataset_name=d.summary.name, mode=run.get("mode") or prov.get("mode"),
        setting=run.get("setting") or d.meta.get("setting") or prov.get("setting"),
        model=llm.get("model") or prov.get("model"), per_label=run.get("per_label"), seed=run.get("seed"),
        sampling={k: llm[k] for k in SAMPLING_KEYS if k in llm}, prompt_version=prov.get("prompt_version"),
        words_list=prov.get("words_list"), summary=dict(d.meta.get("summary") or {}),
    )  # fmt: skip


# --- headline ------------------------------------------------------------------------------------


FIELD_NAMES = {"text": "first sentence", "text_b": "second sentence", "pooled": "both sentences pooled"}


def _sample_text(signature: str) -> str:
    """'1,000 per label, seed 0' from a signature's sample part."""
    parts = dict(p.split(":", 1) for p in signature.split("|") if ":" in p)
    sample = parts.get("sample", "all")
    group = parts.get("group", "label")
    per = sample.split("-per-")[0] if "-per-" in sample else None
    return (f"{int(per):,} per {group}" if per and per.isdigit() else "every row") + f", seed {parts.get('seed', '?')}"


def measure_source(kind: str, m: Measure, d: DatasetSummary, splits: dict[str, str] | None = None) -> str:
    """Where a headline number comes from: the dataset (run) and its split, the method, and n."""
    where = f"{d.name} [{d.id}], {d.kind} split '{d.split}'" + (" (DEMO)" if d.is_demo else "")
    detail = m.detail
    if kind == "correctness":
        trained_on = detail.get("trained_on") or m.reference or "?"
        how = "5-fold cross-validated" if detail.get("cross_validated") else "rows it never trained on"
        flag = "; DEGENERATE (a label's recall < 5%)" if detail.get("degenerate") else ""
        return (f"{where}; {detail.get('method_name', 'quick estimate')}, trained on {trained_on}, {how}; "
                f"n {detail.get('examples', '?'):,}{flag}")  # fmt: skip
    field_name = FIELD_NAMES.get(detail.get("field", "text"), "text")
    if kind == "overlap":
        ref = f"{m.reference} ('{splits[m.reference]}')" if splits and m.reference in splits else m.reference
        return f"{where} against gold {ref}; weighted Jaccard, {field_name}, {_sample_text(m.signature)}"
    return (f"{where}; Self-BLEU-4, {field_name}, {_sample_text(m.signature)}, "
            f"n {detail.get('texts', '?'):,} texts")  # fmt: skip


def _headline(task: Task, datasets: list[DatasetSummary], analyses: list[AnalysisRow], table, *,
              real_data: bool = False, splits: dict[str, str] | None = None) -> Headline:  # fmt: skip
    counted = [d for d in datasets if not (real_data and d.is_demo)]  # demo rows count only without real data
    synthetic = [d for d in counted if d.kind == "synthetic"]
    rows = sum(d.rows for d in synthetic)
    reviewed = sum(d.reviewed for d in synthetic)
    by_id = {d.id: d for d in counted}
    analysed = [a for a in analyses if a.kind == "synthetic" and a.self_bleu is not None and a.dataset_id in by_id]
    newest = max(analysed, key=lambda a: a.self_bleu.created_at, default=None)
    best_row, best_cell = _best(task, table)
    paper = {
        " · ".join(table1.row_title(m, s)): values[task.name][0]
        for (m, s), values in table1.PAPER_TABLE1.items()
        if task.name in values
    }
    sources = {}
    if newest is not None:
        d = by_id[newest.dataset_id]
        for key, kind, m in (("self_bleu", "self_bleu", newest.self_bleu), ("weighted_jaccard", "overlap",
                             newest.overlap), ("label_correctness", "correctness", newest.correctness)):  # fmt: skip
            if m is not None:
                sources[key] = measure_source(kind, m, d, splits)
    includes_demo = any(d.is_demo for d in synthetic) or (newest is not None and by_id[newest.dataset_id].is_demo)
    eval_split = (splits or {}).get(best_cell.eval_dataset) if best_cell is not None else None
    return Headline(
        synthetic_rows=rows, reviewed_share=reviewed / rows if rows else None,
        analysed_dataset=newest.dataset_id if newest else None, self_bleu=newest.self_bleu if newest else None,
        weighted_jaccard=newest.overlap if newest else None, label_correctness=newest.correctness if newest else None,
        best_row=best_row, best_score=best_cell, paper=paper, includes_demo=includes_demo, sources=sources,
        best_eval_split=eval_split,
    )  # fmt: skip


def _best(task: Task, table: table1.Table1 | None) -> tuple[str | None, table1.Cell | None]:
    if table is None or task.name not in table.best:
        return None, None
    row = table.rows[table.best[task.name][0]]
    return f"{row.block} · {row.title}", row.cells[task.name]


# --- jobs ----------------------------------------------------------------------------------------


def summarize_jobs(jobs: list[Job]) -> JobSummary:
    """Jobs per state, and the ones running or waiting to (what the Overview shows as "now")."""
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.state] = counts.get(job.state, 0) + 1
    active = [
        {"id": j.id, "kind": j.kind, "task": j.config.get("task"), "state": j.state,
         "message": str(j.progress.get("message", ""))}
        for j in jobs
        if j.state not in FINAL_STATES and j.state != "interrupted"
    ]  # fmt: skip
    return JobSummary(counts, active)
