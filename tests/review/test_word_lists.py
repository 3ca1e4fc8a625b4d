"""KADG word lists: validation, versions, revert, sha stability, per-word statistics, and a real
generation that records the edited list in every example's provenance."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from japagen_core.errors import JapagenError
from japagen_core.generation.prompts import PromptError, load_words
from japagen_core.metrics.self_bleu import self_bleu
from japagen_core.metrics.tokenizers import Tokenizer
from japagen_core.review import word_lists as wl
from japagen_core.storage import repository as repo
from tests.generation.test_run import run as generate
from tests.openai_server import FakeOpenAI, ServerConfig

# -- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "problem"),
    [
        ([], "the list has no words"),
        (["本", ""], "line 2: the word is empty"),
        (["本", "   "], "line 2: the word is empty"),
        (["本", " 海"], "line 2: ' 海' has whitespace before or after it"),
        (["本", "海\u3000"], "line 2: '海\\u3000' has whitespace before or after it"),  # a full-width space
        (["本", "海", "本"], "line 3: '本' repeats line 1 '本'"),
        (["DVD", "ｄｖｄ"], "line 2: 'ｄｖｄ' repeats line 1 'DVD' (apart from width or case)"),
        (["本", "海\t空"], "line 2: '海\\t空' contains a line break or control character"),
        (["#本"], "line 1: '#本' starts with '#'"),
        (["本", "あ" * 101], "line 2: 'ああああああああああああああああああああ'... has 101 characters; at most 100"),
    ],
)
def test_validation_names_the_line_and_the_word(words, problem):
    problems = wl.validate_words(words)
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_every_problem_is_reported_and_nothing_is_saved(project):
    with pytest.raises(wl.WordListError) as err:
        wl.save_words(project, "marc_ja", ["本", "", " 海", "本"], author="ann")
    assert [p.split(":")[0] for p in err.value.problems] == ["line 2", "line 3", "line 4"]
    assert "line 2" in str(err.value) and "line 4" in str(err.value)
    assert wl.list_versions(project, "marc_ja")[-1].version == 0


def test_parse_lines_keeps_every_line_but_the_trailing_blank_ones():
    assert wl.parse_lines("本\r\n\n 海\n\n  \n") == ["本", "", " 海"]
    assert wl.parse_lines("") == []


def test_the_sha_depends_on_the_words_and_their_order_only():
    assert wl.words_sha(["本", "海"]) == wl.words_sha(("本", "海")) != wl.words_sha(["海", "本"])
    assert len(wl.words_sha(["本"])) == 12


# -- versions ---------------------------------------------------------------------------------------


def test_the_file_is_version_0_until_a_save_then_the_newest_save_is_current(project):
    shipped = load_words(project.settings.prompts_dir, "marc_ja")
    current = wl.current_words(project, "marc_ja")
    assert (current.version, current.words, current.author) == (0, shipped.words, "file")
    assert current.sha == shipped.version  # a plain file's sha is the hash of its bytes, as before

    v1 = wl.save_words(project, "marc_ja", [*shipped.words, "宇宙船"], author="ann", note="space", expected_version=0)
    v2 = wl.save_words(project, "marc_ja", ["宇宙船", "海"], author="bob", expected_version=1)
    assert (v1.version, v2.version) == (1, 2)
    assert wl.current_words(project, "marc_ja") == v2
    history = wl.list_versions(project, "marc_ja")
    assert [(v.version, v.author, v.note) for v in history] == [
        (0, "file", "the file kadg/marc_ja.txt"), (1, "ann", "space"), (2, "bob", None)
    ]  # fmt: skip
    assert history[1].words[-1] == "宇宙船" and history[1].created_at is not None
    assert wl.current_words(project, "jnli").version == 0  # lists are independent


def test_refused_saves_write_nothing(project):
    words = wl.current_words(project, "jnli").words
    with pytest.raises(JapagenError, match="nothing to save: the words are the same as version 0"):
        wl.save_words(project, "jnli", list(words), author="ann")
    with pytest.raises(JapagenError, match="needs an author"):
        wl.save_words(project, "jnli", ["海"], author="  ")
    wl.save_words(project, "jnli", ["海"], author="ann", expected_version=0)
    with pytest.raises(wl.WordListConflictError, match=r"changed since you opened version 0.*now version 1 by ann"):
        wl.save_words(project, "jnli", ["山"], author="bob", expected_version=0)
    assert [v.version for v in wl.list_versions(project, "jnli")] == [0, 1]


def test_revert_appends_a_copy_with_the_same_sha(project):
    v0 = wl.current_words(project, "jsts")
    v1 = wl.save_words(project, "jsts", ["海", "山"], author="ann")
    v2 = wl.revert(project, "jsts", 0, author="bob", expected_version=1)
    assert (v2.version, v2.words, v2.sha, v2.note) == (2, v0.words, v0.sha, "revert to version 0")
    v3 = wl.revert(project, "jsts", 1, author="bob")
    assert v3.sha == v1.sha and v3.version == 3
    assert [v.version for v in wl.list_versions(project, "jsts")] == [0, 1, 2, 3]  # nothing rewritten
    with pytest.raises(JapagenError, match="same as version 3"):
        wl.revert(project, "jsts", 1, author="bob")
    with pytest.raises(JapagenError, match="no version 9"):
        wl.revert(project, "jsts", 9, author="bob")


def test_a_list_without_a_file_starts_at_version_1(project):
    with pytest.raises(PromptError, match="not found"):
        wl.current_words(project, "brand_new")
    assert wl.list_versions(project, "brand_new") == []
    saved = wl.save_words(project, "brand_new", ["海"], author="ann", expected_version=None)
    assert saved.version == 1 and wl.current_words(project, "brand_new") == saved


def test_diff_lists_added_and_removed_words_and_a_new_order():
    change = wl.diff(["本", "海", "山"], ["山", "海", "空"])
    assert (change.added, change.removed, change.reordered) == (["空"], ["本"], True)
    assert change.as_text().splitlines() == ["+ 空", "- 本", "(the words both lists hold are in a different order)"]
    assert not wl.diff(["本"], ["本"]).changed and wl.diff(["本"], ["本"]).as_text() == "(no change)"
    assert wl.diff(["本", "海"], ["本", "空", "海"]) == wl.WordDiff(added=["空"])


def test_task_lists_are_the_specs_with_a_word_list(project):
    lists = wl.task_lists(project)
    assert lists["jnli"] == "jnli" and lists["marc_ja"] == "marc_ja"
    assert "livedoor" not in lists  # its KADG variant has no word list


# -- statistics -------------------------------------------------------------------------------------


def _synthetic(project, task: str, run_id: str, rows: list[tuple], *, kind: str = "synthetic") -> str:
    """A dataset of (text, text_b, label, kadg word) rows, as a KADG run would leave them."""
    frame = pd.DataFrame(
        {
            "row_idx": range(len(rows)),
            "text": [r[0] for r in rows],
            "text_b": [r[1] for r in rows],
            "label": [r[2] for r in rows],
            "score": [None] * len(rows),
            "split": kind,
            "source": "llm",
            "source_id": None,
            "provenance": [json.dumps({"setting": "kadg", "kadg_word": r[3]}, ensure_ascii=False) for r in rows],
        }
    )
    info = repo.DatasetInfo(run_id, task, kind, kind, run_id, "llm", "llm", run_id, False, len(rows))
    with project.db.transaction() as con:
        repo.insert_dataset(con, info, frame)
    return run_id


def _predictions(project, dataset_id: str, predicted: list[str], *, analysis_id: str, created_at: str) -> None:
    with project.db.transaction() as con:
        con.execute(
            "INSERT INTO analysis_results (id, kind, dataset_id, signature, created_at, result) "
            "VALUES (?, 'correctness', ?, 'sig', ?, '{}')",
            [analysis_id, dataset_id, created_at],
        )
        for row_idx, label in enumerate(predicted):
            con.execute(
                "INSERT INTO example_predictions (analysis_id, dataset_id, row_idx, predicted) VALUES (?, ?, ?, ?)",
                [analysis_id, dataset_id, row_idx, label],
            )


BOOK = ["この本はとても面白かったです。", "読みやすい本でした。", "期待はずれの本でした。", "この本は高すぎます。"]


def test_word_stats_count_score_and_check_each_word(project):
    first = wl.current_words(project, "marc_ja").words[0]  # 本・漫画・雑誌
    rows = [(t, None, "positive" if i < 2 else "negative", first) for i, t in enumerate(BOOK)]
    rows += [("宇宙船の模型が届きました。", None, "positive", "宇宙船")]  # a word no longer in the list
    run = _synthetic(project, "marc_ja", "run-a", rows)
    _synthetic(project, "marc_ja", "run-b", [("良い本です。", None, "positive", first)])
    _synthetic(project, "marc_ja", "gold-x", [("金の本。", None, "positive", first)], kind="gold")  # not a run
    _synthetic(project, "jnli", "run-c", [("海です。", "海。", "entailment", first)])  # another task
    _predictions(project, run, ["negative"] * 5, analysis_id="old", created_at="2026-01-01")
    _predictions(project, run, ["positive", "positive", "positive", "negative", "negative"],
                 analysis_id="new", created_at="2026-02-01")  # fmt: skip

    stats = wl.word_stats(project, "marc_ja", "marc_ja")
    assert list(stats.columns) == wl.STATS_COLUMNS
    assert list(stats["word"])[:2] == [first, wl.current_words(project, "marc_ja").words[1]]
    row = stats.set_index("word").loc[first]
    assert (row["examples"], row["runs"], row["texts scored"], row["checked"]) == (5, 2, 5, 4)
    assert row["label correct"] == 0.75  # the newest analysis: 3 of the 4 checked examples agree
    texts = [*BOOK, "良い本です。"]
    expected = self_bleu(Tokenizer("surface").tokenize_all(texts)).score
    assert row["Self-BLEU"] == pytest.approx(expected, abs=0.01)
    retired = stats.iloc[-1]
    assert retired["word"] == "宇宙船" and not retired["in current list"] and retired["examples"] == 1
    assert pd.isna(retired["Self-BLEU"]) and retired["label correct"] == 0.0  # one text, wrongly predicted
    unused = stats.set_index("word").loc[wl.current_words(project, "marc_ja").words[1]]
    assert unused["examples"] == 0 and pd.isna(unused["label correct"])
    assert "tok:mecab-surface" in stats.attrs["signature"] and "sample:200-per-word|seed:0" in stats.attrs["signature"]


def test_word_stats_of_pairs_count_a_shared_first_sentence_once(project):
    rows = [("犬が走る。", "動物が走る。", "entailment", "人々"), ("犬が走る。", "猫が寝る。", "contradiction", "人々"),
            ("犬が走る。", "犬は速い。", "neutral", "人々")]  # fmt: skip
    _synthetic(project, "jnli", "run-p", rows)
    stats = wl.word_stats(project, "jnli", "jnli").set_index("word")
    assert stats.loc["人々", "texts scored"] == 4 and pd.isna(stats.loc["人々", "label correct"])
    assert "pair:distinct-first+second" in wl.word_stats(project, "jnli", "jnli").attrs["signature"]


def test_word_stats_of_a_score_task_compare_the_nearest_grade(project):
    rows = [("犬が走る。", "犬が走っている。", "5", "人々"), ("犬が走る。", "猫が寝る。", "0", "人々")]
    run = _synthetic(project, "jsts", "run-j", rows)
    with project.db.transaction() as con:
        con.execute("INSERT INTO analysis_results (id, kind, dataset_id, signature, result) "
                    "VALUES ('a', 'correctness', ?, 'sig', '{}')", [run])  # fmt: skip
        con.execute("INSERT INTO example_predictions (analysis_id, dataset_id, row_idx, score) "
                    "VALUES ('a', ?, 0, 4.6), ('a', ?, 1, 1.5)", [run, run])  # fmt: skip
    stats = wl.word_stats(project, "jsts", "jsts").set_index("word")
    assert (stats.loc["人々", "label correct"], stats.loc["人々", "checked"]) == (0.5, 2)  # 4.6 -> 5 yes, 1.5 -> 2 no


def test_word_stats_sample_at_most_per_word_texts(project):
    word = wl.current_words(project, "marc_ja").words[0]
    _synthetic(project, "marc_ja", "run-s", [(f"{i}冊目の本は面白い。", None, "positive", word) for i in range(30)])
    small = wl.word_stats(project, "marc_ja", "marc_ja", per_word=10).set_index("word")
    assert small.loc[word, "texts scored"] == 10 and small.loc[word, "examples"] == 30
    assert wl.word_stats(project, "marc_ja", "marc_ja", per_word=10).equals(
        wl.word_stats(project, "marc_ja", "marc_ja", per_word=10)
    )  # seeded


# -- generation ---------------------------------------------------------------------------------------


@pytest.fixture
def fake():
    server = FakeOpenAI(ServerConfig()).start()
    yield server
    server.stop()


def test_a_word_added_in_the_editor_is_in_the_next_generation(project, fake, tmp_path):
    cfg, _, rows, _ = generate(project, fake, tmp_path, task="marc_ja", setting="kadg", per_label=3)
    shipped = wl.current_words(project, "marc_ja")
    for *_, provenance, _ in rows:
        p = json.loads(provenance)
        assert (p["words_list"], p["words_list_version"], p["words_version"]) == ("marc_ja", 0, shipped.sha)

    with_new = wl.save_words(project, "marc_ja", [*shipped.words, "宇宙船"], author="ann", expected_version=0)
    only_new = wl.save_words(project, "marc_ja", ["宇宙船"], author="ann", expected_version=1)  # a certain draw
    fake.requests.clear()
    cfg, _, rows, _ = generate(project, fake, tmp_path, task="marc_ja", setting="kadg", per_label=3)
    assert len(rows) == 6 and with_new.version == 1
    for *_, provenance, _ in rows:
        p = json.loads(provenance)
        assert p["kadg_word"] == "宇宙船" and p["run_id"] == cfg.run_id
        assert (p["words_list_version"], p["words_version"]) == (2, only_new.sha)
    assert all("「宇宙船」" in r["body"]["messages"][0]["content"] + r["body"]["messages"][1]["content"]
               for r in fake.requests)  # fmt: skip


def test_revert_never_offers_the_current_words_and_the_comparison_follows_the_newest(project):
    assert wl.compare_pair(wl.list_versions(project, "marc_ja")) is None  # only the file: nothing to compare
    shipped = wl.current_words(project, "marc_ja")
    wl.save_words(project, "marc_ja", ["宇宙船", "海"], author="ann")
    wl.save_words(project, "marc_ja", ["宇宙船", "海", "山"], author="ann")
    versions = wl.list_versions(project, "marc_ja")
    assert wl.compare_pair(versions) == (1, 2)
    assert wl.revert_choices(versions, wl.current_words(project, "marc_ja")) == [1, 0]  # newest first
    wl.revert(project, "marc_ja", 0, author="ann")  # version 3 = the file's words
    versions = wl.list_versions(project, "marc_ja")
    current = wl.current_words(project, "marc_ja")
    assert current.sha == shipped.sha and wl.compare_pair(versions) == (2, 3)
    assert wl.revert_choices(versions, current) == [2, 1]  # neither 3 (current) nor 0 (the same words)
    assert wl.revert_choices(versions, None) == [3, 2, 1, 0]  # an unreadable current list: any version
