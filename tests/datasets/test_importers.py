"""Every importer format, and every class of bad input: refused with file + line + problem,
database unchanged."""

import io
import json
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from japagen_core.datasets.importers import (
    ImportOptions,
    guess_split,
    import_gold,
    label_id_note,
    parse_label_map,
    prepare_gold,
)
from japagen_core.demo import DEMO_DIR, load_demo, remove_demo
from japagen_core.errors import GoldImportError, JapagenError
from japagen_core.tasks import GoldFields
from tests.conftest import table_snapshot, write_jsonl

JNLI_ROWS = [
    {
        "sentence_pair_id": "0",
        "sentence1": "犬が走っている。",
        "sentence2": "動物が走っている。",
        "label": "entailment",
    },
    {"sentence_pair_id": "1", "sentence1": "猫が寝ている。", "sentence2": "猫が走っている。", "label": "contradiction"},
    {"sentence_pair_id": "2", "sentence1": "男性が立っている。", "sentence2": "男性が駅にいる。", "label": "neutral"},
]


def _import(project, task, split, path, **options):
    return import_gold(project.db, project.registry[task], split, path=path, options=ImportOptions(**options))


def test_jglue_jsonl_keeps_ids_and_extra_fields(project, tmp_path):
    path = write_jsonl(tmp_path / "valid.json", [dict(r, yjcaptions_id=f"y{i}") for i, r in enumerate(JNLI_ROWS)])
    [result] = _import(project, "jnli", "valid", path)
    assert result.created and result.rows == 3
    assert result.counts == {"entailment": 1, "contradiction": 1, "neutral": 1}
    page = project.browse(result.dataset_id)
    assert list(page.rows["text_b"]) == [r["sentence2"] for r in JNLI_ROWS]
    assert list(page.rows["source_id"]) == ["0", "1", "2"]
    with project.db.transaction() as con:
        provenance = con.execute("SELECT provenance FROM examples ORDER BY row_idx LIMIT 1").fetchall()[0][0]
    assert json.loads(provenance) == {"file": "valid.json", "where": "line 1", "extra": {"yjcaptions_id": "y0"}}


def test_importing_the_same_file_twice_adds_nothing(project, tmp_path):
    path = write_jsonl(tmp_path / "valid.json", JNLI_ROWS)
    first = _import(project, "jnli", "valid", path)[0]
    again = _import(project, "jnli", "valid", path)[0]
    assert again.dataset_id == first.dataset_id and not again.created
    assert [d["rows"] for d in project.datasets()] == [3]


def test_jsts_scores_are_floats_counted_by_nearest_grade(project, tmp_path):
    rows = [
        {"sentence1": "a", "sentence2": "b", "label": s, "sentence_pair_id": str(i)}
        for i, s in enumerate([0.0, 2.6, 4.4, 5.0])
    ]
    [result] = _import(project, "jsts", "valid", write_jsonl(tmp_path / "jsts.json", rows))
    assert result.counts == {"0": 1, "3": 1, "4": 1, "5": 1}
    assert list(project.browse(result.dataset_id, labels=["3"]).rows["score"]) == [2.6]


def test_jcola_jsonl_and_tsv_with_and_without_header(project, tmp_path):
    jsonl = write_jsonl(
        tmp_path / "jcola.json",
        [{"uid": 1, "source": "s", "label": 1, "diacritic": "g", "sentence": "太郎が走った。", "original": "x"},
         {"uid": 2, "source": "s", "label": 0, "diacritic": "*", "sentence": "太郎を走った。", "original": "x"}],
    )  # fmt: skip
    assert _import(project, "jcola", "train", jsonl)[0].counts == {"unacceptable": 1, "acceptable": 1}
    cola = tmp_path / "cola.tsv"  # CoLA layout: source, label, diacritic, sentence; no header
    cola.write_text("s\t1\t\t花子が笑った。\ns\t0\t*\t花子を笑った。\n", encoding="utf-8")
    assert _import(project, "jcola", "dev", cola)[0].counts == {"unacceptable": 1, "acceptable": 1}
    headed = tmp_path / "headed.tsv"
    headed.write_text("uid\tlabel\tsentence\n1\t1\t次郎が来た。\n", encoding="utf-8")
    assert _import(project, "jcola", "test", headed)[0].counts == {"acceptable": 1}


