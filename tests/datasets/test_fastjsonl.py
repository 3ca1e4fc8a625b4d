"""The bulk JSON Lines reader gives exactly the record-by-record reader's examples, and hands every
file it is unsure of to that reader (whose messages name the line)."""

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from japagen_core.datasets import fastjsonl, importers
from japagen_core.datasets.importers import ImportOptions, prepare_gold
from japagen_core.errors import GoldImportError
from japagen_core.tasks import load_registry

REGISTRY = load_registry(None)


def _write(path: Path, rows: list[dict] | bytes) -> Path:
    if isinstance(rows, bytes):
        path.write_bytes(rows)
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _exact(task, path: Path, options: ImportOptions | None = None) -> pd.DataFrame:
    """The record-by-record reader's examples (the reference)."""
    options = options or ImportOptions()
    fields = options.fields or task.gold_fields
    records = importers._read("jsonl", path.read_bytes(), str(path), fields)
    return importers._validate(
        task, records, fields, str(path), example_source="gold", label_map=dict(options.label_map),
        max_text_chars=options.max_text_chars,
    )  # fmt: skip


def _fast(task, path: Path, options: ImportOptions | None = None) -> pa.Table | None:
    options = options or ImportOptions()
    return importers._read_jsonl_fast(task, path, None, options.fields or task.gold_fields, str(path), "gold", options)


def _same(fast: pa.Table, exact: pd.DataFrame) -> None:
    assert fast.num_rows == len(exact)
    for column in ("text", "text_b", "label", "source", "source_id"):
        assert fast.column(column).to_pylist() == exact[column].tolist(), column
    assert fast.column("score").to_pylist() == [None if pd.isna(v) else v for v in exact["score"]]
    provenance = fast.column("provenance").to_pylist()
    assert [json.loads(p) for p in provenance] == [json.loads(p) for p in exact["provenance"]]


CASES = [
    ("jnli with an extra field", "jnli", [
        {"sentence_pair_id": "0", "yjcaptions_id": "y0", "sentence1": "犬が走る。", "sentence2": "動物が走る。", "label": "entailment"},
        {"sentence_pair_id": "1", "yjcaptions_id": "y1", "sentence1": "Catが寝る。", "sentence2": "猫", "label": "中立"},
    ], ImportOptions()),
    ("jsts float scores, numeric ids", "jsts", [
        {"sentence_pair_id": 0, "sentence1": "a", "sentence2": "b", "label": 0.0},
        {"sentence_pair_id": 1, "sentence1": "c", "sentence2": "d", "label": 4.4},
        {"sentence_pair_id": 2, "sentence1": "e", "sentence2": "f", "label": 4.4},
    ], ImportOptions()),
    ("jcola integer labels, nested extras", "jcola", [
        {"uid": 1, "source": "x", "label": 1, "sentence": "文です。", "meta": {"a": [1, 2]}},
        {"uid": 2, "source": "y", "label": 0, "sentence": "文。", "meta": {"a": []}},
    ], ImportOptions()),
    ("a null extra field", "jcola", [
        {"uid": 1, "source": "x", "label": 1, "diacritic": None, "sentence": "文です。"},
        {"uid": 2, "source": "y", "label": 0, "diacritic": "d", "sentence": "文。"},
    ], ImportOptions()),
    ("whole float ids and mapped labels", "jnli", [
        {"sentence_pair_id": 1.0, "sentence1": "a", "sentence2": "b", "label": 0},
        {"sentence_pair_id": 2.0, "sentence1": "c", "sentence2": "d", "label": 2},
    ], ImportOptions(label_map=(("2", "contradiction"),))),
]  # fmt: skip


@pytest.mark.parametrize(("case", "task", "rows", "options"), CASES, ids=[c[0] for c in CASES])
def test_the_bulk_reader_gives_the_exact_readers_examples(tmp_path, case, task, rows, options):
    task = REGISTRY[task]
    path = _write(tmp_path / "f.jsonl", rows)
    exact = _exact(task, path, options)
    if any(r.get("diacritic", 0) is None for r in rows):  # a null extra: absent and null differ, so it declines
        assert _fast(task, path, options) is None
        return
    fast = _fast(task, path, options)
    assert fast is not None
    _same(fast, exact)


def test_line_numbers_hold_across_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(fastjsonl, "BLOCK_BYTES", 4096)  # many blocks
    rows = [
        {"sentence_pair_id": str(i), "sentence1": f"文{i}", "sentence2": "b", "label": "neutral"} for i in range(3000)
    ]
    path = _write(tmp_path / "f.jsonl", rows)
    task = REGISTRY["jnli"]
    fast = _fast(task, path)
    assert fast.num_rows == 3000
    assert json.loads(fast.column("provenance")[2999].as_py())["where"] == "line 3000"
    _same(fast, _exact(task, path))


