"""Substring search over a dataset's texts from process memory: Browse and the Review queue.

Why in memory: DuckDB answers ``contains`` by decompressing both text columns of every row into a cold
cache on each call (measured ~100-140 ms at 1M rows), and an on-disk gram table was 90% of import time
and 83% of the store. Here one read of a dataset's texts (in short transactions, ``load``) builds:

- character trigram postings: for every character of every text the gram starting there, padded past the
  end of the text with an END symbol (so "ab" at the very end is the gram "ab" END), as a sorted array of
  exact keys (three symbols of the block's alphabet) with, per key, the sorted rows holding it.
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

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

BLOCK = 1 << 16  # rows per posting block: local positions fit in uint16
PRUNE_RATIO = 16  # a 4+ character needle intersects postings up to this many times its candidates
# Columns ``load`` reads (and ``TextIndex.build`` takes), one Arrow table per block of rows.
COLUMNS = ("row_idx", "label_key", "text", "text_b", "text_lower", "text_b_lower")
# A search over two or more blocks runs in contiguous groups of blocks, one per thread of a small pool
# (numpy's and Arrow's kernels release the GIL): a query matching 300k of 1M rows took ~80 ms in one
# thread, ~45 ms on two cores (measured).
_pool: tuple[ThreadPoolExecutor, int] | None = None
_pool_lock = threading.Lock()


def _forget_pool() -> None:  # a forked child has none of its parent's threads (nor their lock)
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _search_pool() -> tuple[ThreadPoolExecutor, int]:
    """The process's search pool and its number of threads (one per core, at most 4)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            workers = max(1, min(4, os.cpu_count() or 1))
            _pool = (ThreadPoolExecutor(workers, thread_name_prefix="textindex"), workers)
        return _pool


