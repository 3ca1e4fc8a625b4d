"""Analyses of datasets (paper §4.3) run as a job: diversity (Self-BLEU), closeness to gold (token
overlap), label correctness (a gold-trained classifier). Results are stored with their signatures.

The metrics themselves are pure functions in ``japagen_core.metrics``; this module reads the datasets,
applies the sample protocol, calls them and stores what they return.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from japagen_core.errors import JapagenError
from japagen_core.metrics.correctness import (
    QUICK_METHOD,
    Correctness,
    GoldModel,
    features,
    label_correctness,
    train_gold_model,
)
from japagen_core.metrics.overlap import count_tokens, overlap
from japagen_core.metrics.sampling import sample_per_label, sample_signature
from japagen_core.metrics.self_bleu import self_bleu
from japagen_core.metrics.tokenizers import KINDS, Tokenizer
from japagen_core.project import Project
from japagen_core.review.issues import class_label_issues, score_label_issues
from japagen_core.storage import Database
from japagen_core.storage import repository as repo
from japagen_core.tasks import Registry, Task

log = logging.getLogger(__name__)
# Which texts of a pair Self-BLEU and overlap score: each sentence field on its own (the paper's
# protocol; the first sentence is the headline, which reproduces Table 2's gold row), or both pooled.
PAIR_TEXTS = ("per-field", "pooled")
METHODS = ("quick", "bert")  # label correctness: the quick estimate, or a fine-tuned BERT (the paper's)
FIELD_NAMES = {"text": "first sentence", "text_b": "second sentence", "pooled": "both sentences pooled"}


@dataclass(frozen=True)
class AnalysisConfig:
    reference: str  # the gold split the others are compared with (and a row of the table itself)
    datasets: list[str] = field(default_factory=list)  # runs, demo data or other splits to analyse
    train: str | None = None  # quick estimate: the gold split its classifier trains on (None: skip it)
    per_label: int | None = 1000
    seed: int = 0
    order: int = 4
    tokenizer: str = "surface"
    pair_texts: str = "per-field"
    method: str = "quick"  # label correctness: quick (trained on ``train``) or bert (``model``)
    model: str | None = None  # bert: a stored model id (Train page / `train --data gold-full`) or a folder

    def __post_init__(self):
        object.__setattr__(self, "datasets", list(dict.fromkeys(self.datasets)))  # each dataset once

    def check(self, project: Project) -> Task:
        return self.check_store(project.db, project.registry)

    def check_store(self, db: Database, registry: Registry) -> Task:
        """``check`` against a store and a task registry; return the datasets' task."""
        if self.tokenizer not in KINDS:
            raise JapagenError(f"tokenizer {self.tokenizer!r} must be one of {list(KINDS)}")
        if self.pair_texts not in PAIR_TEXTS:
            raise JapagenError(f"pair_texts {self.pair_texts!r} must be one of {list(PAIR_TEXTS)}")
        if self.method not in METHODS:
            raise JapagenError(f"method {self.method!r} must be one of {list(METHODS)}")
        if self.method == "bert" and not self.model:
            raise JapagenError("method 'bert' needs a model: a stored model id or a model folder")
        if self.per_label is not None and self.per_label < 2:
            raise JapagenError("per_label must be at least 2 (Self-BLEU needs two texts)")
        with db.transaction() as con:
            infos = [repo.get_dataset(con, d) for d in [self.reference, *self.datasets, self.train] if d]
        if self.train and next(i for i in infos if i.id == self.train).kind == "unlabeled":
            raise JapagenError(f"the classifier needs labelled gold data; {self.train} has no labels")
        tasks = {info.task for info in infos}
        if len(tasks) != 1:
            raise JapagenError(f"all datasets of an analysis must be of one task, got {sorted(tasks)}")
        return registry[tasks.pop()]


def _frame(db: Database, dataset_id: str) -> pd.DataFrame:
    with db.transaction() as con:
        return con.execute(
            "SELECT row_idx, text, text_b, label, score, provenance FROM examples "
            "WHERE dataset_id = ? ORDER BY row_idx",
            [dataset_id],
        ).df()


def _label_names(task: Task, frame: pd.DataFrame) -> list[str]:
    """A label per row: its label, or for a score its nearest grade."""
    return [
        label if isinstance(label, str) else (task.grade_for_score(score) if score == score else "(none)")
        for label, score in zip(frame["label"], frame["score"], strict=True)
    ]


def grouping(task: Task) -> str:
    """How the sample is drawn and per-label figures grouped: by label, or (scores) by nearest grade."""
    return "grade" if task.target == "score" else "label"