GOOD = {"sentence_pair_id": "0", "sentence1": "犬", "sentence2": "猫", "label": "neutral"}
LINE = json.dumps(GOOD, ensure_ascii=False).encode()
DECLINED = [
    ("a blank line", LINE + b"\n\n" + LINE + b"\n"),
    ("a whitespace-only line", LINE + b"\n \t\n" + LINE + b"\n"),
    ("a blank first line", b"\n" + LINE + b"\n"),
    ("a BOM", b"\xef\xbb\xbf" + LINE + b"\n"),
    ("a JSON array", b"[" + LINE + b"]"),
    ("an escaped surrogate", LINE[:-1] + b', "x": "\\ud83d\\ude00"}\n'),
    ("an unknown label", LINE.replace(b"neutral", b"maybe") + b"\n"),
    ("a blank text", LINE.replace("犬".encode(), "\u3000".encode()) + b"\n"),
    ("a NUL escape", LINE.replace("犬".encode(), b"\\u0000") + b"\n"),
    ("a number for a text", LINE.replace('"犬"'.encode(), b"7") + b"\n"),
    ("a missing field", LINE + b"\n" + b'{"sentence1": "a", "label": "neutral"}\n'),
    ("a truncated last line", LINE + b"\n" + LINE[:-5]),
    ("a text too long", LINE.replace("犬".encode(), "犬".encode() * 60) + b"\n"),
    ("Shift_JIS bytes", LINE.replace("犬".encode(), "犬".encode("cp932")) + b"\n"),
    ("two objects on one line", LINE + LINE + b"\n"),
    ("bare CR line ends", LINE + b"\r" + LINE + b"\r"),
    ("a date string in an extra field", LINE[:-1] + b', "d": "2024-01-01"}\n'),  # Arrow: a timestamp
    ("ints and decimals in an extra field", LINE[:-1] + b', "x": 1}\n' + LINE[:-1] + b', "x": 1.5}\n'),  # 1.0
]


@pytest.mark.parametrize(("case", "content"), DECLINED, ids=[c[0] for c in DECLINED])
def test_files_it_is_unsure_of_go_to_the_exact_reader(tmp_path, case, content):
    path = _write(tmp_path / "f.jsonl", content)
    task = REGISTRY["jnli"]
    options = ImportOptions(max_text_chars=50)
    scanned = fastjsonl.scan(path, None, importers._digest_start(task, "x", "jsonl", task.gold_fields, options))
    assert not scanned or _fast(task, path, options) is None
    try:
        _exact(task, path, options)
    except GoldImportError:
        with pytest.raises(GoldImportError, match=r"line \d"):  # the import names the line
            prepare_gold(task, "train", path=path, options=options)
        return
    [prepared] = prepare_gold(task, "train", path=path, options=options)  # valid after all: read exactly
    assert isinstance(prepared.examples, pd.DataFrame)


def test_the_dataset_id_is_the_same_either_way(tmp_path):
    task = REGISTRY["jnli"]
    path = _write(tmp_path / "f.jsonl", [GOOD])
    [fast] = prepare_gold(task, "train", path=path)
    assert isinstance(fast.examples, pa.Table)
    digest = importers._digest(path.read_bytes(), task, "train", "jsonl", task.gold_fields, ImportOptions())
    assert fast.info.id == f"jnli-train-{digest[:10]}"
    [uploaded] = prepare_gold(task, "train", data=path.read_bytes(), source_name="f.jsonl")
    assert uploaded.info.id == fast.info.id and uploaded.examples.num_rows == 1


def test_a_deeply_nested_line_is_refused_by_line_not_by_a_crash(tmp_path):
    """Arrow's JSON reader crashed the process (a segfault: an upload would take the app down) on a line
    nested ~20,000 deep. Deep nesting goes to the exact reader, which names the line; moderate nesting
    in an extra field still imports, by either reader."""
    import subprocess
    import sys

    deep = LINE[:-1] + b', "x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}\n"
    path = _write(tmp_path / "deep.jsonl", LINE + b"\n" + deep)
    code = (
        "import sys; from pathlib import Path\n"
        "from japagen_core.datasets.importers import prepare_gold\n"
        "from japagen_core.errors import GoldImportError\n"
        "from japagen_core.tasks import load_registry\n"
        "try:\n"
        "    prepare_gold(load_registry(None)['jnli'], 'train', data=Path(sys.argv[1]).read_bytes(), source_name='deep.jsonl')\n"
        "except GoldImportError as exc:\n"
        "    print(exc)\n"
    )  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    assert "deep.jsonl, line 2: JSON nested too deeply to read" in out.stdout
    nested = _write(tmp_path / "nested.jsonl", LINE[:-1] + b', "x": ' + b"[" * 300 + b"]" * 300 + b"}\n")
    [prepared] = prepare_gold(REGISTRY["jnli"], "train", path=nested)
    assert len(prepared.examples) == 1
    assert fastjsonl._Depth().feed(b'{"a": [[1]], "b": {"c": [2]}}\n{"d": "]]]"}\n{"e": [[[3]]]}') == 4
