"""Models (fine-tuned or LLM prompting runs), their evaluations and per-example predictions in DuckDB.

Each write is one short transaction that first removes what it replaces, so storing the same model
again (a resumed job re-ingesting a finished model folder) changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from japagen_core.training.config import TrainingError

if TYPE_CHECKING:  # a training worker imports this module (model_card) and never opens the store
    from japagen_core.project import Project

PREDICTION_COLUMNS = ["row_idx", "predicted", "score", "probabilities", "raw"]


@dataclass(frozen=True)
class ModelRecord:
    """One trained model (or one prompting run) and seed, as stored in the ``models`` table."""

    id: str
    run_id: str
    job_id: str | None
    kind: str  # finetune, prompting
    task: str
    method: str
    setting: str
    data_spec: str
    train_snapshots: list[int]
    train_examples: int | None
    per_class: int | None
    eval_dataset_id: str
    eval_snapshot_id: int | None
    base_model: str
    seed: int
    config: dict[str, Any]
    path: str | None
    metric: str
    score: float | None
    metrics: dict[str, Any]
    created_at: datetime = field(default_factory=datetime.now)


_MODEL_COLUMNS = [f for f in ModelRecord.__dataclass_fields__]


def save_model(project: Project, record: ModelRecord, predictions: pd.DataFrame) -> None:
    """Store a model, its evaluation on its eval split and the per-example predictions (replacing them)."""
    row = asdict(record)
    row["config"] = json.dumps(row["config"], ensure_ascii=False)
    row["metrics"] = json.dumps(row["metrics"], ensure_ascii=False)
    with project.db.transaction() as con:
        con.execute("DELETE FROM models WHERE id = ?", [record.id])
        placeholders = ", ".join("?" for _ in _MODEL_COLUMNS)
        con.execute(
            f"INSERT INTO models ({', '.join(_MODEL_COLUMNS)}) VALUES ({placeholders})",
            [row[c] for c in _MODEL_COLUMNS],
        )
        _replace_evaluation(con, record.id, record.eval_dataset_id, record.eval_snapshot_id, record.metrics,
                            predictions)  # fmt: skip


def save_evaluation(
    project: Project, model_id: str, dataset_id: str, snapshot_id: int | None, metrics: dict, predictions: pd.DataFrame
) -> None:
    """Store an evaluation of a stored model on a (further) split."""
    with project.db.transaction() as con:
        if not con.execute("SELECT count(*) FROM models WHERE id = ?", [model_id]).fetchall()[0][0]:
            raise TrainingError(f"no model {model_id!r} (list them with: python -m japagen_core results --runs)")
        _replace_evaluation(con, model_id, dataset_id, snapshot_id, metrics, predictions)


def _replace_evaluation(con, model_id, dataset_id, snapshot_id, metrics, predictions: pd.DataFrame) -> None:
    con.execute("DELETE FROM evaluations WHERE model_id = ? AND dataset_id = ?", [model_id, dataset_id])
    con.execute("DELETE FROM evaluation_predictions WHERE model_id = ? AND dataset_id = ?", [model_id, dataset_id])
    con.execute(
        "INSERT INTO evaluations VALUES (?, ?, ?, ?, ?)",
        [model_id, dataset_id, snapshot_id, json.dumps(metrics, ensure_ascii=False), datetime.now()],
    )
    frame = predictions.reindex(columns=PREDICTION_COLUMNS).assign(model_id=model_id, dataset_id=dataset_id)
    frame["predicted"] = frame["predicted"].astype(object)
    frame["score"] = frame["score"].astype("float64")
    frame["probabilities"] = frame["probabilities"].astype(object)
    frame["raw"] = frame["raw"].astype(object)
    con.register("incoming_predictions", frame)
    try:
        con.execute(
            "INSERT INTO evaluation_predictions BY NAME SELECT model_id, dataset_id, row_idx, predicted, score, "
            "probabilities, raw FROM incoming_predictions"
        )
    finally:
        con.unregister("incoming_predictions")


def _record(row: tuple, columns: list[str]) -> dict[str, Any]:
    values = dict(zip(columns, row, strict=True))
    for key in ("config", "metrics"):
        values[key] = json.loads(values[key]) if values[key] else {}
    values["train_snapshots"] = list(values["train_snapshots"] or [])
    return values


def list_models(project: Project, *, task: str | None = None, run_id: str | None = None) -> list[dict[str, Any]]:
    """Stored models (and prompting runs) as dicts, oldest first."""
    with project.db.transaction() as con:
        rows = con.execute(
            f"SELECT {', '.join(_MODEL_COLUMNS)} FROM models WHERE (? IS NULL OR task = ?) "
            "AND (? IS NULL OR run_id = ?) ORDER BY created_at, id",
            [task, task, run_id, run_id],
        ).fetchall()
    return [_record(r, _MODEL_COLUMNS) for r in rows]


def get_model(project: Project, model_id: str) -> dict[str, Any]:
    with project.db.transaction() as con:
        rows = con.execute(f"SELECT {', '.join(_MODEL_COLUMNS)} FROM models WHERE id = ?", [model_id]).fetchall()
    if not rows:
        raise TrainingError(f"no model {model_id!r} (list them with: python -m japagen_core results --runs)")
    return _record(rows[0], _MODEL_COLUMNS)


def model_done(project: Project, model_id: str) -> bool:
    with project.db.transaction() as con:
        return bool(con.execute("SELECT count(*) FROM models WHERE id = ?", [model_id]).fetchall()[0][0])


def evaluations(project: Project, model_id: str) -> list[dict[str, Any]]:
    """Every stored evaluation of a model: dataset, snapshot, metrics, time."""
    with project.db.transaction() as con:
        rows = con.execute(
            "SELECT dataset_id, snapshot_id, metrics, created_at FROM evaluations WHERE model_id = ? "
            "ORDER BY created_at",
            [model_id],
        ).fetchall()
    return [{"dataset_id": d, "snapshot_id": s, "metrics": json.loads(m), "created_at": t} for d, s, m, t in rows]


def evaluation_predictions(project: Project, model_id: str, dataset_id: str) -> pd.DataFrame:
    """A model's prediction for each example of a gold split it was evaluated on.

    Columns: row_idx, predicted (label name, or None), score (score tasks), probabilities (JSON list in
    the task's label order, or None), raw (a prompting run's answer), ordered by row_idx.
    """
    with project.db.transaction() as con:
        return con.execute(
            "SELECT row_idx, predicted, score, probabilities, raw FROM evaluation_predictions "
            "WHERE model_id = ? AND dataset_id = ? ORDER BY row_idx",
            [model_id, dataset_id],
        ).df()