def fields(task: Task, pair_texts: str) -> list[str]:
    """The text fields scored, headline first: text (and text_b) each on its own, or both pooled."""
    if not task.is_pair:
        return ["text"]
    return ["text", "text_b"] if pair_texts == "per-field" else ["pooled"]


def _texts(frame: pd.DataFrame, which: str) -> tuple[list[str], list[int]]:
    """The texts of one field, and for each the row it came from (pooled: both sentences of every row)."""
    rows = list(range(len(frame)))
    if which == "pooled":
        return list(frame["text"]) + list(frame["text_b"]), rows + rows
    return list(frame[which]), rows


def content_keys(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """What makes two rows the same example: their texts (a row of a set and of the training data alike)."""
    return [(str(a), "" if b is None or b != b else str(b)) for a, b in zip(frame["text"], frame["text_b"],
                                                                             strict=True)]  # fmt: skip


def run_analysis(
    project: Project, cfg: AnalysisConfig, *, job_id: str | None = None, report=lambda s: None
) -> list[str]:
    """Run every analysis of the config and store the results; return their ids."""
    return analyse_store(project.db, project.registry, cfg, job_id=job_id, report=report, project=project)


def analyse_store(
    db: Database, registry: Registry, cfg: AnalysisConfig, *, job_id: str | None = None, report=lambda s: None,
    project: Project | None = None,
) -> list[str]:  # fmt: skip
    """``run_analysis`` given the store and the task registry rather than a project (the demo loader's
    case; method 'bert' needs the project, for its model folders)."""
    task = cfg.check_store(db, registry)
    tokenizer = Tokenizer(cfg.tokenizer)
    group = grouping(task)
    stored: list[tuple[str, str, str | None, str, dict, pd.DataFrame | None]] = []
    datasets = [cfg.reference, *[d for d in cfg.datasets if d != cfg.reference]]
    frames = {d: _frame(db, d) for d in datasets}
    scored = fields(task, cfg.pair_texts)
    tokens_of: dict[tuple[str, str], tuple[list[list[str]], list[str]]] = {}
    for step, dataset_id in enumerate(datasets):
        report({"step": f"diversity of {dataset_id}", "done": step, "total": len(datasets) * 2})
        frame = frames[dataset_id]
        labels = _label_names(task, frame)
        keep = set(sample_per_label(labels, cfg.per_label, seed=cfg.seed))
        per_field = {}
        for which in scored:
            texts, rows = _texts(frame, which)
            chosen = [(t, r) for t, r in zip(texts, rows, strict=True) if r in keep]
            tokens = tokenizer.tokenize_all(t for t, _ in chosen)
            text_labels = [labels[r] for _, r in chosen]
            tokens_of[(dataset_id, which)] = (tokens, text_labels)
            if len(tokens) >= 2:
                sample_sig = f"{sample_signature(cfg.per_label, cfg.seed)}|group:{group}|field:{which}"
                per_field[which] = _diversity(cfg, task, frame, tokens, text_labels, chosen, tokenizer, sample_sig)
        if per_field:
            stored.append(_headline("self_bleu", dataset_id, None, scored, per_field))
    for dataset_id in datasets[1:]:
        per_field = {}
        for which in scored:
            sample_sig = f"{sample_signature(cfg.per_label, cfg.seed)}|group:{group}|field:{which}"
            result = _overlap(*tokens_of[(cfg.reference, which)], *tokens_of[(dataset_id, which)], tokenizer,
                              sample_sig)  # fmt: skip
            if result is not None:
                per_field[which] = result
        if per_field:
            stored.append(_headline("overlap", dataset_id, cfg.reference, scored, per_field))
    if cfg.method == "bert" or cfg.train:
        stored += _all_correctness(db, task, cfg, datasets, frames, tokenizer, report, project)
    return _store(db, stored, job_id)


def _headline(kind: str, dataset_id: str, reference: str | None, scored: list[str], per_field: dict) -> tuple:
    """One stored result: the headline field's figures at the top level, every field's under "fields"."""
    first = next(f for f in scored if f in per_field)
    payload = {**per_field[first], "field": first, "fields": per_field}
    return (kind, dataset_id, reference, payload["signature"], payload, None)


def _all_correctness(db, task, cfg, datasets, frames, tokenizer, report, project) -> list[tuple]:
    if cfg.method == "bert":
        if project is None:
            raise JapagenError("label correctness by BERT needs the project (its model folders)")
        from japagen_core.training.label_check import load_checker  # torch loads only for this method

        checker = load_checker(project, task, cfg.model)

        def check(frame):
            return checker(frame, _targets(task, frame))
    else:
        train = frames.get(cfg.train)
        train = train if train is not None else _frame(db, cfg.train)
        trained = _train(task, cfg, train, tokenizer)  # once, for every dataset

        def check(frame):
            return _quick(task, cfg, trained, frame, tokenizer)

    out = []
    for step, dataset_id in enumerate(datasets):
        done = len(datasets) + step
        report({"step": f"label correctness of {dataset_id}", "done": done, "total": len(datasets) * 2})
        frame = frames[dataset_id]
        labelled = frame[frame["label"].notna() | frame["score"].notna()].reset_index(drop=True)
        if not len(labelled):  # unlabeled texts have no label to check
            continue
        try:
            result, extra = check(labelled)
        except ValueError as exc:  # e.g. a set made only of the model's training rows
            log.warning("label correctness of %s skipped: %s", dataset_id, exc)
            continue
        if result is not None:
            out.append(_correctness(task, cfg, result, extra, labelled, dataset_id))
    return out


def _diversity(cfg, task, frame, tokens, text_labels, chosen, tokenizer, sample_sig) -> dict:
    options = {"order": cfg.order, "tokenizer_signature": tokenizer.signature, "sample_signature": sample_sig}
    result = self_bleu(tokens, **options)
    per_label = {}
    for name in sorted(set(text_labels), key=lambda n: [*task.label_names, n].index(n)):
        group = [t for t, lab in zip(tokens, text_labels, strict=True) if lab == name]
        per_label[name] = self_bleu(group, **options).score if len(group) > 1 else None
    by_word: dict[str, list[list[str]]] = {}
    for toks, (_, r) in zip(tokens, chosen, strict=True):
        word = json.loads(frame["provenance"].iat[r] or "{}").get("kadg_word")
        if word:
            by_word.setdefault(word, []).append(toks)
    per_word = {w: self_bleu(g, **options).score if len(g) > 1 else None for w, g in sorted(by_word.items())}
    return {"self_bleu": result.score, "texts": len(tokens), "per_label": per_label, "per_kadg_word": per_word,
            "signature": result.signature}  # fmt: skip


def _overlap(ref_tokens, ref_labels, tokens, labels, tokenizer, sample_sig) -> dict | None:
    if not any(tokens) or not any(ref_tokens):  # no token at all (e.g. content words of 「はい。」)
        return None
    options = {"tokenizer_signature": tokenizer.signature, "sample_signature": sample_sig}
    result = overlap(count_tokens(ref_tokens), count_tokens(tokens), **options).as_dict()
    per_label = {}
    for name in sorted(set(labels) & set(ref_labels)):
        gold = count_tokens(t for t, lab in zip(ref_tokens, ref_labels, strict=True) if lab == name)
        syn = count_tokens(t for t, lab in zip(tokens, labels, strict=True) if lab == name)
        if sum(gold.values()) and sum(syn.values()):
            per_label[name] = overlap(gold, syn, top=0).weighted_jaccard
    return {**result, "per_label": per_label}


def _features(task: Task, frame: pd.DataFrame, tokenizer: Tokenizer) -> list[list[str]]:
    first = tokenizer.tokenize_all(frame["text"])
    if not task.is_pair:
        return [features(t) for t in first]
    return [features(x, y) for x, y in zip(first, tokenizer.tokenize_all(frame["text_b"]), strict=True)]


def _targets(task: Task, frame: pd.DataFrame) -> list:
    """Label names; for a score task the gold score, or the grade a synthetic example was made for."""
    if task.target == "class":
        return list(frame["label"])
    return [s if s == s else float(task.label(lab).id) for s, lab in zip(frame["score"], frame["label"], strict=True)]


def _train(task: Task, cfg: AnalysisConfig, train: pd.DataFrame, tokenizer: Tokenizer) -> GoldModel:
    train = train[train["label"].notna() | train["score"].notna()].reset_index(drop=True)
    try:
        return train_gold_model(
            _features(task, train, tokenizer), _targets(task, train),
            labels=task.label_names if task.target == "class" else None, seed=cfg.seed,
            tokenizer_signature=tokenizer.signature, keys=content_keys(train),
        )  # fmt: skip
    except ValueError as exc:
        raise JapagenError(f"cannot train on {cfg.train}: {exc}") from None


def _quick(task: Task, cfg: AnalysisConfig, trained: GoldModel, frame: pd.DataFrame, tokenizer: Tokenizer):
    """The quick estimate of one set, out of sample (rows in the training split are cross-validated)."""
    grade_of = task.grade_for_score if task.target == "score" else None
    result = label_correctness(trained, _features(task, frame, tokenizer), _targets(task, frame), grade_of=grade_of,
                               eval_keys=content_keys(frame))  # fmt: skip
    return result, {"method": "quick", "method_name": QUICK_METHOD, "trained_on": cfg.train}


def _correctness(task, cfg, result: Correctness, extra: dict, frame, dataset_id):
    """The stored correctness result: the scores, what produced them, and per-example predictions
    (the rows scored; BERT leaves out rows its training data holds)."""
    if "rows" in extra:  # the rows scored (BERT: those its training data does not hold)
        frame = frame.iloc[extra.pop("rows")].reset_index(drop=True)
    payload = asdict(result)
    for key in ("predicted", "probabilities"):
        payload.pop(key)
    signature = f"{result.signature}|trained_on:{extra['trained_on']}"
    payload.update(extra, examples=len(frame), signature=signature, out_of_sample=True)
    predictions = pd.DataFrame(
        {
            "row_idx": frame["row_idx"],
            "predicted": [p if isinstance(p, str) else None for p in result.predicted],
            "score": [p if not isinstance(p, str) else None for p in result.predicted],
            "probabilities": [json.dumps(p) for p in result.probabilities] if result.probabilities else None,
        }
    )
    predictions["confidence"], predictions["label_quality"], predictions["is_issue"] = _label_issues(
        task, result, _targets(task, frame)
    )
    reference = cfg.train if extra["method"] == "quick" else None
    return ("correctness", dataset_id, reference, signature, payload, predictions)


def _label_issues(task: Task, result, targets: list) -> tuple[list, list, list]:
    """Per example: the model's confidence in its prediction, cleanlab's label quality of the
    assigned label, and whether cleanlab counts it as a label issue (the review queue ranks by these)."""
    if result.probabilities is None:  # a score task: quality from the regression residuals
        quality = score_label_issues([float(t) for t in targets], [float(p) for p in result.predicted])
        return [None] * len(targets), quality.tolist(), [None] * len(targets)
    probabilities = np.asarray(result.probabilities, dtype=float)
    quality, issues = class_label_issues(targets, probabilities, labels=result.labels)
    return probabilities.max(axis=1).tolist(), quality.tolist(), issues.tolist()


PREDICTION_CHUNK_ROWS = 100_000  # example predictions written per transaction


def _store(db: Database, stored, job_id: str | None) -> list[str]:
    """Store results: the per-example predictions first, in short transactions (no reader looks at them
    before their analysis_results row exists), then every result row in one short transaction. What a
    killed or failed store left is deleted by the next store of the same dataset."""
    ids = [f"{kind}-{uuid.uuid4().hex[:10]}" for kind, *_ in stored]
    datasets = sorted({dataset_id for _, dataset_id, *_ in stored})
    with db.transaction() as con:
        for dataset_id in datasets:
            con.execute(
                "DELETE FROM example_predictions WHERE dataset_id = ? AND analysis_id NOT IN "
                "(SELECT id FROM analysis_results WHERE dataset_id = ?)",
                [dataset_id, dataset_id],
            )
    try:
        for analysis_id, (_, dataset_id, *_, predictions) in zip(ids, stored, strict=True):
            if predictions is None:
                continue
            frame = predictions.assign(analysis_id=analysis_id, dataset_id=dataset_id)
            for start in range(0, len(frame), PREDICTION_CHUNK_ROWS):
                with db.transaction() as con:
                    con.register("incoming_predictions", frame.iloc[start : start + PREDICTION_CHUNK_ROWS])
                    con.execute(
                        "INSERT INTO example_predictions BY NAME "
                        "SELECT analysis_id, dataset_id, row_idx, predicted, score, probabilities, "
                        "confidence, label_quality, is_issue FROM incoming_predictions"
                    )
        with db.transaction() as con:
            for analysis_id, (kind, dataset_id, reference_id, signature, payload, _) in zip(ids, stored, strict=True):
                con.execute(
                    "INSERT INTO analysis_results (id, job_id, kind, dataset_id, reference_id, signature, result) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        analysis_id,
                        job_id,
                        kind,
                        dataset_id,
                        reference_id,
                        signature,
                        json.dumps(payload, ensure_ascii=False),
                    ],
                )
    except BaseException:
        try:
            with db.transaction() as con:
                con.execute(
                    f"DELETE FROM example_predictions WHERE analysis_id IN ({', '.join('?' for _ in ids)})", ids
                )
        except Exception:  # the store's own error matters more; the next store of these datasets cleans up
            log.exception("could not delete the predictions of a failed store")
        raise
    return ids


