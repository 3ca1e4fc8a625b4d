"""A finished run's parts become a synthetic dataset (examples) plus its failure rows, in one short
transaction (idempotent: a second ingest of the same parts replaces the first).

The parts are read with DuckDB's ``read_parquet`` over the folder; the label order, then the first pass
before the top-ups, then unit id and place in the unit decide which examples are kept: exactly
``per_label`` per label, the rest recorded as surplus.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from japagen_core.errors import JapagenError
from japagen_core.generation.journal import USAGE_FILE, read_journal
from japagen_core.generation.llm import LLMConfig, cost_usd
from japagen_core.generation.plan import RunConfig
from japagen_core.project import Project
from japagen_core.storage import repository as repo
from japagen_core.storage import staging
from japagen_core.tasks import Task


def usage_totals(parts_dir: Path) -> tuple[int, int]:
    """(prompt, completion) tokens of every answered call of a run, across attempts."""
    totals, _ = read_journal(parts_dir / USAGE_FILE)
    return totals.prompt_tokens, totals.completion_tokens


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