def _codepoints(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Code points of all strings, concatenated, and the index of the string each belongs to (nulls
    count as empty strings)."""
    strings = pc.fill_null(strings, "")
    lengths = pc.utf8_length(strings).to_numpy(zero_copy_only=False)
    joined = "".join(strings.to_pylist())
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    return cp, np.repeat(np.arange(len(lengths)), lengths)


def _grams(cp: np.ndarray, owner: np.ndarray, end: int) -> np.ndarray:
    """For every character, its trigram as three symbols (``end`` past the end of its string), each
    packed into ``bits`` of one integer: (c0 << 2b) | (c1 << b) | c2."""
    n = len(cp)
    grams = [cp]
    for k in (1, 2):
        nxt = np.full(n, end, cp.dtype)
        if n > k:
            same = owner[k:] == owner[:-k]
            nxt[: n - k][same] = cp[k:][same]
        grams.append(nxt)
    return grams


@dataclass
class _Block:
    alphabet: np.ndarray  # the block's distinct code points, sorted; symbol i is alphabet[i], END is len
    keys: np.ndarray  # uint64 gram keys over symbols, sorted, unique
    starts: np.ndarray  # int64, len(keys) + 1: postings of keys[i] are rows[starts[i]:starts[i + 1]]
    rows: np.ndarray  # uint16 local positions, sorted within each key

    @property
    def width(self) -> int:
        return len(self.alphabet) + 1

    def symbols(self, cps: list[int]) -> list[int] | None:
        """The block's symbols of these code points; None when one does not occur in the block."""
        found = np.searchsorted(self.alphabet, cps)
        if np.any(found >= len(self.alphabet)) or np.any(
            self.alphabet[np.minimum(found, len(self.alphabet) - 1)] != cps
        ):
            return None
        return [int(x) for x in found]

    def postings(self, key: int) -> np.ndarray:
        i = int(np.searchsorted(self.keys, np.uint64(key)))
        if i < len(self.keys) and int(self.keys[i]) == key:
            return self.rows[self.starts[i] : self.starts[i + 1]]
        return self.rows[:0]

    def key_range(self, lo: int, hi: int) -> np.ndarray:
        """Postings of every key in [lo, hi), concatenated (unsorted, repeats)."""
        i = int(np.searchsorted(self.keys, np.uint64(lo), side="left"))
        j = int(np.searchsorted(self.keys, np.uint64(hi), side="left"))
        return self.rows[self.starts[i] : self.starts[j]]


def _build_block(table: pa.Table) -> _Block:
    """Trigram postings of a block of at most BLOCK rows. Characters become dense symbols (the block's
    alphabet), so (gram, row) packs into one uint64 and one plain sort orders by gram, then row."""
    columns = [_codepoints(table.column(c).combine_chunks()) for c in ("text", "text_b", "text_lower", "text_b_lower")]
    seen = np.zeros(0x110000, bool)  # (numpy's unique hashes, and was measured ~50x slower than this)
    for cp, _ in columns:
        seen[cp] = True
    alphabet = np.flatnonzero(seen)
    symbol_of = np.zeros(0x110000, np.uint64)
    symbol_of[alphabet] = np.arange(len(alphabet), dtype=np.uint64)
    width = np.uint64(len(alphabet) + 1)
    if len(alphabet) + 1 >= 1 << 15:  # (width^3 << 16) must fit 64 bits; a block this varied is not text
        raise ValueError(f"a block of texts with {len(alphabet)} distinct characters is too varied to index")
    packed = []
    for cp, owner in columns:
        symbols = symbol_of[cp]
        c0, c1, c2 = _grams(symbols, owner, len(alphabet))
        packed.append((((c0 * width + c1) * width + c2) << np.uint64(16)) | owner.astype(np.uint64))
    combined = np.concatenate(packed)
    combined.sort()  # by gram, then row
    if len(combined):
        combined = combined[np.append(True, combined[1:] != combined[:-1])]  # each (gram, row) once
    keys, rows = combined >> np.uint64(16), (combined & np.uint64(0xFFFF)).astype(np.uint16)
    new_key = np.ones(len(keys), bool)
    new_key[1:] = keys[1:] != keys[:-1]
    first = np.flatnonzero(new_key)
    return _Block(alphabet.astype(np.uint32), keys[first], np.append(first, len(keys)).astype(np.int64), rows)


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
        # One array per column: taking candidates from one array is cheaper than from many chunks.
        self._texts = {c: pa.chunked_array(v, pa.large_string()).combine_chunks() for c, v in texts.items()}
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
        grams = sum(b.alphabet.nbytes + b.keys.nbytes + b.starts.nbytes + b.rows.nbytes for b in self._blocks)
        texts = sum(a.nbytes for a in self._texts.values())
        return grams + texts + self.row_idx.nbytes + self._label_codes.nbytes + self._differs.nbytes

    def texts(self, row_ids: np.ndarray) -> tuple[list[str | None], list[str | None]] | None:
        """The text and text_b of these rows (``row_idx``), in the order given; None when one is not in
        the index."""
        row_ids = np.asarray(row_ids, dtype=np.int64)
        positions = np.searchsorted(self.row_idx, row_ids)
        if len(row_ids) and (positions.max() >= len(self.row_idx) or np.any(self.row_idx[positions] != row_ids)):
            return None
        take = pa.array(positions)
        return self._texts["text"].take(take).to_pylist(), self._texts["text_b"].take(take).to_pylist()

    def search(
        self, query: str, *, label_keys: Sequence[str] | None = None, within: np.ndarray | None = None
    ) -> np.ndarray:
        """Row ids (``row_idx``, ascending) whose text or text_b contains ``query``, ignoring case as
        ``repository.browse`` does, among rows whose label key is one of ``label_keys`` (all if empty)
        and, given ``within`` (row ids in any order), among those rows only: candidates outside them are
        never verified, which is most of the cost of a query that matches many rows."""
        needle = query.lower()
        if not needle:
            raise ValueError("an empty query matches everything: browse without one")
        cased = needle != needle.upper()
        allowed = self._allowed(label_keys) if label_keys else None
        inside = self._positions_mask(within) if within is not None else None
        numbers = list(range(len(self._blocks)))
        pool, workers = _search_pool()
        if len(numbers) < 2 or workers < 2:
            positions = self._search_blocks(numbers, needle, cased, allowed, inside)
        else:  # contiguous groups of blocks, one per thread: the answer comes out in row order
            groups = [list(g) for g in np.array_split(numbers, min(workers, len(numbers)))]
            found = list(pool.map(lambda g: self._search_blocks(g, needle, cased, allowed, inside), groups))
            positions = np.concatenate(found)
        return self.row_idx[positions]

    def _positions_mask(self, row_ids: np.ndarray) -> np.ndarray:
        """True at the positions of these row ids (ids the index does not hold are ignored)."""
        row_ids = np.asarray(row_ids, dtype=np.int64)
        mask, n = np.zeros(len(self.row_idx), bool), len(self.row_idx)
        if n and self.row_idx[0] == 0 and self.row_idx[-1] == n - 1:  # row ids 0..n-1: a row's id is its position
            mask[row_ids[(row_ids >= 0) & (row_ids < n)]] = True
            return mask
        positions = np.searchsorted(self.row_idx, row_ids)
        held = positions < n
        held[held] = self.row_idx[positions[held]] == row_ids[held]
        mask[positions[held]] = True
        return mask

    def _search_blocks(
        self, numbers: list[int], needle: str, cased: bool, allowed: np.ndarray | None, inside: np.ndarray | None
    ) -> np.ndarray:
        """Positions (ascending) in these blocks whose text or text_b holds the needle."""
        cps = [ord(c) for c in needle]
        hits = []
        for number in numbers:
            local = self._candidates(self._blocks[number], cps)
            if not len(local):
                continue
            positions = local.astype(np.int64) + number * BLOCK
            if allowed is not None:
                positions = positions[allowed[self._label_codes[positions]]]
            if inside is not None:
                positions = positions[inside[positions]]
            hits.append(positions)
        positions = np.concatenate(hits) if hits else np.zeros(0, np.int64)
        check = np.ones(len(positions), bool) if len(cps) > 3 else self._differs[positions]
        if check.any():
            keep = np.ones(len(positions), bool)
            keep[check] = self._verify(positions[check], needle, cased)
            positions = positions[keep]
        return positions

    def _candidates(self, block: _Block, cps: list[int]) -> np.ndarray:
        """Sorted local positions that may hold the needle (exactly those, up to case, for <= 3)."""
        symbols = block.symbols(cps)
        if symbols is None:
            return block.rows[:0]
        w = block.width
        if len(symbols) <= 2:  # every gram starting with the needle: one range of keys
            lo = symbols[0] * w * w + (symbols[1] * w if len(symbols) == 2 else 0)
            found = block.key_range(lo, lo + (w if len(symbols) == 2 else w * w))
            mask = np.zeros(BLOCK, bool)
            mask[found] = True
            return np.flatnonzero(mask)
        keys = {(symbols[i] * w + symbols[i + 1]) * w + symbols[i + 2] for i in range(len(symbols) - 2)}
        lists = sorted((block.postings(k) for k in keys), key=len)
        result, mask = lists[0], np.zeros(BLOCK, bool)
        for other in lists[1:]:
            # Few enough to verify directly; or the next list is so long that scattering it costs more
            # than verifying what it could prune (its cost is its length; a candidate's verification
            # costs ~15-20 scattered positions, measured). A long needle's candidates are all verified.
            if len(result) <= 32 or (len(cps) > 3 and len(other) > PRUNE_RATIO * len(result)):
                break
            mask[other] = True  # (a scatter is ~10x cheaper than np.intersect1d's sort)
            result = result[mask[result]]
            mask[other] = False
        return result

    def _allowed(self, label_keys: Sequence[str]) -> np.ndarray:
        """A lookup by label code: True for the wanted labels (the last entry, code -1, is no label).
        (A gather: np.isin per block was measured several times slower.)"""
        wanted = set(label_keys)
        return np.array([name in wanted for name in self._label_names] + [False], bool)

    def _verify(self, positions: np.ndarray, needle: str, cased: bool) -> np.ndarray:
        """Which positions hold the needle in text, or else in text_b (only the rest are read there)."""
        found = np.zeros(len(positions), bool)
        rest = np.arange(len(positions))
        for column in ("text", "text_b"):
            take = pa.array(positions[rest])
            values = self._texts[column].take(take)
            if cased:
                values = pc.coalesce(self._texts[f"{column}_lower"].take(take), values)
            match = pc.fill_null(pc.match_substring(values, needle), False).to_numpy(zero_copy_only=False)
            found[rest[match]] = True
            rest = rest[~match]
            if not len(rest):
                break
        return found


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
    return _key(db, info.id, (info.rows, info.created_at))


def cached(cache: TextIndexCache, db, con, dataset_id: str) -> TextIndex | None:
    """The dataset's index if ``cache`` holds one for the dataset as this transaction sees it (never builds)."""
    return cache.peek(_key(db, dataset_id, dataset_version(con, dataset_id)))


def _key(db, dataset_id: str, version: tuple | None) -> tuple:
    return (str(db.path), dataset_id, version)


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
        self._lock = threading.Lock()  # the items: held for lookups only, never during a build
        self._building = threading.Lock()  # one build at a time: two sessions asking build it once

    def get(self, key: Hashable, build: Callable[[], TextIndex]) -> TextIndex:
        found = self.peek(key)
        if found is not None:
            return found
        with self._building:
            found = self.peek(key)  # built by the session this one waited for
            if found is not None:
                return found
            index = build()
            with self._lock:
                for old in [k for k in self._items if k[:2] == key[:2]]:  # an older version of the dataset
                    del self._items[old]
                self._items[key] = index
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
            return index

    def peek(self, key: Hashable) -> TextIndex | None:
        """The cached index of ``key``, or None (never builds, never waits for a build: a page read
        inside a transaction asks, and must not hold the store while another session builds)."""
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