def latest_results(project: Project, dataset_ids: list[str], reference: str | None) -> dict[tuple[str, str], dict]:
    """The newest stored result per (kind, dataset) among the given datasets (overlap: against ``reference``)."""
    if not dataset_ids:
        return {}
    placeholders = ", ".join("?" for _ in dataset_ids)
    with project.db.transaction() as con:
        rows = con.execute(
            f"SELECT kind, dataset_id, reference_id, result, created_at FROM analysis_results "
            f"WHERE dataset_id IN ({placeholders}) ORDER BY created_at",
            dataset_ids,
        ).fetchall()
    latest: dict[tuple[str, str], dict] = {}
    for kind, dataset_id, reference_id, result, created_at in rows:
        if kind == "overlap" and reference_id != reference:
            continue
        latest[(kind, dataset_id)] = {**json.loads(result), "created_at": str(created_at), "reference": reference_id}
    return latest


def run_analysis_job(project: Project, config: dict[str, Any], job_id: str, report: Callable) -> dict[str, Any]:
    cfg = AnalysisConfig(**config)
    ids = run_analysis(project, cfg, job_id=job_id, report=report)
    return {"state": "succeeded", "message": f"{len(ids)} results stored", "analyses": ids}


def _fields_of(result: dict, key: str) -> dict[str, float | None]:
    """A stored result's value per field (results stored before per-field scoring: one field, "text")."""
    per_field = result.get("fields") or {result.get("field", "text"): result}
    return {name: (None if r.get(key) is None else round(float(r[key]), 6)) for name, r in per_field.items()}


