"""Substring search over a dataset's texts from process memory: Browse and the Review queue.

Why in memory: DuckDB answers ``contains`` by decompressing both text columns of every row into a cold
cache on each call (measured ~100-140 ms at 1M rows), and an on-disk gram table was 90% of import time
and 83% of the store. Here one read of a dataset's texts (in short transactions, ``load``) builds:

- character trigram postings: for every character of every text the gram starting there, padded past the
  end of the text with ``_END`` (so "ab" at the very end is the gram "ab_END"), as a sorted array of
  exact 63-bit keys (three 21-bit code points) with, per key, the sorted positions of the rows holding it.
  A 3+ character query intersects its grams' postings; a 1- or 2-character query takes the union of a
  contiguous key range (every gram starting with it), through a boolean mask;
- the texts themselves as Arrow string arrays, against which candidates are verified with Arrow's byte
  substring test (the same test as DuckDB's ``contains``).

Postings are kept per block of ``BLOCK`` rows with 16-bit local positions, so an index costs ~2 bytes per
(gram, row) plus the texts, and a block's results come out already in row order.

Case: like ``repository.browse``'s scan, a needle (lowered by Python) with cased letters matches DuckDB's
``lower()`` of either text, one without matches the texts as they are. Texts whose ``lower()`` differs are
indexed in both forms, and rows holding such a text are always verified, so the answer is exactly the
scan's. The index of a dataset is valid for its ``version`` (row count and creation time: examples are
never changed in place; a re-created dataset has a new creation time); ``TextIndexCache`` keeps the
recently used ones per process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

BLOCK = 1 << 16  # rows per posting block: local positions fit in uint16
_END = 0x110000  # past the last code point: pads grams at the end of a text
_BITS = 21
_MASK = (1 << _BITS) - 1
# Columns ``load`` reads (and ``TextIndex.build`` takes), one Arrow table per block of rows.
COLUMNS = ("row_idx", "label_key", "text", "text_b", "text_lower", "text_b_lower")


def _codepoints(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Code points of all strings, concatenated, and the index of the string each belongs to.

    Decodes the UTF-8 buffer directly (no Python string per row); nulls count as empty strings."""
    strings = pc.fill_null(strings.cast(pa.large_string()), "")
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64)[strings.offset : strings.offset + len(strings) + 1]
    data = np.frombuffer(strings.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]] if len(strings) else None
    if data is None or not len(data):
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    starts = np.flatnonzero((data & 0xC0) != 0x80)  # first byte of each character
    width = np.diff(np.append(starts, len(data)))
    pad = np.concatenate([data, np.zeros(3, np.uint8)]).astype(np.uint64)
    b0, b1, b2, b3 = (pad[starts + k] for k in range(4))
    cp = np.where(
        width == 1,
        b0,
        np.where(
            width == 2,
            ((b0 & 0x1F) << 6) | (b1 & 0x3F),
            np.where(
                width == 3,
                ((b0 & 0x0F) << 12) | ((b1 & 0x3F) << 6) | (b2 & 0x3F),
                ((b0 & 0x07) << 18) | ((b1 & 0x3F) << 12) | ((b2 & 0x3F) << 6) | (b3 & 0x3F),
            ),
        ),
    )
    owner = np.searchsorted(offsets - offsets[0], starts, side="right") - 1
    return cp, owner


