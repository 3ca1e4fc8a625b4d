"""Gold-data import: read a file, validate every record against the task, write it all or nothing.

``prepare_gold`` parses and validates without touching the database; ``import_gold`` writes the
prepared datasets in one short transaction. A bad file raises ``GoldImportError`` naming the file, the
line and the problem, and the database is unchanged. Importing the same file (same task, split and
options) twice is a no-op: the dataset id derives from a hash of the bytes and the options.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from japagen_core.datasets import fastjsonl, readers
from japagen_core.errors import GoldImportError, UnknownLabelError
from japagen_core.settings import DEFAULT_MAX_TEXT_CHARS
from japagen_core.storage import Database, staging
from japagen_core.storage import repository as repo
from japagen_core.tasks import GoldFields, Task

FORMATS = ("jsonl", "csv", "tsv", "parquet", "livedoor")
LIVEDOOR_SPLITS = ("train", "dev", "test")
# The paper's Livedoor split: 4,375 / 625 / 1,475 articles.
PAPER_LIVEDOOR_SIZES = {"train": 4375, "dev": 625, "test": 1475}
# CoLA-style TSV files have no header; their columns are these.
COLA_TSV_COLUMNS = ["source", "label", "diacritic", "sentence"]
_SPLIT_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# (stage, done, total): "read" (rows read, about how many), "check" (rows checked, rows), "write" (0, rows).
ImportProgress = Callable[[str, int, int], None]
# The split a file name suggests, first match wins: "jnli-v1.3_valid-v1.3.json" is valid, "dev.tsv" too.
_SPLIT_HINTS = (
    ("valid", re.compile(r"(?:^|[^a-z])(?:valid|validation|val|dev)(?:[^a-z]|$|ation)")),
    ("test", re.compile(r"(?:^|[^a-z])test(?:[^a-z]|$)")),
    ("train", re.compile(r"(?:^|[^a-z])train(?:[^a-z]|$|ing)")),
)


@dataclass(frozen=True)
class ImportOptions:
    """How to read a gold file.

    format: one of FORMATS, or None to tell it from the file name.
    fields: field (column) names; None uses the task's native gold format (e.g. JGLUE names).
    livedoor_sizes: "ratio" (the paper's 4,375 : 625 : 1,475 proportions applied to all articles) or
        "paper" (exactly 4,375 / 625 / 1,475 articles, the rest unused); seed: the split's shuffle seed.
    max_text_chars: a text longer than this is refused (``Settings.max_text_chars``).
    """

    format: str | None = None
    fields: GoldFields | None = None
    livedoor_sizes: str = "ratio"
    seed: int = 42
    name: str | None = None
    unlabeled: bool = False  # texts without labels, for LLM annotation (a label column, if any, is ignored)
    # Raw label values read as another label (e.g. COVID-19's Gifu assessment id 66 as "opinion"):
    # pairs (raw value as text, label name). Values no label has are refused unless mapped here.
    label_map: tuple[tuple[str, str], ...] = ()
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS


def parse_label_map(task: Task, items: list[str]) -> tuple[tuple[str, str], ...]:
    """``["66=opinion", ...]`` -> pairs; a bad item names itself and the task's labels."""
    pairs = []
    for item in items:
        raw, sep, name = item.partition("=")
        if not sep or not raw.strip() or not name.strip():
            raise UnknownLabelError(f"--map-label {item!r} must be RAW=LABEL, e.g. 66=opinion")
        pairs.append((raw.strip(), task.resolve_label(name.strip()).name))
    return tuple(pairs)


def label_id_note(task: Task, options: ImportOptions) -> str | None:
    """How labels were read, when the task's ids are upstream ids (not 0, 1, ...) or a map was given."""
    ids = [label.id for label in task.labels]
    parts = []
    if ids != list(range(len(ids))):
        parts.append("label ids read as " + ", ".join(f"{label.id}={label.name}" for label in task.labels))
    if options.label_map:
        parts.append("mapped by --map-label: " + ", ".join(f"{raw}→{name}" for raw, name in options.label_map))
    elif parts:
        parts.append("other ids are refused (map one with --map-label ID=LABEL)")
    return "; ".join(parts) or None


@dataclass(frozen=True)
class PreparedDataset:
    info: repo.DatasetInfo
    examples: pd.DataFrame | pa.Table  # a JSON Lines file read in bulk gives an Arrow table


@dataclass(frozen=True)
class ImportResult:
    dataset_id: str
    split: str
    rows: int
    counts: dict[str, int]
    created: bool  # False: the same file was imported before; nothing was written


def detect_format(name: str, *, is_dir: bool = False) -> str:
    lower = name.lower()
    if is_dir or lower.endswith((".tar.gz", ".tgz")):
        return "livedoor"
    for suffixes, fmt in (
        ((".jsonl", ".json", ".ndjson"), "jsonl"),
        ((".csv",), "csv"),
        ((".tsv", ".txt"), "tsv"),
        ((".parquet", ".pq"), "parquet"),
    ):
        if lower.endswith(suffixes):
            return fmt
    raise GoldImportError(name, f"cannot tell the format from the file name; choose one of {list(FORMATS)}")


# The file names a gold file may have: what ``detect_format`` recognises, and nothing else.
GOLD_SUFFIXES = (".jsonl", ".json", ".ndjson", ".csv", ".tsv", ".txt", ".parquet", ".pq", ".tar.gz", ".tgz")


def guess_split(file_name: str) -> str | None:
    """The split a gold file's name suggests: valid for ``*_valid*`` / ``*dev*``, test for ``*test*``, train
    for ``*train*`` (as a word of the name: "contest.csv" suggests nothing); None when it names none."""
    name = Path(file_name).name.lower()
    return next((split for split, pattern in _SPLIT_HINTS if pattern.search(name)), None)


def checked_gold_path(path_text: str) -> Path:
    """A path typed by a user (the app's path field) made safe to read: a regular file whose name, and
    whose target if it is a link, ends in one of GOLD_SUFFIXES, or a folder (the extracted Livedoor
    corpus: only its ``text/<category>/<category>-<id>.txt`` articles are read). Anything else is refused
    before a byte of it is read, so the importer's messages never show another file's contents."""
    path = Path(path_text.strip()).expanduser()
    if not path.exists():
        raise GoldImportError(str(path), "no such file or folder")
    if path.is_dir():
        return path
    target = path.resolve()
    for name in (path.name, target.name):
        if not name.lower().endswith(GOLD_SUFFIXES):
            raise GoldImportError(
                str(path), f"not a gold data file: the name must end in one of {', '.join(GOLD_SUFFIXES)}"
            )
    if not target.is_file():
        raise GoldImportError(str(path), "not a regular file")
    return path


def prepare_gold(
    task: Task,
    split: str,
    *,
    path: Path | None = None,
    data: bytes | None = None,
    source_name: str | None = None,
    options: ImportOptions = ImportOptions(),
    is_demo: bool = False,
    progress: ImportProgress | None = None,
) -> list[PreparedDataset]:
    """Parse and validate a gold file (from ``path``, or uploaded ``data`` named ``source_name``).

    split "all" is allowed for the Livedoor corpus: it yields the train, dev and test datasets.
    progress: hears ("read", rows read, about how many) while the file is read, then ("check", rows
    checked, rows) while each row is validated: a long import can show how far it is.
    """
    if (path is None) == (data is None):
        raise ValueError("give exactly one of path and data")
    source = source_name or (str(path) if path is not None else "upload")
    if path is not None:
        if not path.exists():
            raise GoldImportError(source, "no such file or folder")
        if path.is_dir() and (options.format or "livedoor") != "livedoor":
            raise GoldImportError(source, "is a folder; only the Livedoor format reads folders")
    fmt = options.format or detect_format(source, is_dir=path is not None and path.is_dir())
    if fmt not in FORMATS:
        raise GoldImportError(source, f"unknown format {fmt!r}; choose one of {list(FORMATS)}")
    if not _SPLIT_RE.match(split):
        raise GoldImportError(source, f"split name {split!r} must be 1-32 letters, digits, '-' or '_'")
    if split == "all" and fmt != "livedoor":
        raise GoldImportError(source, "split 'all' is only for the Livedoor corpus; name one split")
    fields = options.fields or task.gold_fields
    if options.unlabeled:
        fields = dataclasses.replace(fields, label=None, score=None)
    _check_fields(task, fields, source, unlabeled=options.unlabeled)

    if fmt == "livedoor":
        raw = data if data is not None else (None if path.is_dir() else path.read_bytes())
        records = readers.read_livedoor(path if data is None else None, raw, source)
        if progress is not None:
            progress("read", len(records), len(records))
        fields = GoldFields(text="text", label="label", id="article_id")  # what the reader produces
        # The partition does not depend on which part is asked for: train alone = train of "all".
        digest = _digest(_livedoor_bytes(path, raw), task, "partition", fmt, fields, options)
    example_source = "demo" if is_demo else "gold"
    frame = None
    if fmt == "jsonl":  # in bulk when it surely is valid (datasets.fastjsonl), else record by record below
        hashed = _digest_start(task, split, fmt, fields, options)
        if fastjsonl.scan(path, data, hashed):
            frame = _read_jsonl_fast(task, path, data, fields, source, example_source, options, progress)
        digest = hashed.hexdigest()
        if frame is not None and progress is not None:  # read and checked in bulk, block by block
            progress("check", len(frame), len(frame))
    if frame is None:
        if fmt != "livedoor":
            raw = data if data is not None else path.read_bytes()
            records = _read(fmt, raw, source, fields, progress)
            digest = _digest(raw, task, split, fmt, fields, options)
        frame = _validate(
            task, records, fields, source, example_source=example_source, unlabeled=options.unlabeled,
            label_map=dict(options.label_map), max_text_chars=options.max_text_chars, progress=progress,
        )  # fmt: skip
    parts = _livedoor_split(frame, split, options, source) if fmt == "livedoor" else {split: frame}

    prepared = []
    file_name = Path(source).name
    for part_split, part in parts.items():
        part = _numbered(part, part_split)
        meta = {
            "format": fmt,
            "fields": dataclasses.asdict(fields),
            "file": file_name,
        }
        if fmt == "livedoor":
            meta.update({"livedoor_sizes": options.livedoor_sizes, "seed": options.seed, "articles": len(frame)})
        title = options.name or f"{task.title} {part_split} ({file_name})"
        info = repo.DatasetInfo(
            id=f"{task.name}-{part_split}-{digest[:10]}",
            task=task.name,
            split=part_split,
            kind="unlabeled" if options.unlabeled else "gold",
            name=f"Demo: {title}" if is_demo and not title.startswith("Demo") else title,
            source="demo" if is_demo else source,
            source_format=fmt,
            content_sha256=digest,
            is_demo=is_demo,
            rows=len(part),
            meta=meta,
        )
        prepared.append(PreparedDataset(info, part))
    return prepared


def write_prepared(db: Database, items: list[tuple[Task, PreparedDataset]]) -> list[ImportResult]:
    """Insert prepared datasets (already-imported ones are skipped) in short transactions, and make the
    new ones visible together at the end: all or nothing (storage.staging)."""
    db.require_writable("importing data")  # refused even when it would change nothing (already imported)
    created = staging.write_datasets(db, [(item.info, item.examples) for _, item in items])
    results = []
    with db.transaction() as con:
        for (task, item), new in zip(items, created, strict=True):
            counts = repo.label_counts(con, task, item.info.id)
            results.append(ImportResult(item.info.id, item.info.split, item.info.rows, counts, new))
    return results


def import_gold(db: Database, task: Task, split: str, **kwargs: Any) -> list[ImportResult]:
    """``prepare_gold`` then ``write_prepared``: all or nothing. A ``progress`` callback hears the reading
    and checking (see ``prepare_gold``), then ("write", 0, rows) before the rows are written."""
    prepared = prepare_gold(task, split, **kwargs)
    progress = kwargs.get("progress")
    if progress is not None:
        progress("write", 0, sum(item.info.rows for item in prepared))
    return write_prepared(db, [(task, item) for item in prepared])


# --- helpers ------------------------------------------------------------------------------------


def _numbered(part: pd.DataFrame | pa.Table, split: str) -> pd.DataFrame | pa.Table:
    """The examples with their row ids (0, 1, ...) and split."""
    if isinstance(part, pa.Table):
        rows = pa.array(np.arange(part.num_rows, dtype=np.int32))
        splits = pa.array([split], pa.string()).take(pa.array(np.zeros(part.num_rows, np.int32)))
        return part.append_column("row_idx", rows).append_column("split", splits)
    part = part.reset_index(drop=True)
    part["row_idx"] = range(len(part))
    part["split"] = split
    return part


def _read_jsonl_fast(
    task: Task, path: Path | None, data: bytes | None, fields: GoldFields, source: str, example_source: str,
    options: ImportOptions, progress: ImportProgress | None = None,
) -> pa.Table | None:  # fmt: skip
    """The examples of a JSON Lines file read in bulk, or None when the exact path must decide."""
    on_rows = None if progress is None else (lambda rows: progress("read", rows, rows))
    label_map = dict(options.label_map)
    labelled = not options.unlabeled
    return fastjsonl.read(
        path, data, text=fields.text, text_b=fields.text_b if task.is_pair else None,
        label=fields.label if labelled and task.target == "class" else None,
        score=fields.score if labelled and task.target == "score" else None, id_field=fields.id,
        resolve_label=lambda value: _label_name(task, value, label_map), check_score=task.check_score,
        file_name=Path(source).name, example_source=example_source, max_text_chars=options.max_text_chars,
        on_rows=on_rows,
    )  # fmt: skip


def _label_name(task: Task, value: Any, label_map: dict[str, str]) -> str:
    """The label name of a raw label value (``--map-label`` first); raises UnknownLabelError."""
    key = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip()
    if key in label_map:
        return label_map[key]
    _refuse_decimal_label(task, value)
    return task.resolve_label(value).name


def _check_fields(task: Task, fields: GoldFields, source: str, *, unlabeled: bool) -> None:
    if not fields.text:
        raise GoldImportError(source, "the text field name is empty")
    if task.is_pair and not fields.text_b:
        raise GoldImportError(source, f"task {task.name!r} is a pair task: name the second text field")
    if not task.is_pair and fields.text_b:
        raise GoldImportError(source, f"task {task.name!r} has one text: do not name a second text field")
    if unlabeled:
        return
    if task.target == "score" and not fields.score:
        raise GoldImportError(source, f"task {task.name!r} needs a score field")
    if task.target == "class" and not fields.label:
        raise GoldImportError(source, f"task {task.name!r} needs a label field")


def _read(
    fmt: str, raw: bytes, source: str, fields: GoldFields, progress: ImportProgress | None = None
) -> list[readers.RawRecord]:
    rows_read = None if progress is None else (lambda done, total: progress("read", done, total))
    if fmt == "jsonl":
        return readers.read_jsonl(raw, source, progress=rows_read)
    if fmt == "parquet":
        records = readers.read_parquet(raw, source)
        if rows_read is not None:
            rows_read(len(records), len(records))
        return records
    delimiter = "\t" if fmt == "tsv" else ","
    wanted = {fields.text, fields.label}

    def headerless(first: list[str]) -> list[str] | None:  # CoLA-style TSV has no header row
        if fmt == "tsv" and len(first) == len(COLA_TSV_COLUMNS) and not wanted & {c.strip() for c in first}:
            return COLA_TSV_COLUMNS
        return None

    return readers.read_delimited(raw, source, delimiter=delimiter, headerless=headerless, progress=rows_read)


def _validate(
    task: Task,
    records: list[readers.RawRecord],
    fields: GoldFields,
    source: str,
    *,
    example_source: str,
    unlabeled: bool = False,
    label_map: dict[str, str] | None = None,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
    progress: ImportProgress | None = None,
) -> pd.DataFrame:
    if not records:
        raise GoldImportError(source, "the file has no rows")
    mapped = {name for name in dataclasses.astuple(fields) if name}
    file_name = Path(source).name
    rows, problems = [], []
    for checked, record in enumerate(records):
        if progress is not None and checked % readers.PROGRESS_EVERY == 0:
            progress("check", checked, len(records))
        try:
            rows.append(
                _example(
                    task, record, fields, mapped, file_name, example_source, unlabeled, label_map or {}, max_text_chars
                )
            )
        except _RecordProblem as exc:
            problems.append((record.where, str(exc)))
    if progress is not None:
        progress("check", len(records), len(records))
    if problems:
        where, problem = problems[0]
        if len(problems) > 1:
            problem += f" (and {len(problems) - 1} more problem(s) further on)"
        raise GoldImportError(source, problem, where=where)
    return pd.DataFrame(rows, columns=["text", "text_b", "label", "score", "source", "source_id", "provenance"])


class _RecordProblem(Exception):
    pass


def _text(record: readers.RawRecord, name: str, max_chars: int) -> str:
    if name not in record.fields:
        raise _RecordProblem(f"missing field {name!r} (fields here: {sorted(record.fields)})")
    value = record.fields[name]
    if not isinstance(value, str):
        raise _RecordProblem(f"field {name!r} must be text, found {type(value).__name__} {value!r}")
    if not value.strip():
        raise _RecordProblem(f"field {name!r} is empty")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _RecordProblem(f"field {name!r} holds an invalid character (a lone surrogate)") from None
    if "\x00" in value:
        raise _RecordProblem(f"field {name!r} holds a NUL character (at character {value.index(chr(0)) + 1})")
    if len(value) > max_chars:
        raise _RecordProblem(
            f"field {name!r} is {len(value):,} characters long; the longest text accepted is {max_chars:,} "
            "(set JAPAGEN_MAX_TEXT_CHARS to change it)"
        )
    return value


def _example(
    task: Task,
    record: readers.RawRecord,
    fields: GoldFields,
    mapped: set[str],
    file_name: str,
    example_source: str,
    unlabeled: bool,
    label_map: dict[str, str],
    max_text_chars: int,
) -> list[Any]:
    text = _text(record, fields.text, max_text_chars)
    text_b = _text(record, fields.text_b, max_text_chars) if task.is_pair else None
    label, score = None, None
    try:
        if unlabeled:
            pass
        elif task.target == "score":
            if fields.score not in record.fields:
                raise _RecordProblem(f"missing field {fields.score!r} (fields here: {sorted(record.fields)})")
            score = task.check_score(record.fields[fields.score])
        else:
            if fields.label not in record.fields:
                raise _RecordProblem(f"missing field {fields.label!r} (fields here: {sorted(record.fields)})")
            label = _label_name(task, record.fields[fields.label], label_map)
    except UnknownLabelError as exc:
        raise _RecordProblem(str(exc)) from None
    source_id = record.fields.get(fields.id) if fields.id else None
    if isinstance(source_id, float) and source_id.is_integer():
        source_id = int(source_id)
    extra = {key: value for key, value in record.fields.items() if key not in mapped}
    provenance = {"file": file_name, "where": record.where}
    if extra:
        provenance["extra"] = extra
    return [
        text,
        text_b,
        label,
        score,
        example_source,
        None if source_id is None else str(source_id),
        json.dumps(provenance, ensure_ascii=False, default=str),
    ]


_DECIMAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?")


def _refuse_decimal_label(task: Task, value: Any) -> None:
    """A class label written as a decimal number (0.0, "2.0") is a score, not a class id: a JSTS file whose
    scores happen to be whole numbers would otherwise import into JNLI as label ids. Refused, naming it."""
    if isinstance(value, float) or (isinstance(value, str) and _DECIMAL.fullmatch(value.strip())):
        ids = ", ".join(f"{label.id}={label.name}" for label in task.labels)
        raise _RecordProblem(
            f"label {value!r} is a decimal number, but task {task.name!r} takes label names or whole-number ids "
            f"({ids}); a file of scores (like JSTS) belongs to a score task"
        )


def _digest(raw: bytes, task: Task, split: str, fmt: str, fields: GoldFields, options: ImportOptions) -> str:
    digest = _digest_start(task, split, fmt, fields, options)
    digest.update(raw)
    return digest.hexdigest()


def _digest_start(task: Task, split: str, fmt: str, fields: GoldFields, options: ImportOptions):
    """The dataset id's hash with the import's settings in; the file's bytes follow."""
    settings = {"task": task.name, "split": split, "format": fmt, "fields": dataclasses.asdict(fields)}
    if options.unlabeled:
        settings["unlabeled"] = True
    if options.label_map:
        settings["label_map"] = [list(pair) for pair in options.label_map]
    if fmt == "livedoor":
        settings.update({"livedoor_sizes": options.livedoor_sizes, "seed": options.seed})
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode())


