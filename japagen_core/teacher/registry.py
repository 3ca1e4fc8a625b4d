"""The ``teachers`` table (m009): every fine-tuned teacher, its data and its resulting model.

Short transactions only: the row is written when a tuning job is submitted and updated by the job.
A job that dies leaves its row "running"; ``service.list_teachers`` reads the job's own state for
such rows, so the list never shows a dead job as running.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from japagen_core.project import Project
from japagen_core.teacher.trainfile import TeacherError

BACKENDS = ("openai", "local")
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINAL = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class Teacher:
    id: str
    task: str
    backend: str
    purpose: str
    base_model: str
    base_url: str | None
    model: str | None  # fine-tuned model id, or the adapter folder relative to JAPAGEN_HOME
    status: str
    job_id: str | None
    remote_job_id: str | None
    training_file_sha: str
    data_spec: str
    snapshot_id: int | None
    examples: int
    message: str | None = None
    created_at: datetime = field(default_factory=datetime.now)
    updated_at: datetime = field(default_factory=datetime.now)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.status == "succeeded" and bool(self.model)

    def adapter_path(self, home: Path) -> Path | None:
        """The LoRA adapter folder of a local teacher."""
        return home / self.model if self.backend == "local" and self.model else None

    def title(self) -> str:
        """One line for pickers: what it is and what it was tuned on."""
        what = self.model if self.backend == "openai" and self.model else f"{Path(self.base_model).name} + LoRA"
        return f"{self.id} · {what} · {self.data_spec} · {self.backend}"


_COLUMNS = list(Teacher.__dataclass_fields__)


def insert_teacher(project: Project, teacher: Teacher) -> None:
    row = asdict(teacher)
    row["meta"] = json.dumps(row["meta"], ensure_ascii=False)
    with project.db.transaction() as con:
        con.execute(
            f"INSERT INTO teachers ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})",
            [row[c] for c in _COLUMNS],
        )


def update_teacher(project: Project, teacher_id: str, **changes: Any) -> Teacher:
    """Change some fields of a teacher (``meta`` is merged into the stored one); returns the new row."""
    unknown = sorted(set(changes) - set(_COLUMNS))
    if unknown:
        raise TeacherError(f"unknown teacher field(s) {unknown}")
    if "status" in changes and changes["status"] not in STATUSES:
        raise TeacherError(f"status {changes['status']!r} must be one of {list(STATUSES)}")
    with project.db.transaction() as con:
        current = _get(con, teacher_id)
        if "meta" in changes:
            changes["meta"] = {**current.meta, **changes["meta"]}
        new = replace(current, **changes, updated_at=datetime.now())
        row = asdict(new)
        row["meta"] = json.dumps(row["meta"], ensure_ascii=False)
        sets = [c for c in _COLUMNS if c != "id"]
        con.execute(
            f"UPDATE teachers SET {', '.join(f'{c} = ?' for c in sets)} WHERE id = ?",
            [row[c] for c in sets] + [teacher_id],
        )
    return new


def get_teacher(project: Project, teacher_id: str) -> Teacher:
    with project.db.transaction() as con:
        return _get(con, teacher_id)


def stored_teachers(project: Project, *, task: str | None = None) -> list[Teacher]:
    """Every teacher as stored, newest first (see ``service.list_teachers`` for the live status)."""
    with project.db.transaction() as con:
        rows = con.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM teachers WHERE ? IS NULL OR task = ? ORDER BY created_at DESC, id",
            [task, task],
        ).fetchall()
    return [_teacher(row) for row in rows]


def _get(con, teacher_id: str) -> Teacher:
    rows = con.execute(f"SELECT {', '.join(_COLUMNS)} FROM teachers WHERE id = ?", [teacher_id]).fetchall()
    if not rows:
        raise TeacherError(f"no teacher {teacher_id!r} (list them with: python -m japagen_core teachers)")
    return _teacher(rows[0])


def _teacher(row: tuple) -> Teacher:
    values = dict(zip(_COLUMNS, row, strict=True))
    meta = values["meta"]
    values["meta"] = json.loads(meta) if isinstance(meta, str) else (meta or {})
    return Teacher(**values)
