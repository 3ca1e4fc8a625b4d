"""Texts and labels from plain files (JSON Lines, CSV, TSV, Parquet) for the metrics CLI."""

from __future__ import annotations

from pathlib import Path

from japagen_core.datasets import readers
from japagen_core.datasets.importers import detect_format
from japagen_core.errors import GoldImportError


def load_texts(path: Path, *, text_field: str, label_field: str | None = None) -> tuple[list[str], list[str] | None]:
    """The ``text_field`` of every row (and ``label_field`` when given); a missing field names the row."""
    if not path.is_file():
        raise GoldImportError(str(path), "no such file")
    fmt = detect_format(path.name)
    data = path.read_bytes()
    if fmt == "jsonl":
        records = readers.read_jsonl(data, str(path))
    elif fmt == "parquet":
        records = readers.read_parquet(data, str(path))
    elif fmt in ("csv", "tsv"):
        records = readers.read_delimited(data, str(path), delimiter="\t" if fmt == "tsv" else ",")
    else:
        raise GoldImportError(str(path), f"metrics read JSON Lines, CSV, TSV or Parquet, not {fmt}")
    texts, labels = [], [] if label_field else None
    for record in records:
        for field in (text_field, label_field):
            if field and field not in record.fields:
                raise GoldImportError(
                    str(path), f"missing field {field!r} (fields: {sorted(record.fields)})", where=record.where
                )
        value = record.fields[text_field]
        texts.append("" if value is None else str(value))
        if labels is not None:
            label = record.fields[label_field]
            if isinstance(label, float) and label.is_integer():
                label = int(label)  # 1.0 and 1 are one class
            labels.append(str(label))
    return texts, labels