def test_generic_csv_and_parquet_with_a_column_mapping(project, tmp_path):
    fields = GoldFields(text="tweet", label="class")
    csv_path = tmp_path / "covid.csv"
    csv_path.write_text('tweet,class\n"ワクチンの接種が始まった, 東京で",general_fact\n熱が出た,64\n', encoding="utf-8")
    [result] = _import(project, "covid19", "train", csv_path, fields=fields)
    assert result.counts == {"general_fact": 1, "personal_fact": 1}
    parquet = tmp_path / "marc.parquet"  # MARC-ja as Parquet: label as class index 0=positive 1=negative
    pd.DataFrame({"sentence": ["良い", "悪い", "最高"], "label": [0, 1, 0], "review_id": ["a", "b", "c"]}).to_parquet(
        parquet
    )
    assert _import(project, "marc_ja", "train", parquet)[0].counts == {"positive": 2, "negative": 1}


def test_covid_labels_are_the_gifu_assessment_ids_and_66_68_are_refused_unless_mapped(project, tmp_path, capsys):
    path = tmp_path / "gifu.csv"
    path.write_text("text,label\n一般,63\n個人,64\n意見,65\n無関係,67\n", encoding="utf-8")
    counts = _import(project, "covid19", "train", path)[0].counts
    assert counts == {"general_fact": 1, "personal_fact": 1, "opinion": 1, "unrelated": 1}
    other = tmp_path / "gifu66.csv"
    other.write_text("text,label\n一般,63\nその他,66\nもう一つ,68\n", encoding="utf-8")
    with pytest.raises(GoldImportError, match=r"line 3: label '?66'? is not a label .*65=opinion, 67=unrelated"):
        _import(project, "covid19", "train", other)
    task = project.registry["covid19"]
    mapping = parse_label_map(task, ["66=opinion", "68=意見・感想"])
    assert mapping == (("66", "opinion"), ("68", "opinion"))
    [result] = import_gold(project.db, task, "train", path=other, options=ImportOptions(label_map=mapping))
    assert result.counts == {"general_fact": 1, "opinion": 2}
    assert "63=general_fact" in label_id_note(task, ImportOptions()) and "--map-label" in label_id_note(
        task, ImportOptions()
    )
    assert "66→opinion" in label_id_note(task, ImportOptions(label_map=mapping))
    assert label_id_note(project.registry["jnli"], ImportOptions()) is None
    with pytest.raises(JapagenError, match="RAW=LABEL"):
        parse_label_map(task, ["66"])
    from japagen_core.cli import main

    assert main(["import-gold", "--task", "covid19", "--split", "dev", str(other), "--map-label", "66=unrelated",
                 "--map-label", "68=unrelated"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "covid19: label ids read as 63=general_fact" in out and "66→unrelated, 68→unrelated" in out


def test_user_task_imports_like_a_paper_task(project, tmp_path):
    path = write_jsonl(
        tmp_path / "inq.jsonl",
        [{"text": "請求書が届きません", "label": "billing"}, {"text": "壊れていた", "label": "商品・使い方"}],
    )
    assert _import(project, "customer_inquiry", "train", path)[0].counts == {"billing": 1, "product": 1}


def _livedoor_corpus(root: Path, per_category: int = 4) -> Path:
    text = root / "text"
    for category in ["topic-news", "sports-watch", "smax"]:
        (text / category).mkdir(parents=True)
        (text / category / "LICENSE.txt").write_text("not an article", encoding="utf-8")
        for i in range(per_category):
            body = f"http://news.livedoor.com/{i}\n2012-01-0{i + 1}T00:00:00+0900\n{category} の見出し {i}\n本文 {i}。\n\n続き。\n"
            (text / category / f"{category}-{1000 + i}.txt").write_text(body, encoding="utf-8")
    (text / "README.txt").write_text("readme", encoding="utf-8")
    return root


def test_livedoor_folder_and_tar_gz_split_by_seed(project, tmp_path):
    corpus = _livedoor_corpus(tmp_path / "ldcc")
    results = _import(project, "livedoor", "all", corpus / "text")
    assert [r.split for r in results] == ["train", "dev", "test"]
    assert sum(r.rows for r in results) == 12
    archive = tmp_path / "ldcc-20140209.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(corpus / "text", arcname="text")
    [train] = _import(project, "livedoor", "train", archive)
    assert train.rows == results[0].rows
    page = project.browse(train.dataset_id)
    assert page.rows["text"].str.contains("見出し").all() and not page.rows["text"].str.contains("http").any()


def test_livedoor_paper_sizes_need_enough_articles(project, tmp_path):
    corpus = _livedoor_corpus(tmp_path / "ldcc")
    with pytest.raises(GoldImportError, match="paper's split needs 6475 articles; this corpus has 12"):
        _import(project, "livedoor", "train", corpus, livedoor_sizes="paper")


def test_demo_project_loads_every_demo_file_once_and_can_be_removed(project):
    results = load_demo(project.db, project.registry, analyse=False)  # tests/test_demo.py: the analysis
    tasks = {p.stem.removeprefix("synthetic_") for p in DEMO_DIR.glob("*.jsonl")}  # gold and synthetic files
    assert {r.dataset_id.split("-")[0] for r in results} == tasks
    assert all(d["is_demo"] and d["name"].startswith("Demo") for d in project.datasets())
    assert not any(r.created for r in load_demo(project.db, project.registry, analyse=False))
    assert remove_demo(project.db) == len(results) and project.datasets() == []


def _bad(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _lines(*rows) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


GOOD = {"sentence1": "犬", "sentence2": "猫", "label": "neutral"}
BAD_FILES = [
    ("not JSON at all", "a.json", b'{"sentence1": "x"\n' + _lines(GOOD), "line 1: not valid JSON"),
    (
        "unknown label",
        "b.json",
        _lines(GOOD, dict(GOOD, label="maybe")),
        "line 2: label 'maybe' is not a label of task 'jnli'",
    ),
    (
        "missing field",
        "c.json",
        _lines(GOOD, {"sentence1": "x", "label": "neutral"}),
        "line 2: missing field 'sentence2'",
    ),
    ("empty text", "d.json", _lines(GOOD, GOOD, dict(GOOD, sentence1="  ")), "line 3: field 'sentence1' is empty"),
    ("bad encoding", "e.json", _lines(GOOD) + '{"sentence1": "犬"}\n'.encode("shift_jis"), "line 2: not valid UTF-8"),
    (
        "truncated last line",
        "f.json",
        _lines(GOOD, GOOD) + b'{"sentence1": "\xe7\x8a\xac", "sent',
        "line 3: truncated last line",
    ),
    (
        "a file cut off mid-character is not called Shift_JIS",
        "e2.json",
        _lines(GOOD) + '{"sentence1": "犬'.encode()[:-1],
        f"line 2: the file ends in the middle of a UTF-8 character (byte offset {len(_lines(GOOD)) + 15})",
    ),
    (
        "one character cut short inside the file",
        "e3.json",
        _lines(GOOD) + b'{"sentence1": "\xe7\x8a", "sentence2": "x", "label": "neutral"}\n' + _lines(GOOD),
        f"line 2: a UTF-8 character is cut short at byte offset {len(_lines(GOOD)) + 15}",
    ),
    ("a raw tab in a string", "e4.json", b'{"sentence1": "a\tb"}\n', "JSON (Invalid control character at column 17)"),
    ("a binary file", "g.json", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    ("text that is a number", "h.json", _lines(dict(GOOD, sentence2=7)), "line 1: field 'sentence2' must be text"),
    ("not an object", "i.json", _lines(GOOD, ["a", "b"]), "line 2: expected a JSON object"),
    ("empty file", "j.json", b"", "the file has no rows"),
    ("wrong extension", "k.xlsx", b"data", "cannot tell the format"),
]


@pytest.mark.parametrize(("case", "name", "content", "message"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_files_are_refused_and_change_nothing(project, tmp_path, case, name, content, message):
    _import(project, "jnli", "train", write_jsonl(tmp_path / "ok.json", JNLI_ROWS))
    before = table_snapshot(project)
    with pytest.raises(GoldImportError) as error:
        _import(project, "jnli", "valid", _bad(tmp_path, name, content))
    assert name in str(error.value) and message in str(error.value)
    assert table_snapshot(project) == before


def test_more_problems_further_on_are_counted(project, tmp_path):
    content = _lines(GOOD, dict(GOOD, label="x"), dict(GOOD, label="y"), dict(GOOD, label="z"))
    with pytest.raises(GoldImportError, match=r"line 2: .*'x'.*\(and 2 more problem\(s\) further on\)"):
        _import(project, "jnli", "valid", _bad(tmp_path, "m.json", content))


BAD_OTHER = [
    ("a JNLI file imported as JCoLA", "jcola", "jnli.json", _lines(GOOD), {}, "line 1: missing field 'sentence'"),
    ("JSTS score out of range", "jsts", "s.json", _lines(dict(GOOD, label=7.5)), {}, "line 1: score 7.5 is outside"),
    ("csv wrong column count", "covid19", "c.csv", b"text,label\na,opinion\nb,opinion,extra\n", {}, "line 3: expected 2 columns, found 3"),
    ("csv truncated last line", "covid19", "t.csv", b"text,label,note\na,opinion,x\nb,opin", {}, "line 3: truncated last line"),
    ("csv unterminated quote", "covid19", "q.csv", b'text,label\n"abc,opinion\n', {}, "malformed CSV"),
    ("csv label outside the task", "covid19", "l.csv", "text,label\nこんにちは,neutral\n".encode(), {}, "line 2: label 'neutral'"),
    ("broken parquet", "marc_ja", "p.parquet", b"PAR1 not really", {}, "not a readable Parquet file"),
    ("broken tar.gz", "livedoor", "ldcc.tar.gz", b"\x1f\x8b broken", {}, "not a readable .tar.gz archive"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "task", "name", "content", "options", "message"), BAD_OTHER, ids=[c[0] for c in BAD_OTHER]
)
def test_other_bad_inputs(project, tmp_path, case, task, name, content, options, message):
    before = table_snapshot(project)
    with pytest.raises(GoldImportError) as error:
        _import(project, task, "train", _bad(tmp_path, name, content), **options)
    assert message in str(error.value)
    assert table_snapshot(project) == before


def test_jcola_label_outside_the_task(project, tmp_path):
    content = _lines({"uid": 1, "label": 2, "sentence": "文。"})
    with pytest.raises(GoldImportError, match="line 1: label 2 is not a label of task 'jcola'"):
        _import(project, "jcola", "train", _bad(tmp_path, "x.json", content))


def test_livedoor_unknown_category_is_named(project, tmp_path):
    corpus = _livedoor_corpus(tmp_path / "ldcc")
    (corpus / "text" / "gourmet").mkdir()
    (corpus / "text" / "gourmet" / "gourmet-1.txt").write_text("u\nd\nt\nb\n", encoding="utf-8")
    with pytest.raises(GoldImportError, match=r"gourmet-1\.txt: label 'gourmet' is not a label"):
        _import(project, "livedoor", "train", corpus)


def test_uploaded_bytes_import_like_a_path(project):
    data = io.BytesIO(_lines(*JNLI_ROWS)).getvalue()
    [prepared] = prepare_gold(project.registry["jnli"], "valid", data=data, source_name="upload.jsonl")
    assert prepared.info.source == "upload.jsonl" and len(prepared.examples) == 3


def test_real_jnli_valid(project, gold_dir):
    [result] = _import(project, "jnli", "valid", gold_dir / "jglue" / "jnli-v1.3_valid-v1.3.json")
    assert result.rows == 2434
    assert result.counts == {"entailment": 349, "contradiction": 735, "neutral": 1350}


def test_real_jcola_and_jsts(project, gold_dir):
    [jcola] = _import(project, "jcola", "valid", gold_dir / "jcola" / "in_domain_valid-v1.0.json")
    assert jcola.rows == 865 and jcola.counts["acceptable"] + jcola.counts["unacceptable"] == 865
    [jsts] = _import(project, "jsts", "valid", gold_dir / "jglue" / "jsts-v1.3_valid-v1.3.json")
    assert jsts.rows == 1457 and sum(jsts.counts.values()) == 1457


def test_csv_float_labels_and_multiline_records(project, tmp_path):
    path = tmp_path / "jcola.csv"
    path.write_text('sentence,label\n"一行目\n二行目",1\n文。,0\n', encoding="utf-8")
    assert _import(project, "jcola", "train", path)[0].counts == {"unacceptable": 1, "acceptable": 1}
    floats = tmp_path / "floats.csv"  # a decimal is a score, not a class id (before: read as 1 and 0)
    floats.write_text('sentence,label\n"一行目\n二行目",1.0\n文。,0.0\n', encoding="utf-8")
    with pytest.raises(GoldImportError, match=r"line 2: label '1.0' is a decimal number, but task 'jcola'"):
        _import(project, "jcola", "train", floats)
    bad = tmp_path / "bad.csv"
    bad.write_text('sentence,label\n"一行目\n二行目",7\n', encoding="utf-8")
    with pytest.raises(GoldImportError, match=r"line 2: label 7 is not a label"):
        _import(project, "jcola", "train", bad)


def test_utf16_and_lone_surrogates_are_named(project, tmp_path):
    utf16 = _bad(tmp_path, "u.csv", "text,label\n熱,opinion\n".encode("utf-16"))
    with pytest.raises(GoldImportError, match="UTF-16"):
        _import(project, "covid19", "train", utf16)
    surrogate = _bad(tmp_path, "s.json", b'{"text": "a\\ud800b", "label": "opinion"}\n')
    with pytest.raises(GoldImportError, match="line 1: field 'text' holds an invalid character"):
        _import(project, "covid19", "train", surrogate)


def test_livedoor_split_does_not_depend_on_field_options(project, tmp_path):
    corpus = _livedoor_corpus(tmp_path / "ldcc")
    all_parts = _import(project, "livedoor", "all", corpus, fields=GoldFields(text="x", label="y"))
    [train] = _import(project, "livedoor", "train", corpus)
    assert train.dataset_id == all_parts[0].dataset_id and not train.created


def test_a_score_file_with_whole_numbers_is_refused_by_a_classification_task(project, tmp_path):
    # JSTS's scores as JSON numbers: 0.0, 1.0 and 2.0 would have been JNLI's label ids 0, 1 and 2
    rows = [{"sentence1": f"文{i}", "sentence2": f"文{i}。", "label": float(i % 3)} for i in range(6)]
    path = write_jsonl(tmp_path / "jsts_whole.json", rows)
    before = table_snapshot(project)
    with pytest.raises(GoldImportError) as refused:
        _import(project, "jnli", "train", path)
    message = str(refused.value)
    assert "line 1: label 0.0 is a decimal number, but task 'jnli' takes label names or whole-number ids" in message
    assert "0=entailment" in message and "score task" in message and "(and 5 more problem(s) further on)" in message
    assert table_snapshot(project) == before
    assert _import(project, "jsts", "train", path)[0].rows == 6  # where it belongs
    parquet = tmp_path / "scores.parquet"
    pd.DataFrame({"sentence": ["良い", "悪い"], "label": [0.0, 1.0]}).to_parquet(parquet)
    with pytest.raises(GoldImportError, match=r"row 1: label 0.0 is a decimal number"):
        _import(project, "marc_ja", "train", parquet)


@pytest.mark.parametrize(
    ("name", "split"),
    [("jnli-v1.3_valid-v1.3.json", "valid"), ("in_domain_train-v1.0.json", "train"), ("dev.tsv", "valid"),
     ("marc_ja-test.csv", "test"), ("x_validation.jsonl", "valid"), ("JSTS_VALID.json", "valid"),
     ("/data/valid/x.json", None), ("contest.csv", None), ("latest.json", None), ("data.csv", None)],
)  # fmt: skip
def test_the_split_is_guessed_from_the_file_name(name, split):
    assert guess_split(name) == split


def test_a_long_import_reports_rows_read_checked_and_written(project, tmp_path):
    rows = [{"sentence1": f"犬が{i}匹いる。", "sentence2": "動物がいる。", "label": "entailment"} for i in range(5000)]
    path = write_jsonl(tmp_path / "big_train.json", rows)
    heard = []
    [result] = import_gold(project.db, project.registry["jnli"], "train", path=path,
                           progress=lambda *event: heard.append(event))  # fmt: skip
    assert result.rows == 5000
    read = [e for e in heard if e[0] == "read"]
    assert [done for _, done, _ in read] == sorted(done for _, done, _ in read) and read[-1][1:] == (5000, 5000)
    assert all(total >= done for _, done, total in read)  # read in bulk: after each block (one here)
    assert [e for e in heard if e[0] == "check"][-1] == ("check", 5000, 5000)
    assert heard[-1] == ("write", 0, 5000)
    csv = tmp_path / "big.csv"
    csv.write_text("sentence,label\n" + "".join(f"文{i},1\n" for i in range(4500)), encoding="utf-8")
    heard.clear()
    import_gold(project.db, project.registry["jcola"], "train", path=csv, progress=lambda *event: heard.append(event))
    assert ("read", 4500, 4500) in heard and ("check", 4500, 4500) in heard
    read = [e for e in heard if e[0] == "read"]
    assert len(read) >= 3  # record by record: every 2,000 rows, then the end
