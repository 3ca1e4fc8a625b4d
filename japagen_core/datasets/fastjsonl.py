"""JSON Lines gold files read in bulk: Arrow's JSON reader and vectorised checks instead of a Python
dict per line.

A million JGLUE pairs went through ``json.loads`` per line, one ``_example`` call per record, one
``json.dumps`` of its provenance and a pandas frame of Python strings: ~2 minutes and 2.5 GB. Here the
file is hashed and checked in one streamed pass (strict UTF-8, no NUL byte, no blank line, no escaped
surrogate), parsed by ``pyarrow.json`` into columns, validated column-wise (types, nulls, empty and
over-long texts, labels and scores resolved once per distinct value), and the examples, provenance
included, are built by one DuckDB query into an Arrow table that staging writes as it is.

This path only ever *accepts*. Anything it is not certain about (a parse error, a blank line, a text
that is not a string, a label it cannot resolve, a null among the extra fields, a file that is a JSON
array ...) makes ``read`` return None, and the importer reads the file the exact way (``readers`` +
``importers._validate``), which names the file, the line and the problem. So every error message, and
every decision on a malformed row, is the slow path's; valid files just get through faster.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

READ_CHUNK = 8 << 20
BLOCK_BYTES = 16 << 20  # of the file parsed at a time: memory holds the examples plus one block
# A blank (or whitespace-only) line shifts line numbers against Arrow's rows; an escaped surrogate may
# be decoded differently from json.loads. Either sends the file to the exact path.
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")  # (one starting with a literal: ~50x faster than ^|\n)
_BLANK_FIRST_LINE = re.compile(rb"[ \t\r]*\n")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]", re.ASCII)
# Two objects on one line, or lines ended by a bare CR: Arrow reads them as rows, json.loads per line
# refuses them ("Extra data"). Either (or the same bytes inside a text) sends the file to the exact path.
_TWO_OBJECTS = re.compile(rb"\}[ \t]*\{")  # (apart from the CR check: one alternation was 10x slower)
_BARE_CR = re.compile(rb"\r(?!\n)")
# Texts that *may* be empty by str.strip(): over-matching only costs a trip through the exact path.
_MAYBE_BLANK = r"^[\s\p{Z}\p{Cc}\p{Cf}]*$"
_STRING_TYPES = (pa.string(), pa.large_string())


# Arrow's JSON reader recurses per level of nesting: a line nested ~20,000 deep (40 KB) kills the process
# (a segfault, measured) instead of raising. Gold data nests a level or two; past this bound on the depth
# the exact path decides (json.loads raises RecursionError, which it reports with the line).
MAX_DEPTH = 200
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_STEP = np.zeros(256, np.int8)  # a bracket's step in depth
_STEP[list(b"[{")], _STEP[list(b"]}")] = 1, -1


class _Depth:
    """An upper bound on the nesting depth of JSON bytes fed chunk by chunk, counting every bracket
    (those inside strings too: over-counting only sends a file to the exact path): the rise of the
    bracket balance above its lowest point so far, which no line's own depth can exceed."""

    def __init__(self):
        self.level, self.low, self.most = 0, 0, 0

    def feed(self, chunk: bytes) -> int:
        brackets = chunk.translate(None, _NOT_BRACKETS)  # the brackets alone (~1 ms per MB; numpy on all: 20)
        if brackets:
            level = np.cumsum(_STEP[np.frombuffer(brackets, np.uint8)], dtype=np.int64) + self.level
            low = np.minimum(np.minimum.accumulate(level), self.low)
            self.most = max(self.most, int((level - low).max()))
            self.level, self.low = int(level[-1]), int(low[-1])
        return self.most


