"""Snapshots: a dataset frozen with its review applied (relabels; flagged rows kept or left out),
written once as Parquet under ``JAPAGEN_HOME/snapshots`` and numbered. Training reads snapshots, and a
model records the snapshot id it was trained on, so it always knows which examples and labels it saw.

Exports (JSON Lines in the task's gold format, Parquet, CSV) are written from a snapshot; the JSON
Lines file re-imports through the gold importer unchanged.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import re
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from japagen_core import outputs
from japagen_core.errors import JapagenError
from japagen_core.project import Project
from japagen_core.storage import repository as repo
from japagen_core.tasks import Task

log = logging.getLogger(__name__)
FORMATS = ("jsonl", "parquet", "csv")  # one file each (the Review page's downloads)
# Formats that write several files: hf and argilla a folder (``out``), label-studio F.json + F.labeling.xml.
MULTI_FILE_FORMATS = ("hf", "label-studio", "argilla")
FOLDER_FORMATS = ("hf", "argilla")
EXPORT_FORMATS = FORMATS + MULTI_FILE_FORMATS
SNAPSHOT_COLUMNS = [
    "dataset_id",
    "row_idx",
    "text",
    "text_b",
    "label",
    "score",
    "split",
    "source_id",
    "flag",
    "relabeled",
    "note",
    "provenance",
]


class SnapshotError(JapagenError):
    """A snapshot that does not exist, was changed on disk, or cannot be written."""


@dataclass(frozen=True)
class Snapshot:
    id: int
    dataset_id: str
    task: str
    exclude_flagged: bool
    rows: int
    flagged_rows: int
    relabeled_rows: int
    events_through: int | None
    path: Path
    sha256: str
    created_by: str
    created_at: datetime

    @property
    def name(self) -> str:
        return f"snapshot {self.id} of {self.dataset_id}"


_COLUMNS = (
    "id, dataset_id, task, exclude_flagged, rows, flagged_rows, relabeled_rows, events_through, path, sha256, "
    "created_by, created_at"
)


def _snapshot(home: Path, row: tuple) -> Snapshot:
    values = list(row)
    values[8] = home / values[8]
    return Snapshot(*values)


def create_snapshot(
    project: Project, dataset_id: str, *, exclude_flagged: bool = False, created_by: str = "cli"
) -> Snapshot:
    """Freeze a dataset as it stands after review. The data is read in one transaction (a
    consistent view of examples and review state), written to Parquet outside it, then recorded."""
    project.require_writable(f"creating a snapshot of {dataset_id}")  # before the Parquet file is written
    with project.db.transaction() as con:
        info = repo.get_dataset(con, dataset_id)
        frame = con.execute(
            """
            SELECT e.dataset_id, e.row_idx, e.text, e.text_b,
                   CASE WHEN s.label IS NOT NULL THEN s.label WHEN s.score IS NOT NULL THEN NULL ELSE e.label END
                       AS label,
                   CASE WHEN s.label IS NOT NULL THEN NULL ELSE coalesce(s.score, e.score) END AS score,
                   e.split, e.source_id, s.flag,
                   (s.label IS NOT NULL OR s.score IS NOT NULL) AS relabeled, s.note, e.provenance
            FROM examples e LEFT JOIN review_state s USING (dataset_id, row_idx)
            WHERE e.dataset_id = ? ORDER BY e.row_idx
            """,
            [dataset_id],
        ).df()
        events_through = con.execute("SELECT max(id) FROM review_events WHERE dataset_id = ?", [dataset_id]).fetchall()[
            0
        ][0]
    flagged = int(frame["flag"].notna().sum())
    relabeled = int(frame["relabeled"].sum())
    if exclude_flagged:
        frame = frame[frame["flag"].isna()].reset_index(drop=True)
    frame["relabeled"] = frame["relabeled"].astype(bool)
    snapshots_dir = project.settings.home / "snapshots"
    snapshots_dir.mkdir(parents=True, exist_ok=True)
    _remove_orphan_temps(snapshots_dir)
    tmp = _write_temp(snapshots_dir, frame)
    sha = _sha256(tmp)
    try:
        with _RECORDING, project.db.transaction() as con:
            number = con.execute("SELECT coalesce(max(id), 0) + 1 FROM snapshots").fetchall()[0][0]
            final = snapshots_dir / f"snapshot-{number:05d}.parquet"
            if final.exists():  # left by a crash between the rename and the record
                _recover_unrecorded(final, sha)
            if not final.exists():
                os.replace(tmp, final)
                outputs.fsync_dir(snapshots_dir)
            con.execute(
                f"INSERT INTO snapshots ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    number, dataset_id, info.task, exclude_flagged, len(frame), flagged, relabeled,
                    events_through, str(final.relative_to(project.settings.home)), sha, created_by, datetime.now(),
                ],
            )  # fmt: skip
    finally:
        if tmp.exists():
            tmp.unlink()
    return get_snapshot(project, number)


# Threads of one process (sessions of the app) share its DuckDB lock: the number, rename and record of
# a snapshot happen one thread at a time, so no thread takes another's just-renamed file for a leftover.
_RECORDING = threading.Lock()
_TEMP_PREFIX = ".incoming-"


def _recover_unrecorded(final: Path, sha: str) -> None:
    """A snapshot file no record points to (the process died between its rename and its record).

    If it holds exactly the snapshot being made now, it is kept and recorded; otherwise it is moved
    aside (``<name>.unrecorded-<time>``, never deleted) and the new file takes its number."""
    if _sha256(final) == sha:
        log.info("%s was left by an interrupted snapshot with the same content: recording it", final.name)
        return
    aside = final.with_name(f"{final.name}.unrecorded-{datetime.now():%Y%m%d-%H%M%S-%f}")
    os.replace(final, aside)
    log.warning("%s was left unrecorded by an interrupted snapshot; moved it to %s", final.name, aside.name)


def _remove_orphan_temps(folder: Path) -> None:
    """Temporary files of snapshot writers that died before renaming them (their pid is gone)."""
    for tmp in folder.glob(f"{_TEMP_PREFIX}*.parquet"):
        pid = tmp.name.removeprefix(_TEMP_PREFIX).split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_temp(folder: Path, frame: pd.DataFrame) -> Path:
    """The snapshot's Parquet file under a temporary name, fsynced and read-only."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=f"{_TEMP_PREFIX}{os.getpid()}-", suffix=".parquet")
    os.close(fd)
    frame.reindex(columns=SNAPSHOT_COLUMNS).to_parquet(name, index=False)
    outputs.fsync_file(Path(name))
    Path(name).chmod(0o444)
    return Path(name)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def get_snapshot(project: Project, snapshot_id: int) -> Snapshot:
    with project.db.transaction() as con:
        rows = con.execute(f"SELECT {_COLUMNS} FROM snapshots WHERE id = ?", [int(snapshot_id)]).fetchall()
    if not rows:
        raise SnapshotError(f"no snapshot {snapshot_id} (list them on the Review page's Export tab)")
    return _snapshot(project.settings.home, rows[0])