def _livedoor_bytes(path: Path | None, raw: bytes | None) -> bytes:
    if raw is not None:
        return raw
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*.txt")):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.digest()


def _livedoor_split(frame: pd.DataFrame, split: str, options: ImportOptions, source: str) -> dict[str, pd.DataFrame]:
    if split not in (*LIVEDOOR_SPLITS, "all"):
        raise GoldImportError(
            source, f"split {split!r}: the Livedoor corpus splits into {list(LIVEDOOR_SPLITS)} or 'all'"
        )
    n = len(frame)
    if options.livedoor_sizes == "paper":
        needed = sum(PAPER_LIVEDOOR_SIZES.values())
        if n < needed:
            raise GoldImportError(source, f"the paper's split needs {needed} articles; this corpus has {n}")
        sizes = dict(PAPER_LIVEDOOR_SIZES)
    elif options.livedoor_sizes == "ratio":
        total = sum(PAPER_LIVEDOOR_SIZES.values())
        dev = round(n * PAPER_LIVEDOOR_SIZES["dev"] / total)
        test = round(n * PAPER_LIVEDOOR_SIZES["test"] / total)
        sizes = {"train": n - dev - test, "dev": dev, "test": test}
        if min(sizes.values()) == 0:
            raise GoldImportError(source, f"{n} articles are too few for a train/dev/test split")
    else:
        raise GoldImportError(source, f"livedoor sizes {options.livedoor_sizes!r} must be 'ratio' or 'paper'")
    # Shuffle in a fixed order (by article id) so the split depends on the seed only.
    order = sorted(range(n), key=lambda i: frame["source_id"].iat[i])
    random.Random(options.seed).shuffle(order)
    parts, start = {}, 0
    for name in LIVEDOOR_SPLITS:
        parts[name] = frame.iloc[order[start : start + sizes[name]]]
        start += sizes[name]
    return parts if split == "all" else {split: parts[split]}