def scan(path: Path | None, data: bytes | None, digest) -> bool:
    """One pass over the bytes: feed them to ``digest`` (a hashlib object) and say whether the fast
    reader may take them."""
    ok = True
    decoder = codecs.getincrementaldecoder("utf-8")()
    depth = _Depth()
    tail, first = b"", True
    for chunk in _chunks(path, data):
        digest.update(chunk)
        if not ok:
            continue
        if first:
            first = False
            if chunk.startswith(b"\xef\xbb\xbf") or chunk.lstrip()[:1] != b"{" or _BLANK_FIRST_LINE.match(chunk):
                ok = False
                continue
        window = tail + chunk
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError:
            ok = False
            continue
        if b"\x00" in chunk or _SURROGATE_ESCAPE.search(window) or _BLANK_LINE.search(window):
            ok = False
        elif _TWO_OBJECTS.search(window) or (b"\r" in window and _BARE_CR.search(window[:-1])):
            ok = False  # (a CR that ends the window may be followed by LF in the next chunk)
        ok = ok and depth.feed(chunk) <= MAX_DEPTH
        last = window.rfind(b"\n")  # carry a whitespace-only line start whole (a blank line across chunks)
        rest = window[last:] if last >= 0 else b""
        tail = rest if rest and not rest[1:].strip(b" \t\r") else window[-8:]
    if ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            ok = False
    return ok and not first


def _kept_as_written(kind: pa.DataType) -> bool:
    """Whether an extra field of this inferred type goes into provenance as the file wrote it. Arrow
    infers date strings as timestamps ("2024-01-01" came back "2024-01-01 00:00:00") and a column of ints
    and decimals as floats (1 came back 1.0): those go to the exact path, which keeps the JSON values."""
    if pa.types.is_struct(kind):
        return all(_kept_as_written(kind.field(i).type) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _kept_as_written(kind.value_type)
    return (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_integer(kind)
        or (pa.types.is_boolean(kind) or pa.types.is_null(kind))
    )


def _chunks(path: Path | None, data: bytes | None):
    if data is not None:
        view = memoryview(data)
        for start in range(0, len(data), READ_CHUNK):
            yield bytes(view[start : start + READ_CHUNK])
        return
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            yield chunk


def read(
    path: Path | None,
    data: bytes | None,
    *,
    text: str,
    text_b: str | None,
    label: str | None,
    score: str | None,
    id_field: str | None,
    resolve_label: Callable[[Any], str] | None,
    check_score: Callable[[Any], float] | None,
    file_name: str,
    example_source: str,
    max_text_chars: int,
    on_rows: Callable[[int], None] | None = None,
) -> pa.Table | None:
    """The examples of a JSON Lines file (columns text, text_b, label, score, source, source_id,
    provenance), or None when the exact reader must decide. ``resolve_label`` / ``check_score`` map one
    raw value (raising on a bad one), as the exact path does per record; ``on_rows`` hears the rows read
    and checked so far after each block."""
    source = io.BytesIO(data) if data is not None else str(path)
    texts = [name for name in (text, text_b) if name]
    options = pj.ParseOptions(explicit_schema=pa.schema([(n, pa.string()) for n in texts]))
    cache: dict[str, dict] = {"label": {}, "score": {}}  # raw value -> converted, across blocks
    out, rows = [], 0
    con = duckdb.connect()  # builds the provenance; a private in-memory instance
    try:
        reader = pj.open_json(source, read_options=pj.ReadOptions(block_size=BLOCK_BYTES), parse_options=options)
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            table = pa.Table.from_batches([batch])
            if not _texts_ok(table, texts, max_text_chars):
                return None
            columns = {}
            for kind, name, convert, to in (
                ("label", label, resolve_label, pa.string()),
                ("score", score, check_score, pa.float64()),
            ):
                if name is not None:
                    columns[kind] = _mapped(table, name, convert, to, cache[kind])
                    if columns[kind] is None:
                        return None
            source_id = _source_ids(table, id_field)
            mapped = {n for n in (text, text_b, label, score, id_field) if n}
            extras = [n for n in table.column_names if n not in mapped]
            if source_id is None or any(table.column(n).null_count for n in extras):  # (absent != null)
                return None
            if not all(_kept_as_written(table.schema.field(n).type) for n in extras):
                return None
            out.append(_examples(con, table, texts, columns, source_id, extras, rows, file_name, example_source))
            rows += table.num_rows
            if on_rows is not None:
                on_rows(rows)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):  # not JSON Lines as Arrow reads it
        return None
    finally:
        con.close()
    return pa.concat_tables(out) if rows else None