def list_snapshots(project: Project, dataset_id: str | None = None) -> list[Snapshot]:
    with project.db.transaction() as con:
        rows = con.execute(
            f"SELECT {_COLUMNS} FROM snapshots WHERE ? IS NULL OR dataset_id = ? ORDER BY id DESC",
            [dataset_id, dataset_id],
        ).fetchall()
    return [_snapshot(project.settings.home, row) for row in rows]


def read_snapshot(project: Project, snapshot_id: int) -> pd.DataFrame:
    """The snapshot's rows; refuses a file that is missing or no longer matches its checksum."""
    snapshot = get_snapshot(project, snapshot_id)
    if not snapshot.path.exists():
        raise SnapshotError(f"snapshot {snapshot.id}: its file {snapshot.path} is missing")
    if _sha256(snapshot.path) != snapshot.sha256:
        raise SnapshotError(f"snapshot {snapshot.id}: {snapshot.path} was changed after it was written")
    return pd.read_parquet(snapshot.path)


# --- export -----------------------------------------------------------------------------------------


def gold_records(task: Task, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows in the task's own gold format (JGLUE field names, labels as upstream writes them)."""
    fields = task.gold_fields
    # Gold rows keep their upstream id; synthetic rows (whose source id is a request id, shared by the
    # choices of one call) get dataset:row, which is unique.
    ids = frame["source_id"]
    keep_ids = bool(ids.notna().all() and ids.is_unique)
    records = []
    for row in frame.itertuples(index=False):
        record: dict[str, Any] = {}
        if fields.id:
            record[fields.id] = row.source_id if keep_ids else f"{row.dataset_id}:{row.row_idx}"
        record[fields.text] = row.text
        if task.is_pair and fields.text_b:
            record[fields.text_b] = row.text_b
        if task.target == "score":
            if _present(row.score):
                record[fields.score] = float(row.score)
            elif row.label is not None:
                record[fields.score] = float(task.label(row.label).id)
            # else: an unlabelled row (imported to be annotated) has no score, as a class row has no label
        elif fields.label and row.label is not None:
            label = task.label(row.label)
            record[fields.label] = label.id if task.gold_label_as_id else label.name
        records.append(record)
    return records


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def check_export_target(project: Project, fmt: str, out: Path, *, force: bool = False) -> None:
    """Refuse an export target before anything is made: inside the data directory, or existing without
    ``force`` (a folder format's folder may exist when empty); label-studio also writes F.labeling.xml."""
    if fmt not in EXPORT_FORMATS:
        raise SnapshotError(f"unknown export format {fmt!r}; choose one of {list(EXPORT_FORMATS)}")
    out = Path(out)
    if fmt in FOLDER_FORMATS:
        outputs.check_output_folder(project.settings, out, force=force)
        return
    outputs.check_output_path(project.settings, out, force=force)
    if fmt == "label-studio":
        outputs.check_output_path(project.settings, out.with_name(f"{out.stem}.labeling.xml"), force=force)


def export_snapshot(project: Project, snapshot_id: int, fmt: str, out: Path, *, force: bool = False) -> Path:
    """Write a snapshot to ``out`` (a file path) as JSON Lines in gold format, Parquet or CSV; or, for
    ``hf`` / ``argilla``, a folder ``out`` and, for ``label-studio``, ``out`` with its labeling config.

    ``out`` must lie outside the data directory, and an existing file is replaced only with ``force``
    (``outputs.check_output_path``); every file is built before any is written, each written atomically."""
    check_export_target(project, fmt, out, force=force)
    out = Path(out)
    files = export_files(project, snapshot_id, fmt, out) if fmt in MULTI_FILE_FORMATS else None
    files = files or {out: export_bytes(project, snapshot_id, fmt)}
    for path in files:
        outputs.check_output_path(project.settings, path, force=force)
    for path, data in files.items():
        outputs.write_output(project.settings, path, data, force=force)
    if fmt == "hf":  # (with force, over an older export) a data file this one did not write is another split's
        for stale in sorted((out / "data").glob("*.parquet")):
            if stale not in files:
                stale.unlink()  # the Hub and load_dataset would read it as part of this dataset
    return out


def export_files(project: Project, snapshot_id: int, fmt: str, out: Path) -> dict[Path, bytes]:
    """The files of a multi-file export (path -> bytes), all built before any is written."""
    from japagen_core.review import annotation_tools, hub  # they build on this module

    snapshot = get_snapshot(project, snapshot_id)
    frame = read_snapshot(project, snapshot_id)
    if fmt == "hf":
        records = gold_records(project.registry[snapshot.task], frame)
        return {out / name: data for name, data in hub.hf_files(project, snapshot, frame, records).items()}
    if fmt == "label-studio":
        return annotation_tools.label_studio_files(project, snapshot, frame, out)
    if fmt == "argilla":
        return annotation_tools.argilla_files(project, snapshot, frame, out)
    raise SnapshotError(f"{fmt!r} is not a multi-file export format; choose one of {list(MULTI_FILE_FORMATS)}")


def export_zip(project: Project, snapshot_id: int, fmt: str) -> tuple[str, bytes]:
    """A multi-file export as one ZIP archive, for a download: (its file name, its bytes). Inside, one
    folder named after the snapshot holds the very files ``export_snapshot`` writes (the Hugging Face or
    Argilla folder; Label Studio's tasks.json beside tasks.labeling.xml)."""
    snapshot = get_snapshot(project, snapshot_id)
    name = re.sub(r"[^\w.-]+", "_", f"{snapshot.dataset_id}-snapshot-{snapshot_id}-{fmt}")
    root = Path(name)
    files = export_files(project, snapshot_id, fmt, root / "tasks.json" if fmt == "label-studio" else root)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(files.items()):
            archive.writestr(path.as_posix(), data)
    return f"{name}.zip", buffer.getvalue()


def export_bytes(project: Project, snapshot_id: int, fmt: str) -> bytes:
    snapshot = get_snapshot(project, snapshot_id)
    frame = read_snapshot(project, snapshot_id)
    if fmt == "jsonl":
        task = project.registry[snapshot.task]
        lines = (json.dumps(r, ensure_ascii=False) + "\n" for r in gold_records(task, frame))
        return "".join(lines).encode("utf-8")
    if fmt == "parquet":
        return snapshot.path.read_bytes()
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8")
    if fmt in MULTI_FILE_FORMATS:
        raise SnapshotError(f"{fmt!r} writes several files; use export_snapshot (or export_files)")
    raise SnapshotError(f"unknown export format {fmt!r}; choose one of {list(FORMATS)}")