def _grams(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(gram key, string index) for every character of every string: the trigram starting there."""
    cp, owner = _codepoints(strings)
    n = len(cp)
    keys = cp << np.uint64(2 * _BITS)
    for shift, k in ((_BITS, 1), (0, 2)):
        nxt = np.full(n, _END, np.uint64)
        same = owner[k:] == owner[:-k] if n > k else np.zeros(0, bool)
        nxt[: n - k][same] = cp[k:][same]
        keys |= nxt << np.uint64(shift)
    return keys, owner


@dataclass
class _Block:
    keys: np.ndarray  # uint64, sorted, unique
    starts: np.ndarray  # int64, len(keys) + 1: postings of keys[i] are rows[starts[i]:starts[i + 1]]
    rows: np.ndarray  # uint16 local positions, sorted within each key

    def postings(self, key: int) -> np.ndarray:
        i = int(np.searchsorted(self.keys, np.uint64(key)))
        if i < len(self.keys) and int(self.keys[i]) == key:
            return self.rows[self.starts[i] : self.starts[i + 1]]
        return self.rows[:0]

    def key_range(self, lo: int, hi: int) -> np.ndarray:
        """Postings of every key in [lo, hi], concatenated (unsorted, repeats)."""
        i = int(np.searchsorted(self.keys, np.uint64(lo), side="left"))
        j = int(np.searchsorted(self.keys, np.uint64(hi), side="right"))
        return self.rows[self.starts[i] : self.starts[j]]


def _build_block(table: pa.Table) -> _Block:
    parts_k, parts_r = [], []
    for column in ("text", "text_b", "text_lower", "text_b_lower"):
        keys, owner = _grams(table.column(column))
        parts_k.append(keys)
        parts_r.append(owner)
    keys, rows = np.concatenate(parts_k), np.concatenate(parts_r).astype(np.uint16)
    order = np.lexsort((rows, keys))
    keys, rows = keys[order], rows[order]
    if len(keys):
        keep = np.ones(len(keys), bool)
        keep[1:] = (keys[1:] != keys[:-1]) | (rows[1:] != rows[:-1])
        keys, rows = keys[keep], rows[keep]
    new_key = np.ones(len(keys), bool)
    new_key[1:] = keys[1:] != keys[:-1]
    first = np.flatnonzero(new_key)
    return _Block(keys[first].copy(), np.append(first, len(keys)).astype(np.int64), rows.copy())


class TextIndex:
    """One dataset's texts and their trigram postings; ``search`` answers like the DuckDB scan."""

    def __init__(self, tables: Iterable[pa.Table]):
        blocks, texts, row_idx, label_keys = [], {c: [] for c in COLUMNS[2:]}, [], []
        for table in tables:
            for start in range(0, table.num_rows, BLOCK):
                part = table.slice(start, BLOCK)
                blocks.append(_build_block(part))
                for column in texts:
                    texts[column].append(part.column(column).combine_chunks().cast(pa.large_string()))
                row_idx.append(part.column("row_idx").to_numpy().astype(np.int64))
                label_keys.append(part.column("label_key").combine_chunks())
        self._blocks = blocks
        self._texts = {c: pa.chunked_array(v, pa.large_string()) for c, v in texts.items()}
        self.row_idx = np.concatenate(row_idx) if row_idx else np.zeros(0, np.int64)
        labels = pa.chunked_array(label_keys, pa.string()).combine_chunks().dictionary_encode()
        self._label_names = labels.dictionary.to_pylist()
        self._label_codes = pc.fill_null(labels.indices, -1).to_numpy(zero_copy_only=False).astype(np.int32)
        # Rows whose lower() differs from the text: indexed in both forms, so always verified.
        differs = pc.or_(pc.is_valid(self._texts["text_lower"]), pc.is_valid(self._texts["text_b_lower"]))
        self._differs = differs.to_numpy(zero_copy_only=False) if len(self.row_idx) else np.zeros(0, bool)

    def __len__(self) -> int:
        return len(self.row_idx)

    @property
    def nbytes(self) -> int:
        grams = sum(b.keys.nbytes + b.starts.nbytes + b.rows.nbytes for b in self._blocks)
        texts = sum(a.nbytes for a in self._texts.values())
        return grams + texts + self.row_idx.nbytes + self._label_codes.nbytes + self._differs.nbytes

    def search(self, query: str, *, label_keys: Sequence[str] | None = None) -> np.ndarray:
        """Row ids (``row_idx``, ascending) whose text or text_b contains ``query``, ignoring case as
        ``repository.browse`` does, among rows whose label key is one of ``label_keys`` (all if empty)."""
        needle = query.lower()
        if not needle:
            raise ValueError("an empty query matches everything: browse without one")
        cased = needle != needle.upper()
        cps = [ord(c) for c in needle]
        hits = []
        for number, block in enumerate(self._blocks):
            local = self._candidates(block, cps)
            if not len(local):
                continue
            positions = local.astype(np.int64) + number * BLOCK
            if label_keys:
                positions = positions[self._label_filter(positions, label_keys)]
            hits.append(positions)
        positions = np.concatenate(hits) if hits else np.zeros(0, np.int64)
        check = np.ones(len(positions), bool) if len(cps) > 3 else self._differs[positions]
        if check.any():
            keep = np.ones(len(positions), bool)
            keep[check] = self._verify(positions[check], needle, cased)
            positions = positions[keep]
        return self.row_idx[positions]

    def _candidates(self, block: _Block, cps: list[int]) -> np.ndarray:
        """Sorted local positions that may hold the needle (exactly those, up to case, for <= 3)."""
        if len(cps) <= 2:
            lo = cps[0] << (2 * _BITS) | (cps[1] << _BITS if len(cps) == 2 else 0)
            hi = lo | (_MASK if len(cps) == 2 else (1 << (2 * _BITS)) - 1)
            found = block.key_range(lo, hi)
            mask = np.zeros(BLOCK, bool)
            mask[found] = True
            return np.flatnonzero(mask)
        keys = {cps[i] << (2 * _BITS) | cps[i + 1] << _BITS | cps[i + 2] for i in range(len(cps) - 2)}
        lists = sorted((block.postings(k) for k in keys), key=len)
        result = lists[0]
        for other in lists[1:]:
            if len(result) <= 32:  # few enough to verify directly
                break
            result = np.intersect1d(result, other, assume_unique=True)
        return result

    def _label_filter(self, positions: np.ndarray, label_keys: Sequence[str]) -> np.ndarray:
        wanted = [i for i, name in enumerate(self._label_names) if name in set(label_keys)]
        return np.isin(self._label_codes[positions], wanted)

    def _verify(self, positions: np.ndarray, needle: str, cased: bool) -> np.ndarray:
        take = pa.array(positions)
        found = None
        for column in ("text", "text_b"):
            values = self._texts[column].take(take)
            if cased:
                values = pc.coalesce(self._texts[f"{column}_lower"].take(take), values)
            match = pc.fill_null(pc.match_substring(values, needle), False)
            found = match if found is None else pc.or_(found, match)
        return found.to_numpy(zero_copy_only=False)


def load_sql(target: str) -> str:
    """The query ``TextIndex`` reads a block of a dataset with; params: [dataset id, first row, end row).

    The label key is what Browse's label filter compares: the label of a class task, the label or the
    nearest grade (``grade:<n>``) of a score task (migrations.LABEL_KEY_SQL)."""
    from japagen_core.storage.migrations import LABEL_KEY_SQL

    key = "label" if target == "class" else LABEL_KEY_SQL
    return (
        f"SELECT row_idx, {key} AS label_key, text, text_b, "
        "CASE WHEN lower(text) <> text THEN lower(text) END AS text_lower, "
        "CASE WHEN lower(text_b) <> text_b THEN lower(text_b) END AS text_b_lower "
        "FROM examples WHERE dataset_id = ? AND row_idx >= ? AND row_idx < ? ORDER BY row_idx"
    )


def dataset_version(con, dataset_id: str) -> tuple | None:
    """What an index of the dataset is valid for (None: no such visible dataset)."""
    rows = con.execute("SELECT rows, created_at FROM datasets WHERE id = ?", [dataset_id]).fetchall()
    return tuple(rows[0]) if rows else None


def cache_key(db, info) -> tuple:
    """The cache key of a dataset (a ``repository.DatasetInfo``) as it is now."""
    return (str(db.path), info.id, (info.rows, info.created_at))


def load(db, dataset_id: str, target: str) -> tuple[TextIndex, tuple]:
    """Read a dataset's texts block by block, each in a short transaction of its own (the store is
    never locked for long), and build its index; return it and the version it is valid for."""
    from japagen_core.errors import DatasetNotFoundError, StoreError

    with db.transaction() as con:
        version = dataset_version(con, dataset_id)
        lo, hi = con.execute(
            "SELECT coalesce(min(row_idx), 0), coalesce(max(row_idx), -1) FROM examples WHERE dataset_id = ?",
            [dataset_id],
        ).fetchall()[0]
    if version is None:
        raise DatasetNotFoundError(f"no dataset with id {dataset_id!r}")
    sql, tables = load_sql(target), []
    for start in range(lo, hi + 1, BLOCK):
        with db.transaction() as con:
            tables.append(con.sql(sql, params=[dataset_id, start, start + BLOCK]).to_arrow_table())
    with db.transaction() as con:
        if dataset_version(con, dataset_id) != version:
            raise StoreError(f"dataset {dataset_id!r} changed while its search index was built; try again")
    return TextIndex(tables), version


class TextIndexCache:
    """The recently used indexes of this process (plain LRU, thread-safe), keyed by (store path,
    dataset id, dataset version): a changed dataset gets a new key, and the old entry ages out."""

    def __init__(self, capacity: int = 4):
        self.capacity = capacity
        self._items: OrderedDict[Hashable, TextIndex] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], TextIndex]) -> TextIndex:
        with self._lock:  # one build at a time: two sessions asking for the same index build it once
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            for old in [k for k in self._items if k[:2] == key[:2]]:  # an older version of the dataset
                del self._items[old]
            index = build()
            self._items[key] = index
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
            return index

    def peek(self, key: Hashable) -> TextIndex | None:
        """The cached index of ``key``, or None (never builds)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def __len__(self) -> int:
        return len(self._items)


def index_for(cache: TextIndexCache, db, info, target: str) -> TextIndex:
    """The index of the dataset ``info`` (a ``repository.DatasetInfo``) from ``cache``, built (and
    cached) when missing or stale."""
    key = cache_key(db, info)

    def build() -> TextIndex:
        index, built_for = load(db, info.id, target)
        if built_for != key[2]:
            from japagen_core.errors import StoreError

            raise StoreError(f"dataset {info.id!r} changed while its search index was built; try again")
        return index

    return cache.get(key, build)
