"""The Analysis page: empty state, launching an analysis job, and the table, chart and confusion matrix."""

from streamlit.testing.v1 import AppTest

from japagen_core.analysis import AnalysisConfig, run_analysis
from japagen_core.demo import load_demo
from japagen_core.settings import PROJECT_ROOT
from tests.conftest import write_jsonl
from tests.pages.test_generation_pages import wait_for_the_only_job
from tests.pages.test_pages import texts

MAIN = str(PROJECT_ROOT / "app" / "main.py")


def _page() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.switch_page("../pages/analysis.py").run()
    return at


def test_empty_store_says_what_to_import(home):
    at = _page()
    assert not at.exception and "import one" in texts(at)


def _two_jnli_sets(project, tmp_path):
    demo = next(r for r in load_demo(project.db, project.registry) if r.dataset_id.startswith("jnli-"))
    from japagen_core.datasets.importers import import_gold

    rows = [{"sentence1": f"犬が{i}匹公園にいる。", "sentence2": f"動物が{i % 3}匹いる。",
             "label": ["entailment", "contradiction", "neutral"][i % 3]} for i in range(30)]  # fmt: skip
    [other] = import_gold(project.db, project.registry["jnli"], "other", path=write_jsonl(tmp_path / "o.json", rows))
    return demo.dataset_id, other.dataset_id


def test_results_show_table_chart_and_confusion_matrix(home, project, tmp_path):
    demo, other = _two_jnli_sets(project, tmp_path)
    run_analysis(project, AnalysisConfig(reference=demo, datasets=[other], train=demo, per_label=1000))
    at = _page()
    at.selectbox(key="an_task").set_value(project.registry["jnli"]).run()
    at.selectbox(key="an_reference").set_value(demo).run()
    at.multiselect(key="an_compared_jnli").set_value([other]).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == [
        "dataset",
        "Self-BLEU",
        "texts scored",
        "weighted Jaccard",
        "label correctness",
        "protocol",
    ]
    assert len(table) == 2 and table["Self-BLEU"].notna().all() and table["weighted Jaccard"].iloc[0] == 1.0
    assert "lower means more diverse" in texts(at) and "closer to gold" in texts(at)
    at.selectbox(key="an_drill").set_value(other).run()
    assert not at.exception and "Confusion matrix" in texts(at)
    assert len(at.get("vega_lite_chart")) >= 2  # the Figure-2 chart and the confusion matrix


def test_run_button_starts_a_job_that_stores_results(home, project, tmp_path):
    demo, other = _two_jnli_sets(project, tmp_path)
    at = _page()
    at.selectbox(key="an_task").set_value(project.registry["jnli"]).run()
    at.selectbox(key="an_reference").set_value(demo).run()
    at.multiselect(key="an_compared_jnli").set_value([other]).run()
    at.button(key="an_run").click().run()
    assert not at.exception and "Started job" in texts(at)
    wait_for_the_only_job(project)
    at.run()
    assert len(at.dataframe[0].value) == 2


def test_datasets_with_the_same_name_stay_apart():
    from app.components import dataset_names

    same = {"name": "JNLI · kadg · m · 150", "kind": "synthetic", "rows": 150, "is_demo": False}
    names = dataset_names([{**same, "id": "a"}, {**same, "id": "b"}, {**same, "name": "other", "id": "c"}])
    assert len(set(names.values())) == 3 and names["c"] == "other (synthetic, 150)"
