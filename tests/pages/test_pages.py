"""AppTest flows for every page, on a temporary data directory."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from japagen_core.demo import load_demo
from japagen_core.settings import PROJECT_ROOT
from tests.conftest import table_snapshot, write_jsonl

MAIN = str(PROJECT_ROOT / "app" / "main.py")


def app() -> AppTest:
    return AppTest.from_file(MAIN, default_timeout=60)


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def test_home_on_an_empty_store_offers_the_demo(home):
    at = app().run()
    assert not at.exception
    assert "Your store is empty" in texts(at)
    at.button(key="home_load_demo").click().run()
    assert not at.exception
    assert [m.label for m in at.metric] == ["Datasets", "Examples", "Tasks with data"]
    assert int(at.metric[0].value) >= 6
    assert "Demo data" in texts(at)
    table = at.dataframe[0].value
    assert set(table["demo"]) == {"DEMO"}


def test_home_removes_the_demo(home, project):
    load_demo(project.db, project.registry)
    at = app().run()
    assert [m.label for m in at.metric] == ["Datasets", "Examples", "Tasks with data"]  # `/` is Home, with data too
    at.button(key="home_remove_demo").click().run()
    assert not at.exception
    assert project.datasets() == []
    assert "Your store is empty" in texts(at)


def test_home_offers_to_remove_the_demo_after_the_first_real_import(home, project, tmp_path):
    from japagen_core.datasets.importers import import_gold

    load_demo(project.db, project.registry, analyse=False)
    at = app().run()
    at.switch_page("../pages/home.py").run()
    assert "You have your own data now" not in texts(at)  # the demo alone: nothing to offer yet
    rows = [{"sentence1": "犬が走る。", "sentence2": "動物が走る。", "label": "entailment"}]
    [real] = import_gold(project.db, project.registry["jnli"], "valid", path=write_jsonl(tmp_path / "v.json", rows))
    at.run()
    assert "You have your own data now" in texts(at)
    at.button(key="home_remove_demo_now").click().run()
    assert not at.exception and [d["id"] for d in project.datasets()] == [real.dataset_id]
    assert "You have your own data now" not in texts(at)


def test_browse_empty_state(home):
    at = app().run()
    at.switch_page("../pages/browse.py").run()
    assert not at.exception and "No datasets yet" in texts(at)


def _browse_jnli(project):
    load_demo(project.db, project.registry)
    at = app().run()
    at.switch_page("../pages/browse.py").run()
    return at, _choose(at, "jnli")


def _choose(at: AppTest, task: str) -> str:
    """Pick the (first) dataset of a task in Browse's dataset box; options read '... — <id>'."""
    box = at.selectbox(key="browse_dataset")
    dataset_id = next(i for i in (o.split(" — ")[-1] for o in box.options) if i.startswith(f"{task}-"))
    box.set_value(dataset_id).run()
    return dataset_id


def test_browse_shows_pairs_side_by_side_and_filters(home, project):
    at, dataset_id = _browse_jnli(project)
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["#", "label", "premise", "hypothesis", "source id"]
    assert len(table) == 36
    assert "Demo data" in texts(at)
    at.multiselect(key=f"browse_labels_{dataset_id}").set_value(["neutral"]).run()
    assert set(at.dataframe[0].value["label"]) == {"neutral (中立)"}
    at.text_input(key=f"browse_query_{dataset_id}").set_value("犬").run()
    table = at.dataframe[0].value
    assert len(table) >= 1 and all("犬" in a + b for a, b in zip(table["premise"], table["hypothesis"], strict=True))
    at.text_input(key=f"browse_query_{dataset_id}").set_value("存在しない語").run()
    assert "No examples match" in texts(at)


def test_browse_paginates(home, project):
    at, dataset_id = _browse_jnli(project)
    at.selectbox(key="browse_page_size").set_value(25).run()
    assert len(at.dataframe[0].value) == 25
    at.number_input(key=f"browse_page_{dataset_id}").set_value(2).run()
    table = at.dataframe[0].value
    assert len(table) == 11 and table["#"].iloc[0] == 25
    assert "Showing 26–36 of 36" in texts(at)


def test_browse_jsts_shows_scores(home, project):
    load_demo(project.db, project.registry)
    at = app().run()
    at.switch_page("../pages/browse.py").run()
    dataset_id = _choose(at, "jsts")
    table = at.dataframe[0].value
    assert "score" in table.columns and "label" not in table.columns
    at.multiselect(key=f"browse_labels_{dataset_id}").set_value(["5"]).run()
    assert (at.dataframe[0].value["score"] >= 4.5).all()


