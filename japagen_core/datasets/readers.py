"""Readers for gold files: bytes in, records (a place in the file + a dict of fields) out.

Readers know formats, not tasks. They decode strictly (UTF-8, optional BOM) and report every problem as
a ``GoldImportError`` that names the file, the line (or row, or archive member) and what is wrong.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from japagen_core.errors import GoldImportError

_BOM = b"\xef\xbb\xbf"


# A reader reports its progress as (rows read so far, about how many there are) every this many rows.
PROGRESS_EVERY = 2000
Progress = Callable[[int, int], None]


def _report(progress: Progress | None, done: int, total: int, *, last: bool = False) -> None:
    if progress is not None and (last or done % PROGRESS_EVERY == 0):
        progress(done, max(total, done))


@dataclass(frozen=True)
class RawRecord:
    where: str  # "line 12", "row 3", "item 4" or an archive member path
    fields: dict[str, Any]


def decode_text(data: bytes, source: str, *, where_prefix: str = "") -> str:
    """Strict UTF-8 (a BOM is dropped); a bad byte or a NUL is reported with its line number."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise GoldImportError(source, "this file is UTF-16 (Excel's 'Unicode text'): save it as UTF-8")
    nul = data.find(b"\x00")
    if 0 <= nul < 8192 and (data.startswith(b"PAR1") or _undecodable(data[:8192])):
        hint = " (it looks like Parquet: choose the parquet format)" if data.startswith(b"PAR1") else ""
        raise GoldImportError(source, f"this is a binary file, not text{hint}", where=where_prefix or None)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(data, exc, source, where_prefix) from None
    if nul >= 0:  # text otherwise: name the line (MeCab and C strings stop at a NUL)
        line = data.count(b"\n", 0, nul) + 1
        raise GoldImportError(
            source, "holds a NUL character (a text file has none)", where=f"{where_prefix}line {line}"
        )
    return text


def _undecodable(head: bytes) -> bool:
    """Whether the first bytes are not UTF-8 (a character cut at the end of ``head`` does not count)."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 3
    return False


def _not_utf8(data: bytes, exc: UnicodeDecodeError, source: str, where_prefix: str) -> GoldImportError:
    """Say what the bad bytes most likely are: one UTF-8 character cut short (the file was truncated,
    or cut mid-character) when the rest decodes, else another encoding (Shift_JIS is the usual one)."""
    line = data.count(b"\n", 0, exc.start) + 1
    where = f"{where_prefix}line {line}"
    if exc.reason == "unexpected end of data":
        return GoldImportError(
            source,
            f"the file ends in the middle of a UTF-8 character (byte offset {exc.start}): it was probably cut off",
            where=where,
        )
    cut_short = 0xC2 <= data[exc.start] <= 0xF4 and exc.reason == "invalid continuation byte"
    if cut_short:
        try:
            data[exc.end :].decode("utf-8")
        except UnicodeDecodeError:
            cut_short = False
    if cut_short:
        return GoldImportError(
            source,
            f"a UTF-8 character is cut short at byte offset {exc.start} (the rest of the file is valid UTF-8): "
            "the text was probably cut mid-character",
            where=where,
        )
    return GoldImportError(
        source,
        f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at byte offset {exc.start}); save the file as UTF-8 "
        "(Japanese files are often Shift_JIS/CP932)",
        where=where,
    )


def read_jsonl(data: bytes, source: str, *, progress: Progress | None = None) -> list[RawRecord]:
    """JSON Lines: one object per line; blank lines are skipped. A JSON array of objects is accepted too.
    ``progress`` hears (rows read, lines in the file) as reading goes on."""
    text = decode_text(data, source)
    if text.lstrip().startswith("["):
        records = _read_json_array(text, source)
        _report(progress, len(records), len(records), last=True)
        return records
    lines = text.split("\n")
    records = []
    for number, line in enumerate(lines, start=1):
        _report(progress, len(records), len(lines))
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            # The file does not end with a newline after this line, and the JSON stops mid-value.
            truncated = number == len(lines) and not line.rstrip().endswith("}")
            problem = (
                "truncated last line (incomplete JSON: the file may have been cut off)"
                if truncated
                else f"not valid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})"  # some msgs end in " at"
            )
            raise GoldImportError(source, problem, where=f"line {number}") from None
        except RecursionError:
            raise GoldImportError(source, _TOO_DEEP, where=f"line {number}") from None
        if not isinstance(value, dict):
            raise GoldImportError(
                source, f"expected a JSON object, found {type(value).__name__}", where=f"line {number}"
            )
        records.append(RawRecord(f"line {number}", value))
    _report(progress, len(records), len(records), last=True)
    return records


_TOO_DEEP = "JSON nested too deeply to read (arrays or objects inside each other hundreds of levels deep)"


def _read_json_array(text: str, source: str) -> list[RawRecord]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GoldImportError(source, f"not valid JSON ({exc.msg})", where=f"line {exc.lineno}") from None
    except RecursionError:
        raise GoldImportError(source, _TOO_DEEP) from None
    records = []
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise GoldImportError(
                source, f"expected a JSON object, found {type(item).__name__}", where=f"item {number}"
            )
        records.append(RawRecord(f"item {number}", item))
    return records


def read_delimited(
    data: bytes,
    source: str,
    *,
    delimiter: str,
    headerless: Callable[[list[str]], list[str] | None] | None = None,
    progress: Progress | None = None,
) -> list[RawRecord]:
    """CSV/TSV with a header row.

    headerless: given the first row, the column names to use when it is data rather than a header
    (CoLA-style TSV has none: source, label, diacritic, sentence), or None.
    progress: hears (rows read, about how many: the file's line count) as reading goes on.
    """
    text = decode_text(data, source)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    line_end = 0
    lines = text.count("\n") + 1  # a quoted newline makes this an overestimate; the last report is exact
    try:
        for row in reader:
            _report(progress, len(rows), lines)
            start, line_end = line_end + 1, reader.line_num  # a quoted newline spans several lines
            if any(cell.strip() for cell in row):
                rows.append((start, row))
    except csv.Error as exc:
        raise GoldImportError(
            source, f"malformed {_kind(delimiter)} ({exc})", where=f"line {reader.line_num}"
        ) from None
    if not rows:
        raise GoldImportError(source, "the file has no rows")
    first_line, header = rows[0]
    names = headerless(header) if headerless else None
    if names is not None:
        header = names
    else:
        rows = rows[1:]
        header = [name.strip() for name in header]
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise GoldImportError(source, f"duplicate column name(s) {dupes} in the header", where=f"line {first_line}")
    ends_with_newline = text.endswith("\n")
    records = []
    for position, (line, row) in enumerate(rows):
        if len(row) != len(header):
            truncated = position == len(rows) - 1 and not ends_with_newline and len(row) < len(header)
            problem = f"expected {len(header)} columns, found {len(row)}"
            if truncated:
                problem = f"truncated last line ({problem}: the file may have been cut off)"
            raise GoldImportError(source, problem, where=f"line {line}")
        records.append(RawRecord(f"line {line}", dict(zip(header, row, strict=True))))
    _report(progress, len(records), len(records), last=True)
    return records


def _kind(delimiter: str) -> str:
    return "TSV" if delimiter == "\t" else "CSV"


def read_parquet(data: bytes, source: str) -> list[RawRecord]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        raise GoldImportError(source, f"not a readable Parquet file ({exc})") from None
    return [RawRecord(f"row {number}", row) for number, row in enumerate(table.to_pylist(), start=1)]


# --- Livedoor News corpus -------------------------------------------------------------------------

_ARTICLE_RE = re.compile(r"(?:^|/)([a-z][a-z-]*)/\1-(\d+)\.txt$")


def read_livedoor(path: Path | None, data: bytes | None, source: str) -> list[RawRecord]:
    """The Livedoor corpus as ``ldcc-*.tar.gz`` (path or bytes) or its extracted folder.

    Articles are ``text/<category>/<category>-<id>.txt``: line 1 URL, line 2 date, line 3 title, then
    the body. Other files (LICENSE.txt, README.txt, CHANGES.txt) are skipped. The record's text is the
    title and the body.
    """
    records = [_article(member, raw, source) for member, raw in _livedoor_members(path, data, source)]
    if not records:
        raise GoldImportError(source, "no Livedoor articles found (expected text/<category>/<category>-<id>.txt)")
    return records


def _livedoor_members(path: Path | None, data: bytes | None, source: str) -> Iterator[tuple[str, bytes]]:
    if path is not None and path.is_dir():
        for file in sorted(path.rglob("*.txt")):
            member = file.relative_to(path).as_posix()
            if _ARTICLE_RE.search(member):
                yield member, file.read_bytes()
        return
    try:
        with tarfile.open(
            fileobj=io.BytesIO(data) if data is not None else None, name=path if data is None else None
        ) as archive:
            for member in sorted(archive.getmembers(), key=lambda m: m.name):
                if member.isfile() and _ARTICLE_RE.search(member.name):
                    yield member.name, archive.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise GoldImportError(source, f"not a readable .tar.gz archive, or a damaged one ({exc})") from None


def _article(member: str, raw: bytes, source: str) -> RawRecord:
    category, article_id = _ARTICLE_RE.search(member).groups()
    text = decode_text(raw, source, where_prefix=f"{member} ")
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) < 3:
        raise GoldImportError(source, "an article needs a URL, a date and a title line", where=member)
    url, date, title = (line.strip() for line in lines[:3])
    body = "\n".join(line.strip() for line in lines[3:] if line.strip())
    fields = {
        "text": f"{title}\n{body}".strip(),
        "label": category,
        "article_id": f"{category}-{article_id}",
        "url": url,
        "date": date,
    }
    return RawRecord(member, fields)
