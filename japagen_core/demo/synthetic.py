"""Hand-written "synthetic" demo runs: datasets shaped like the output of a real generation run.

Files are ``data/synthetic_<task>.jsonl``, one example per line::

    {"setting": "kadg", "kadg_word": "動物", "label": "neutral", "text": "...", "text_b": "...",
     "raw": "(optional) the answer before cleaning", "x1_raw": "(optional, pairs)", "note": "(optional)"}

Each setting of a file becomes one dataset (a real run has one setting), with the rows, duplicate
marks, provenance and dataset meta that ``generation.run.ingest`` gives a run. Nothing was asked of a
model: the model is "demo (hand-written)", and there are no request ids, tokens or costs. ``note``
explains a deliberately wrong label (the failures the paper reports) for whoever reads the file; it is
not loaded, so the review queue has to find those rows on its own.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from japagen_core.datasets.importers import PreparedDataset
from japagen_core.errors import GoldImportError
from japagen_core.generation.clean import clean_text
from japagen_core.generation.prompts import PromptError, WordList, load_words
from japagen_core.settings import PROJECT_ROOT
from japagen_core.storage import repository as repo
from japagen_core.tasks import Registry, Task

PREFIX = "synthetic_"
MODEL = "demo (hand-written)"
SETTINGS = ("kadg", "zero-shot")  # the settings demo rows may claim (few-shot would need gold example ids)
# The KADG words come from the shipped lists, so provenance names those (version 0, the file).
SHIPPED_PROMPTS = PROJECT_ROOT / "prompts"
DEMO_NOTE = "hand-written for the demo project: no LLM was called, so there are no request ids, tokens or cost"
_KEYS = {"setting", "kadg_word", "label", "text", "text_b", "raw", "x1_raw", "note"}


def synthetic_files(demo_dir: Path, registry: Registry) -> dict[str, Path]:
    """Synthetic demo file per task name, for the tasks that have one."""
    files = {p.stem.removeprefix(PREFIX): p for p in sorted(demo_dir.glob(f"{PREFIX}*.jsonl"))}
    return {name: path for name, path in files.items() if name in registry}


def prepare_synthetic(task: Task, path: Path) -> list[PreparedDataset]:
    """Parse and check a synthetic demo file; one prepared dataset per setting, KADG first."""
    raw = path.read_bytes()
    rows = _read(task, path, raw)
    words = _shipped_words(task, path) if any(r["setting"] == "kadg" for r in rows) else None
    prepared = []
    for setting in SETTINGS:
        chosen = [r for r in rows if r["setting"] == setting]
        if chosen:
            digest = hashlib.sha256(raw + b"\x00" + setting.encode()).hexdigest()
            prepared.append(_dataset(task, path.name, setting, chosen, words, digest))
    return prepared


def _read(task: Task, path: Path, raw: bytes) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise GoldImportError(path.name, f"not JSON ({exc})", where=f"line {number}") from None
        problem = _problem(task, row)
        if problem:
            raise GoldImportError(path.name, problem, where=f"line {number}")
        rows.append(row)
    if not rows:
        raise GoldImportError(path.name, "no examples")
    return rows


def _problem(task: Task, row: dict[str, Any]) -> str | None:
    """What is wrong with one row of a synthetic demo file, or None."""
    unknown = sorted(set(row) - _KEYS)
    if unknown:
        return f"unknown field(s) {unknown}"
    if row.get("setting") not in SETTINGS:
        return f"setting {row.get('setting')!r} must be one of {SETTINGS}"
    if (row["setting"] == "kadg") != bool(row.get("kadg_word")):
        return "a kadg_word is required for kadg rows and only for them"
    if row.get("label") not in task.label_names:
        return f"label {row.get('label')!r} is not one of {task.label_names}"
    if not row.get("text") or bool(row.get("text_b")) != task.is_pair:
        return f"{task.name} needs text{' and text_b' if task.is_pair else ''}"
    # The invariant of a real run: the stored text is what cleaning makes of the raw answer.
    for text, answer in ((row.get("text_b") or row["text"], row.get("raw")), (row["text"], row.get("x1_raw"))):
        if answer is not None and clean_text(answer, task) != (text, None):
            return f"raw {answer!r} does not clean to {text!r}"
    return None


def _shipped_words(task: Task, path: Path) -> WordList:
    try:
        return load_words(SHIPPED_PROMPTS, task.name)
    except PromptError as exc:
        raise GoldImportError(path.name, f"its KADG rows need the shipped word list: {exc}") from None


def _dataset(task: Task, file: str, setting: str, rows: list[dict], words: WordList | None, digest: str):
    """One run's dataset, ordered and numbered as ``ingest`` orders a run: by label, then unit, then seq."""
    run_id = f"{task.name}-{setting}-demo-{digest[:10]}"
    order = {name: i for i, name in enumerate(task.label_names)}
    rows = sorted(_with_units(task, rows), key=lambda r: (order[r["label"]], r["unit_id"], r["seq"]))
    if words is not None:
        stray = sorted({r["kadg_word"] for r in rows if r.get("kadg_word")} - set(words.words))
        if stray:
            raise GoldImportError(file, f"KADG word(s) {stray} are not in {words.path}")
    first_of: dict[tuple, int] = {}
    duplicate_of = []
    for i, r in enumerate(rows):
        key = (r["text"], r.get("text_b"))
        duplicate_of.append(first_of.get(key))
        first_of.setdefault(key, i)
    examples = pd.DataFrame(
        {
            "row_idx": range(len(rows)),
            "text": [r["text"] for r in rows],
            "text_b": [r.get("text_b") for r in rows],
            "label": [r["label"] for r in rows],
            "score": [float(task.label(r["label"]).id) if task.target == "score" else None for r in rows],
            "split": "synthetic",
            "source": "demo",
            "source_id": None,  # a real run keeps the request id here; nothing was requested
            "provenance": [json.dumps(_provenance(task, run_id, r, words), ensure_ascii=False) for r in rows],
            "duplicate_of": pd.array(duplicate_of, dtype="Int64"),
        }
    )
    per_label = max(examples["label"].value_counts())
    summary = {
        "rows": len(examples),
        "duplicates": int(examples["duplicate_of"].notna().sum()),
        "failures": {},
        "prompt_tokens": None,
        "completion_tokens": None,
        "cost_usd": None,
    }
    run = {
        "mode": "generate", "task": task.name, "run_id": run_id, "llm": {"model": MODEL}, "setting": setting,
        "per_label": int(per_label), "seed": 0, "backend": "demo", "teacher": None,
    }  # fmt: skip
    info = repo.DatasetInfo(
        id=run_id,
        task=task.name,
        split="synthetic",
        kind="synthetic",
        name=f"Demo: {task.title} · {setting} · {MODEL} · {len(examples):,}",
        source="demo",
        source_format="jsonl",
        content_sha256=digest,
        is_demo=True,
        rows=len(examples),
        meta={"run": run, "summary": summary, "file": file, "demo": DEMO_NOTE},
    )
    return PreparedDataset(info, examples)


