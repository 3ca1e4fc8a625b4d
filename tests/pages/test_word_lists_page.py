"""The Word lists page: edit and save, validation, revert with confirmation, preview, statistics, empty state."""

import json

import pandas as pd
from streamlit.testing.v1 import AppTest

from japagen_core.review import word_lists as wl
from japagen_core.settings import PROJECT_ROOT
from japagen_core.storage import repository as repo
from tests.pages.test_pages import texts

MAIN = str(PROJECT_ROOT / "app" / "main.py")


def _page(reviewer: str | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60)
    if reviewer:
        at.session_state["reviewer"] = reviewer
    at.run()
    at.switch_page("../pages/word_lists.py").run()
    assert not at.exception
    return at


def _codes(at: AppTest) -> str:
    return "\n".join(c.value for c in at.code)


def test_add_a_word_and_save_it_as_version_1(home, project):
    at = _page()
    shipped = wl.current_words(project, "marc_ja")  # the first task in the picker
    assert at.text_area(key="wl_words_marc_ja_0").value == "\n".join(shipped.words)
    assert "No changes yet." in texts(at)
    at.text_area(key="wl_words_marc_ja_0").set_value("\n".join([*shipped.words, "宇宙船"]) + "\n").run()
    assert "+ 宇宙船" in _codes(at)
    assert at.button(key="wl_save").disabled  # no author yet
    at.text_input(key="wl_author").set_value("ann").run()
    at.text_input(key="wl_note").set_value("space toys").run()
    at.button(key="wl_save").click().run()
    assert not at.exception
    assert "Saved version 1 (12 words). The next generation uses it." in texts(at)
    saved = wl.current_words(project, "marc_ja")
    assert (saved.version, saved.words[-1], saved.author, saved.note) == (1, "宇宙船", "ann", "space toys")
    assert at.text_area(key="wl_words_marc_ja_1").value.endswith("宇宙船")
    assert at.text_input(key="wl_note").value == ""
    history = at.dataframe[0].value
    assert list(history["version"]) == [1, 0] and list(history["current"]) == [True, False]


def test_validation_errors_name_the_line_and_nothing_is_saved(home, project):
    at = _page(reviewer="ann")
    assert at.text_input(key="wl_author").value == "ann"  # the Review page's name is the default
    at.text_area(key="wl_words_marc_ja_0").set_value("本\n 海\n\n本\n").run()
    assert "3 problem(s); nothing can be saved until they are fixed:" in texts(at)
    shown = _codes(at)
    assert "line 2: ' 海' has whitespace before or after it" in shown
    assert "line 3: the word is empty" in shown and "line 4: '本' repeats line 1 '本'" in shown
    assert at.button(key="wl_save").disabled
    assert [v.version for v in wl.list_versions(project, "marc_ja")] == [0]


def test_revert_needs_a_confirmation_and_adds_a_version(home, project):
    shipped = wl.current_words(project, "marc_ja")
    wl.save_words(project, "marc_ja", ["宇宙船", "海"], author="bob")
    at = _page(reviewer="ann")
    assert at.selectbox(key="wl_revert_to_marc_ja_1").value == 0
    assert "- 宇宙船" in _codes(at)  # what reverting to the file would change
    assert at.button(key="wl_revert").disabled
    at.checkbox(key="wl_revert_confirm").check().run()
    at.button(key="wl_revert").click().run()
    assert not at.exception
    assert "Version 2 now has the words of version 0." in texts(at)
    current = wl.current_words(project, "marc_ja")
    assert (current.version, current.words, current.sha, current.author) == (2, shipped.words, shipped.sha, "ann")
    assert at.checkbox(key="wl_revert_confirm").value is False
    # the comparison follows the newest version (before: it stayed on 0 -> 1 after saving version 2)
    assert (at.selectbox(key="wl_diff_from_marc_ja_2").value, at.selectbox(key="wl_diff_to_marc_ja_2").value) == (1, 2)
    # version 2 has the file's words: reverting to 0 would change nothing, so only version 1 is offered
    assert at.selectbox(key="wl_revert_to_marc_ja_2").options == ["1"]
    history = at.dataframe[0].value
    assert list(history["saved at (UTC)"])[-1] == "the shipped file" and "None" not in set(history["saved at (UTC)"])
    assert "- 宇宙船" in _codes(at) and "+ 本・漫画・雑誌" in _codes(at)


def test_preview_renders_the_prompt_with_the_chosen_word(home):
    at = _page()
    at.selectbox(key="wl_preview_word_marc_ja").set_value("家電・カメラ").run()
    assert "「家電・カメラ」カテゴリの商品について" in _codes(at)
    at.selectbox(key="wl_task").select_index(2).run()  # JNLI: a pair task, two stages
    assert not at.exception and "Stage 2: the second sentence for the label" in "\n".join(m.value for m in at.markdown)


def test_statistics_table_and_chart_after_a_kadg_run(home, project):
    at = _page()
    assert "No KADG run of MARC-ja (商品レビュー感情分類) yet" in texts(at)
    word = wl.current_words(project, "marc_ja").words[0]
    rows = ["この本は面白い。", "この本は退屈だ。", "良い本でした。"]
    frame = pd.DataFrame(
        {"row_idx": range(3), "text": rows, "text_b": None, "label": "positive", "score": None, "split": "synthetic",
         "source": "llm", "source_id": None,
         "provenance": [json.dumps({"kadg_word": word}, ensure_ascii=False)] * 3}
    )  # fmt: skip
    info = repo.DatasetInfo("run-1", "marc_ja", "synthetic", "synthetic", "run", "llm", "llm", "x", False, 3)
    with project.db.transaction() as con:
        repo.insert_dataset(con, info, frame)
    at.run()
    stats = at.dataframe[1].value
    assert stats.set_index("word").loc[word, "examples"] == 3
    assert len(at.get("vega_lite_chart")) == 1


def test_no_task_with_a_word_list(home, tmp_path, monkeypatch):
    monkeypatch.setenv("JAPAGEN_PROMPTS", str(tmp_path / "no-prompts"))
    at = _page()
    assert "No task has a KADG word list yet" in texts(at)