def _texts_ok(table: pa.Table, names: list[str], max_chars: int) -> bool:
    for name in names:
        if name not in table.column_names:
            return False
        column = table.column(name)
        if column.type not in _STRING_TYPES or column.null_count:
            return False
        if pc.any(pc.match_substring_regex(column, _MAYBE_BLANK)).as_py():
            return False
        if pc.any(pc.match_substring(column, "\x00")).as_py():
            return False
        if pc.max(pc.utf8_length(column)).as_py() > max_chars:
            return False
    return True


def _mapped(table: pa.Table, name: str, convert: Callable[[Any], Any], to: pa.DataType, cache: dict) -> pa.Array | None:
    """The column ``name`` with each distinct raw value converted once (``cache`` keeps them across
    blocks); None when a value is missing, of an odd type, or refused (the exact path names the line)."""
    if name not in table.column_names:
        return None
    column = table.column(name)
    if column.null_count or not (
        pa.types.is_string(column.type) or pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
    ):
        return None
    distinct = pc.unique(column)
    converted = []
    for value in distinct.to_pylist():
        if value not in cache:
            try:
                cache[value] = convert(value)
            except Exception:  # a bad value: the exact path reports it, with its line
                return None
        converted.append(cache[value])
    return pc.take(pa.array(converted, to), pc.index_in(column, value_set=distinct))


def _source_ids(table: pa.Table, name: str | None) -> pa.Array | None:
    """Source ids as text, like ``str(value)`` (a whole float as an int); None when unsure."""
    if not name or name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    column = table.column(name)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    if pa.types.is_integer(column.type):
        return column.cast(pa.string())
    if pa.types.is_floating(column.type):
        whole = pc.equal(pc.floor(column), column)
        if not pc.all(pc.or_kleene(whole, pc.is_null(column))).as_py():
            return None
        return column.cast(pa.int64()).cast(pa.string())
    if pa.types.is_null(column.type):
        return pa.nulls(table.num_rows, pa.string())
    return None


def _examples(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    texts: list[str],
    columns: dict[str, pa.Array],
    source_id: pa.Array,
    extras: list[str],
    first_row: int,
    file_name: str,
    example_source: str,
) -> pa.Table:
    """One block's examples; provenance ``{"file", "where": "line N", "extra": {...}}`` by DuckDB's
    json_object (line N is row N: the file has no blank lines)."""
    n = table.num_rows
    lines = pa.array(np.arange(first_row + 1, first_row + n + 1, dtype=np.int64))
    names = [f"x{i}" for i in range(len(extras))]
    extra_table = table.select(extras).rename_columns(names).append_column("line", lines)
    pairs = ", ".join(f"?, {name}" for name in names)
    extra_sql = f", 'extra', json_object({pairs})" if extras else ""
    sql = f"SELECT json_object('file', ?, 'where', 'line ' || line{extra_sql})::VARCHAR AS p FROM extras ORDER BY line"
    con.register("extras", extra_table)
    try:
        provenance = con.sql(sql, params=[file_name, *extras]).to_arrow_table()
    finally:
        con.unregister("extras")
    return pa.table(
        {
            "text": table.column(texts[0]),
            "text_b": table.column(texts[1]) if len(texts) > 1 else pa.nulls(n, pa.string()),
            "label": columns.get("label", pa.nulls(n, pa.string())),
            "score": columns.get("score", pa.nulls(n, pa.float64())),
            "source": pa.array([example_source], pa.string()).take(pa.array(np.zeros(n, np.int32))),
            "source_id": source_id,
            "provenance": provenance.column("p"),
        }
    )
