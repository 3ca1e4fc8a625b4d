"""The Analysis page: empty state, launching an analysis job, and the table, chart and confusion matrix."""

import dataclasses
import json

import pandas as pd
from streamlit.testing.v1 import AppTest

from japagen_core.analysis import AnalysisConfig, run_analysis
from japagen_core.demo import load_demo
from japagen_core.report.charts import confusion_cell_size, overlap_chart, overlap_parts
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
        "Self-BLEU (first sentence)",
        "weighted Jaccard (first sentence)",
        "Self-BLEU (second sentence)",
        "weighted Jaccard (second sentence)",
        "texts scored",
        "label correctness",
        "balanced accuracy",
        "correctness method",
        "trained on",
        "scored out of sample",
        "degenerate",
        "n",
        "demo",
    ]
    first = "Self-BLEU (first sentence)"
    assert len(table) == 2 and table[first].notna().all() and table["weighted Jaccard (first sentence)"].iloc[0] == 1
    assert list(table["correctness method"]) == ["quick estimate"] * 2 and table["demo"].iloc[0] == "DEMO"
    assert list(table["scored out of sample"]) == ["5-fold cross-validated", "unseen rows"]
    assert "the paper's protocol" in texts(at) and "not the paper's BERT" in texts(at)
    assert "lower means more diverse" in texts(at) and "closer to gold" in texts(at)
    at.selectbox(key="an_drill").set_value(other).run()
    assert not at.exception and "Confusion matrix" in texts(at)
    assert len(at.get("vega_lite_chart")) >= 2  # the Figure-2 chart and the confusion matrix
    specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    [figure2] = [s for s in specs if s.get("encoding", {}).get("yOffset")]
    report = overlap_chart(overlap_parts([("x", {})])).to_dict()  # what the HTML report draws
    assert figure2["encoding"]["color"]["scale"]["range"] == report["encoding"]["color"]["scale"]["range"]
    [matrix] = [s for s in specs if s.get("layer") and s["layer"][0]["mark"]["type"] == "rect"]
    heat, numbers = matrix["layer"]
    assert (
        heat["encoding"]["x"]["axis"]["labelAngle"] == 0 and "entailment" in heat["encoding"]["x"]["axis"]["labelExpr"]
    )
    assert numbers["encoding"]["color"]["condition"]["value"] == "white"  # white numbers on dark cells
    assert matrix["width"]["step"] == confusion_cell_size(3)


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


def test_demo_is_never_a_default_once_real_data_exists(home, project, tmp_path):
    _, real = _two_jnli_sets(project, tmp_path)  # the demo (every task) and one real JNLI split
    at = _page()
    assert not at.exception
    assert at.selectbox(key="an_task").value.name == "jnli"  # the task with real data first
    assert at.selectbox(key="an_reference").value == real
    assert not any(d.startswith(("jnli-train-", "jnli-zero-shot-demo", "jnli-kadg-demo"))
                   for d in at.multiselect(key="an_compared_jnli").value)  # fmt: skip
    assert at.selectbox(key=f"an_train_{real}").value == real  # its own split, cross-validated; not the demo's
    assert at.selectbox(key="an_method_jnli").value == "quick"


def test_a_bert_fine_tuned_on_gold_is_the_default_method_when_one_exists(home, project, tmp_path):
    from japagen_core.training.store import save_model
    from tests.training.test_training_results import record

    _two_jnli_sets(project, tmp_path)
    few = record("jnli", "fine-tuning", "few-shot", 0, 0.4, run="fs")  # gold few-shot: not a label checker
    full = record("jnli", "fine-tuning", "fully-supervised", 0, 0.9, run="full")
    save_model(project, dataclasses.replace(few, data_spec="gold-fewshot:5"), pd.DataFrame())
    save_model(project, dataclasses.replace(full, data_spec="gold-full"), pd.DataFrame())
    at = _page()
    method = at.selectbox(key="an_method_jnli")
    assert not at.exception and method.value == full.id and method.options[-1].startswith("quick estimate")
    assert len(method.options) == 2  # the few-shot model is not offered


def test_the_choices_stay_in_the_url_and_a_reload_restores_them(home, project, tmp_path):
    demo, other = _two_jnli_sets(project, tmp_path)
    at = _page()
    at.selectbox(key="an_task").set_value(project.registry["jnli"]).run()
    at.selectbox(key="an_reference").set_value(demo).run()
    at.multiselect(key="an_compared_jnli").set_value([other]).run()
    at.selectbox(key=f"an_train_{demo}").set_value(demo).run()  # cross-validated on the split itself
    assert not at.exception
    url = {k: at.query_params[k] for k in ("task", "gold", "datasets", "method", "train")}
    assert url == {"task": "jnli", "gold": demo, "datasets": other, "method": "quick", "train": demo}

    reloaded = AppTest.from_file(MAIN, default_timeout=60)  # a new session opened on that URL
    for key, value in url.items():
        reloaded.query_params[key] = value
    reloaded.run()
    reloaded.switch_page("../pages/analysis.py").run()
    assert not reloaded.exception
    assert reloaded.selectbox(key="an_task").value.name == "jnli"
    assert reloaded.selectbox(key="an_reference").value == demo
    assert reloaded.multiselect(key="an_compared_jnli").value == [other]
    assert reloaded.selectbox(key=f"an_train_{demo}").value == demo  # not the default (the other split)

    reloaded.multiselect(key="an_compared_jnli").set_value([]).run()  # none chosen survives a reload too
    assert reloaded.query_params["datasets"] == ""
