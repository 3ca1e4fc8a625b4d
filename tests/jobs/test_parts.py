"""The shared resumable parts loop: atomic pyarrow parts, corrupt parts set aside, bounded concurrency, cancel."""

import asyncio

import pyarrow as pa
import pytest

from japagen_core.jobs.parts import PartsFolder, run_units

SCHEMA = pa.schema([("unit_id", pa.string()), ("seq", pa.int64()), ("label", pa.string())])


def test_parts_are_written_atomically_and_read_back_by_unit_in_id_order(tmp_path):
    parts = PartsFolder(tmp_path, SCHEMA)
    parts.write("b", [{"unit_id": "b", "seq": 0, "label": "x"}])
    parts.write("a", [{"unit_id": "a", "seq": 0}, {"unit_id": "a", "seq": 1, "label": "y", "extra": 1}])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part-a.parquet", "part-b.parquet"]  # no temp left
    rows = parts.read_rows()
    assert list(rows) == ["a", "b"]
    assert rows["a"] == [{"unit_id": "a", "seq": 0, "label": None}, {"unit_id": "a", "seq": 1, "label": "y"}]
    assert parts.read_rows(columns=["label"])["b"] == [{"label": "x"}]
    assert parts.read(columns=["seq"])["a"].schema == pa.schema([("seq", pa.int64())])


def test_a_corrupt_part_is_set_aside_so_its_unit_is_done_again(tmp_path):
    parts = PartsFolder(tmp_path, SCHEMA, prefix="")
    parts.write("s000-part-00000", [{"unit_id": "u", "seq": 0, "label": "x"}])
    (tmp_path / "s000-part-00001.parquet").write_bytes(b"")  # a crash of the machine left it empty
    (tmp_path / "s000-part-00002.parquet").write_bytes(b"PAR1 cut short")
    (tmp_path / ".s000-part-00003.parquet.4242.abc.tmp").write_bytes(b"half")  # an attempt killed mid-write
    assert parts.remove_stale_temps() == 1
    assert list(parts.read("s000-part-*")) == ["s000-part-00000"]
    assert sorted(p.name for p in tmp_path.glob("*.corrupt")) == [
        "s000-part-00001.parquet.corrupt", "s000-part-00002.parquet.corrupt"]  # fmt: skip
    assert not parts.exists("s000-part-00001") and parts.exists("s000-part-00000")


def test_a_write_that_fails_leaves_neither_the_part_nor_a_temporary_file(tmp_path):
    parts = PartsFolder(tmp_path, SCHEMA)
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        parts.write("a", [{"unit_id": "a", "seq": "not a number"}])
    assert list(tmp_path.iterdir()) == []


def test_run_units_bounds_the_units_in_flight_and_runs_each_once():
    seen, running, peak = [], 0, 0

    async def work(unit: int) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        seen.append(unit)
        running -= 1

    assert asyncio.run(run_units(range(20), work, in_flight=3)) is True
    assert sorted(seen) == list(range(20)) and peak == 3


def test_a_cancel_stops_the_units_in_flight_and_an_error_reaches_the_caller():
    finished = []

    async def slow(unit: int) -> None:
        await asyncio.sleep(0.05 if unit < 2 else 10)
        finished.append(unit)

    async def cancel_soon() -> bool:
        loop = asyncio.get_running_loop()
        start = loop.time()
        return await run_units(range(4), slow, in_flight=4, cancelled=lambda: loop.time() - start > 0.3)

    assert asyncio.run(cancel_soon()) is False and sorted(finished) == [0, 1]  # 2 and 3 were stopped, not finished

    async def broken(unit: int) -> None:
        if unit == 1:
            raise RuntimeError("fatal: the key was refused")

    with pytest.raises(RuntimeError, match="key was refused"):
        asyncio.run(run_units(range(3), broken, in_flight=2))