def _with_units(task: Task, rows: list[dict]) -> list[dict]:
    """The rows with their unit id and place in it: pairs share a unit per first sentence (one stage-1
    answer and its second sentences); single texts have one unit per label (a run's units hold up to 50
    examples of one label)."""
    firsts: dict[str, str] = {}
    seqs: dict[str, int] = {}
    out = []
    for r in rows:
        unit = firsts.setdefault(r["text"], f"p{len(firsts):06d}") if task.is_pair else f"{r['label']}-000000"
        seqs[unit] = seqs.get(unit, -1) + 1
        out.append({**r, "unit_id": unit, "seq": seqs[unit]})
    return out


def _provenance(task: Task, run_id: str, row: dict, words: WordList | None) -> dict:
    """The keys ``Runner._base_provenance`` and ``ingest`` record, with demo values where nothing ran."""
    kadg = row["setting"] == "kadg"
    prov = {
        "run_id": run_id,
        "task": task.name,
        "mode": "generate",
        "setting": row["setting"],
        "prompt_version": None,  # no prompt was sent
        "words_list": task.name if kadg else None,
        "words_list_version": 0 if kadg else None,  # 0: the shipped file
        "words_version": words.version if kadg and words else None,
        "kadg_word": row.get("kadg_word"),
        "fewshot_ids": [],
        "model": MODEL,
        "base_url": None,
        "params": {},
        "unit_id": row["unit_id"],
        "list_mode": False,
        "backend": "demo",
        "teacher": None,
        "demo": DEMO_NOTE,
    }
    if task.is_pair:
        prov["x1_raw"] = row.get("x1_raw") or row["text"]
        prov["x1_request_id"] = None
    prov["raw"] = row.get("raw") or (row.get("text_b") if task.is_pair else row["text"])
    return prov
