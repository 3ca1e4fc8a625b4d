"""Import refuses over-long texts and NUL characters in every format, naming file, place and length;
the store is unchanged. The path field of the app reads only gold data files."""

import json
import os
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from japagen_core.datasets.importers import ImportOptions, checked_gold_path, import_gold
from japagen_core.errors import GoldImportError
from japagen_core.settings import DEFAULT_MAX_TEXT_CHARS, Settings
from tests.conftest import table_snapshot, write_jsonl

GOOD = {"sentence1": "犬が走る。", "sentence2": "猫が寝る。", "label": "neutral"}
LONG = "長" * 600_000


def _import(project, task, split, path, **options):
    return import_gold(project.db, project.registry[task], split, path=path, options=ImportOptions(**options))


def _refused(project, tmp_path, path, task="jnli", **options) -> str:
    write_jsonl(tmp_path / "ok.json", [GOOD])
    _import(project, "jnli", "train", tmp_path / "ok.json")
    before = table_snapshot(project)
    with pytest.raises(GoldImportError) as error:
        _import(project, task, "valid", path, **options)
    assert table_snapshot(project) == before  # all or nothing
    return str(error.value)


def test_a_600k_character_jsonl_line_is_refused_with_line_and_length(project, tmp_path):
    path = write_jsonl(tmp_path / "long.jsonl", [GOOD, GOOD, dict(GOOD, sentence2=LONG)])
    message = _refused(project, tmp_path, path)
    assert "long.jsonl, line 3: field 'sentence2' is 600,000 characters long" in message
    assert f"{DEFAULT_MAX_TEXT_CHARS:,}" in message and "JAPAGEN_MAX_TEXT_CHARS" in message
    assert LONG[:100] not in message


def test_a_nul_in_a_long_text_file_is_named_by_line(project, tmp_path):
    path = tmp_path / "late.jsonl"
    path.write_bytes(((json.dumps(GOOD) + "\n") * 2000).encode() + b"\x00\n")
    assert "late.jsonl, line 2001: holds a NUL character" in _refused(project, tmp_path, path)


def test_csv_and_parquet_rows_are_refused_too(project, tmp_path):
    frame = pd.DataFrame([GOOD, dict(GOOD, sentence1="x" * 50_001)])
    frame.to_csv(tmp_path / "long.csv", index=False)
    assert "long.csv, line 3: field 'sentence1' is 50,001 characters" in _refused(
        project, tmp_path, tmp_path / "long.csv"
    )
    frame.to_parquet(tmp_path / "long.parquet")
    pd.DataFrame([dict(GOOD, sentence2="a\x00b")]).to_parquet(tmp_path / "nul.parquet")
    assert "nul.parquet, row 1: field 'sentence2' holds a NUL character" in _refused(
        project, tmp_path, tmp_path / "nul.parquet"
    )
    assert "long.parquet, row 2: field 'sentence1' is 50,001 characters" in _refused(
        project, tmp_path, tmp_path / "long.parquet"
    )


def test_livedoor_article_over_the_limit_is_named(project, tmp_path):
    folder = tmp_path / "ldcc" / "text" / "smax"
    folder.mkdir(parents=True)
    for i in range(6):
        body = "本文。" * (10 if i else 2000)
        (folder / f"smax-{i}.txt").write_text(f"http://x/{i}\n2012-01-01\n見出し{i}\n{body}\n", encoding="utf-8")
    archive = tmp_path / "ldcc.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "ldcc" / "text", arcname="text")
    message = _refused(project, tmp_path, archive, task="livedoor", max_text_chars=5000)
    assert "text/smax/smax-0.txt: field 'text' is 6,005 characters long; the longest text accepted is 5,000" in message


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        (
            "nul.jsonl",
            (json.dumps(GOOD) + "\n" + json.dumps(dict(GOOD, sentence1="犬\u0000猫")) + "\n").encode(),
            "line 2",
        ),
        ("nul.csv", "sentence1,sentence2,label\n犬,猫\x00が,neutral\n".encode(), "line 2"),
    ],
)
def test_nul_characters_are_refused(project, tmp_path, name, content, where):
    path = tmp_path / name
    path.write_bytes(content)
    message = _refused(project, tmp_path, path)
    assert f"{name}, {where}: " in message and "NUL character" in message