def correctness_summary(corr: dict) -> dict[str, Any]:
    """The label-correctness figures of a stored result, as ``analyze --json`` and the pages show them."""
    out: dict[str, Any] = {"method": corr.get("method", "quick"), "method_name": corr.get("method_name", QUICK_METHOD),
                           "trained_on": corr.get("trained_on", corr.get("reference"))}  # fmt: skip
    if corr.get("metric") == "mse":
        out["mse"] = corr["overall"]
    else:
        out.update(accuracy=corr["overall"], balanced_accuracy=corr.get("balanced_accuracy"),
                   recall=corr.get("recall", corr.get("per_label", {})))  # fmt: skip
    out.update(
        out_of_sample=bool(corr.get("out_of_sample", False)), degenerate=bool(corr.get("degenerate", False)),
        n=corr.get("examples"), cross_validated=corr.get("cross_validated", 0), signature=corr.get("signature"),
    )  # fmt: skip
    if corr.get("excluded_seen_in_training"):
        out["excluded_seen_in_training"] = corr["excluded_seen_in_training"]
    return out


def summarize(db: Database, task: str, reference: str, analysis_ids: list[str]) -> dict[str, Any]:
    """One object for the results of one analysis job (``analyze --json``): per dataset its Self-BLEU
    (0-100) and weighted Jaccard per sentence field, and its label correctness."""
    if not analysis_ids:
        return {"task": task, "gold": reference, "datasets": []}
    marks = ", ".join("?" for _ in analysis_ids)
    with db.transaction() as con:
        rows = con.execute(
            f"SELECT id, kind, dataset_id, reference_id, result FROM analysis_results WHERE id IN ({marks})",
            analysis_ids,
        ).fetchall()
    rows = [r[1:] for r in sorted(rows, key=lambda r: analysis_ids.index(r[0]))]  # the job's order of datasets
    by_dataset: dict[str, dict[str, Any]] = {}
    for kind, dataset_id, reference_id, result in rows:
        entry = by_dataset.setdefault(dataset_id, {"id": dataset_id, "self_bleu": None, "jaccard": None,
                                                   "label_correctness": None, "signatures": {}})  # fmt: skip
        result = {**json.loads(result), "reference": reference_id}
        if kind == "self_bleu":
            entry["self_bleu"] = _fields_of(result, "self_bleu")
            entry["texts"] = {f: r.get("texts") for f, r in (result.get("fields") or {"text": result}).items()}
            entry["signatures"]["self_bleu"] = {f: r.get("signature") for f, r in (result.get("fields") or {}).items()}
        elif kind == "overlap":
            entry["jaccard"] = _fields_of(result, "weighted_jaccard")
            entry["signatures"]["jaccard"] = {f: r.get("signature") for f, r in (result.get("fields") or {}).items()}
        elif kind == "correctness":
            entry["label_correctness"] = correctness_summary(result)
    order = [reference, *[d for d in by_dataset if d != reference]]
    return {"task": task, "gold": reference, "datasets": [by_dataset[d] for d in order if d in by_dataset]}