@pytest.fixture
def jnli_file(tmp_path):
    return write_jsonl(
        tmp_path / "valid.json",
        [
            {"sentence1": "犬", "sentence2": "猫", "label": "neutral"},
            {"sentence1": "a", "sentence2": "b", "label": "entailment"},
        ],
    )


def _import_page(path) -> AppTest:
    at = app().run()
    at.switch_page("../pages/import_data.py").run()
    at.selectbox(key="import_task").select_index(2).run()  # JNLI
    at.text_input(key="import_split").set_value("valid")
    at.radio(key="import_source").set_value("A path on this machine").run()
    at.text_input(key="import_path").set_value(str(path)).run()
    at.button(key="import_go").click().run()
    return at


def test_import_page_imports_a_path(home, project, jnli_file):
    at = _import_page(jnli_file)
    assert not at.exception
    assert "Imported 2 rows" in texts(at)
    assert [d["rows"] for d in project.datasets()] == [2]


def test_import_page_refuses_a_bad_file_and_changes_nothing(home, project, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"sentence1": "a", "sentence2": "b", "label": "maybe"}) + "\n", encoding="utf-8")
    before = table_snapshot(project)
    at = _import_page(bad)
    assert not at.exception
    assert "Nothing was imported" in texts(at)
    assert "bad.json, line 1: label 'maybe' is not a label of task 'jnli'" in at.code[0].value
    assert table_snapshot(project) == before


def test_tasks_page_lists_paper_and_user_tasks(home):
    at = app().run()
    at.switch_page("../pages/tasks.py").run()
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert any("JNLI" in label for label in labels) and any("Customer inquiry" in label for label in labels)


def test_browse_shows_a_selected_example_in_full_as_plain_text(home, project):
    at, dataset_id = _browse_jnli(project)
    assert "Select a row to read it in full." in texts(at)
    at.session_state[f"browse_table_{dataset_id}_1_50__"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    shown = [t.value for t in at.text]
    first = at.dataframe[0].value.iloc[1]
    assert shown == [first["premise"], first["hypothesis"]]


def test_import_page_imports_the_livedoor_corpus(home, project, tmp_path):
    from tests.datasets.test_importers import _livedoor_corpus

    corpus = _livedoor_corpus(tmp_path / "ldcc")
    at = app().run()
    at.switch_page("../pages/import_data.py").run()
    at.selectbox(key="import_task").select_index(4).run()  # Livedoor News
    at.text_input(key="import_split").set_value("all")
    at.radio(key="import_source").set_value("A path on this machine").run()
    at.text_input(key="import_path").set_value(str(corpus)).run()
    at.button(key="import_go").click().run()
    assert not at.exception
    assert sorted(d["split"] for d in project.datasets()) == ["dev", "test", "train"]


def test_browse_explains_a_dataset_whose_task_is_gone(home, project, tmp_path, monkeypatch):
    load_demo(project.db, project.registry)
    prompts = tmp_path / "prompts"
    (prompts / "tasks").mkdir(parents=True)  # no customer_inquiry.yaml any more
    monkeypatch.setenv("JAPAGEN_PROMPTS", str(prompts))
    at = app().run()
    at.switch_page("../pages/browse.py").run()
    _choose(at, "customer_inquiry")
    assert not at.exception
    assert "not defined any more" in texts(at)


def test_import_page_guesses_the_split_and_shows_rows_read(home, project, tmp_path):
    rows = [{"sentence1": f"犬{i}", "sentence2": "猫", "label": "neutral"} for i in range(3)]
    path = write_jsonl(tmp_path / "jnli_dev_v1.json", rows)
    at = app().run()
    at.switch_page("../pages/import_data.py").run()
    assert at.text_input(key="import_split").value == "train"  # no file yet
    at.selectbox(key="import_task").select_index(2).run()  # JNLI
    at.radio(key="import_source").set_value("A path on this machine").run()
    at.text_input(key="import_path").set_value(str(path)).run()
    assert at.text_input(key="import_split").value == "valid" and "guessed from the file name: valid" in texts(at)
    at.text_input(key="import_split").set_value("dev2").run()  # typed over: the guess does not come back
    assert at.text_input(key="import_split").value == "dev2"
    at.button(key="import_go").click().run()
    assert not at.exception and "Imported 3 rows" in texts(at)
    [bar] = at.get("progress")
    assert bar.proto.value == 100 and bar.proto.text == "3 rows imported"
    assert [d["split"] for d in project.datasets()] == ["dev2"]