def test_the_limit_is_a_setting():
    assert Settings.from_env({}).max_text_chars == DEFAULT_MAX_TEXT_CHARS
    assert Settings.from_env({"JAPAGEN_MAX_TEXT_CHARS": "100_000"}).max_text_chars == 100_000
    with pytest.raises(ValueError, match="JAPAGEN_MAX_TEXT_CHARS='lots'"):
        Settings.from_env({"JAPAGEN_MAX_TEXT_CHARS": "lots"})


def test_a_raised_limit_accepts_the_long_text(project, tmp_path):
    path = write_jsonl(tmp_path / "long.jsonl", [dict(GOOD, sentence2="長" * 60_000)])
    [result] = _import(project, "jnli", "valid", path, max_text_chars=60_000)
    assert result.rows == 1


def test_default_accepts_every_real_gold_text_by_a_wide_margin(gold_dir):
    longest = 0
    for path in sorted(gold_dir.rglob("*.json")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            longest = max(
                [longest] + [len(v) for k, v in row.items() if k.startswith("sentence") and isinstance(v, str)]
            )
    assert 0 < longest * 50 < DEFAULT_MAX_TEXT_CHARS


def test_path_field_reads_only_gold_data_files(tmp_path):
    (tmp_path / "data.jsonl").write_text("{}\n", encoding="utf-8")
    assert checked_gold_path(str(tmp_path / "data.jsonl")) == tmp_path / "data.jsonl"
    assert checked_gold_path(str(tmp_path)) == tmp_path  # a folder: the extracted Livedoor corpus
    (tmp_path / "secret").write_text("root:x:0:0\n", encoding="utf-8")
    (tmp_path / "secret.csv").symlink_to(tmp_path / "secret")
    os.mkfifo(tmp_path / "pipe.csv")
    for name, problem in [
        (os.path.relpath("/etc/passwd", tmp_path), "not a gold data file"),  # however deep tmp_path is
        ("secret", "not a gold data file"),
        ("secret.csv", "not a gold data file"),  # a link to a file without a data suffix
        ("pipe.csv", "not a regular file"),
        ("missing.csv", "no such file"),
    ]:
        with pytest.raises(GoldImportError, match=problem) as error:
            checked_gold_path(str(tmp_path / name))
        assert "root:x" not in str(error.value)
    with pytest.raises(GoldImportError, match="not a gold data file"):
        checked_gold_path(str(Path("/etc/passwd")))


def test_import_page_shows_nothing_of_a_file_that_is_not_gold_data(home, tmp_path):
    from streamlit.testing.v1 import AppTest

    from japagen_core.settings import PROJECT_ROOT

    secret = tmp_path / "secret"
    secret.write_text("root:x:0:0:secret-line\nsecond\n", encoding="utf-8")
    for path in (secret, tmp_path / ".." / tmp_path.name / "secret", "/etc/passwd"):
        at = AppTest.from_file(str(PROJECT_ROOT / "app" / "main.py"), default_timeout=60).run()
        at.switch_page("../pages/import_data.py").run()
        at.selectbox(key="import_task").select_index(2).run()  # JNLI
        at.radio(key="import_source").set_value("A path on this machine").run()
        at.text_input(key="import_path").set_value(str(path)).run()
        at.selectbox(key="import_format").set_value("csv").run()  # CSV: the first line would be the header
        at.button(key="import_go").click().run()
        assert not at.exception
        shown = [str(e.value) for kind in ("error", "code", "markdown", "caption", "text") for e in getattr(at, kind)]
        assert any("not a gold data file" in s for s in shown), shown
        assert not any("secret-line" in s or "root:x:0:0" in s for s in shown)
