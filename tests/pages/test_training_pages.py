"""The Train and Results pages: empty states, a synthetic fine-tune and a gold few-shot baseline started
from the page as jobs, the PROMPTING baseline, and Table 1 with its exports and run details."""

import time
from datetime import datetime, timedelta

from streamlit.testing.v1 import AppTest

from japagen_core.jobs import JobStore
from japagen_core.review.snapshots import list_snapshots
from japagen_core.settings import PROJECT_ROOT
from japagen_core.training.store import ModelRecord, list_models, save_model
from tests.openai_server import FakeOpenAI, ServerConfig
from tests.pages.test_pages import texts
from tests.training_data import setup_jnli

MAIN = str(PROJECT_ROOT / "app" / "main.py")


def page(name: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.switch_page(f"../pages/{name}.py").run()
    return at


def wait_for_jobs(project, count: int) -> None:
    store = JobStore(project.settings.jobs_dir)
    deadline = time.monotonic() + 120
    while True:
        jobs = store.list()
        if len(jobs) == count and all(j.state == "succeeded" for j in jobs):
            return
        for job in jobs:
            assert job.state in ("queued", "running", "succeeded"), job.log_tail()
        assert time.monotonic() < deadline, [j.log_tail() for j in jobs]
        time.sleep(0.3)


def test_train_page_on_an_empty_store_says_what_to_import(home):
    at = page("train")
    assert not at.exception and "import one" in texts(at)


def _start(at: AppTest, kind: str, tiny_model) -> None:
    at.radio(key="tr_kind").set_value(kind).run()
    at.text_input(key="tr_model").set_value(str(tiny_model))
    at.number_input(key="tr_seeds").set_value(2)
    at.number_input(key="tr_max_steps").set_value(2)
    at.button(key="tr_start").click().run()
    assert not at.exception and "Started job" in texts(at), texts(at)


def test_a_synthetic_fine_tune_and_a_gold_fewshot_baseline_from_the_page(project, tmp_path, tiny_model):
    ids = setup_jnli(project, tmp_path)
    at = page("train")
    at.selectbox(key="tr_task").set_value(project.registry["jnli"]).run()
    assert at.selectbox(key="tr_eval").value == ids["valid"]
    _start(at, "synthetic", tiny_model)
    _start(at, "gold-fewshot", tiny_model)
    wait_for_jobs(project, 2)
    models = list_models(project)
    assert sorted({(m["method"], m["setting"]) for m in models}) == [
        ("fine-tuning", "few-shot"),
        ("japagen", "zero-shot"),
    ]
    assert len(models) == 4

    at = page("results")
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["Method", "Setting", "JNLI Acc.", "Avg."]
    assert list(zip(table["Method"], table["Setting"], strict=True)) == [
        ("FINE-TUNING", "Few-shot"),
        ("JAPAGEN", "Zero-shot"),
    ]
    assert all(" ± " in v for v in table["JNLI Acc."]) and any("★" in v for v in table["JNLI Acc."])
    labels = [b.label for b in at.get("download_button")]
    figure3 = ["PNG", "SVG"]  # the JAPAGEN run counts as a point of Figure 3 (its examples per label)
    assert labels == ["Download Markdown", "Download LaTeX", "Download CSV", *figure3]
    at.selectbox(key="res_cell").select_index(1).run()
    runs = at.dataframe[1].value
    assert len(runs) == 2 and set(runs["seed"]) == {0, 1} and not at.exception

    at = page("jobs")
    assert not at.exception and "steps" in "\n".join(str(p.proto.text) for p in at.get("progress"))


def test_mistakes_are_shown_and_start_nothing(project, tmp_path, tiny_model):
    ids = setup_jnli(project, tmp_path)
    at = page("train")
    at.selectbox(key="tr_task").set_value(project.registry["jnli"]).run()
    at.radio(key="tr_kind").set_value("gold-full").run()
    at.selectbox(key="tr_eval").set_value(ids["train"]).run()
    at.text_input(key="tr_model").set_value(str(tiny_model))
    at.button(key="tr_start").click().run()
    assert not at.exception and "could not start" in texts(at)
    assert "also the evaluation split" in "\n".join(c.value for c in at.code)
    assert JobStore(project.settings.jobs_dir).list() == []


def test_a_model_that_is_not_on_this_machine_is_refused_before_any_job_or_snapshot(project, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ids = setup_jnli(project, tmp_path)
    before = len(list_snapshots(project))
    at = page("train")
    at.selectbox(key="tr_task").set_value(project.registry["jnli"]).run()
    at.radio(key="tr_kind").set_value("gold-full").run()
    at.selectbox(key="tr_eval").set_value(ids["valid"]).run()
    at.text_input(key="tr_model").set_value("no-such-org/no-such-bert")
    started = time.monotonic()
    at.button(key="tr_start").click().run()
    assert time.monotonic() - started < 5
    assert not at.exception and "could not start" in texts(at)
    shown = "\n".join(c.value for c in at.code)
    assert (
        "'no-such-org/no-such-bert' is not on this machine" in shown
        and "`hf download no-such-org/no-such-bert`" in shown
    )
    assert JobStore(project.settings.jobs_dir).list() == [] and len(list_snapshots(project)) == before


def test_the_prompting_baseline_runs_as_a_job(project, tmp_path):
    setup_jnli(project, tmp_path)
    fake = FakeOpenAI(ServerConfig()).start()
    try:
        at = page("train")
        at.selectbox(key="tr_task").set_value(project.registry["jnli"]).run()
        at.number_input(key="pr_seeds").set_value(1)
        at.text_input(key="pr_base_url").set_value(fake.base_url)
        at.button(key="pr_start").click().run()
        assert not at.exception and "Started job" in texts(at), texts(at)
        wait_for_jobs(project, 1)
    finally:
        fake.stop()
    [model] = list_models(project)
    assert (model["method"], model["setting"], model["metrics"]["examples"]) == ("prompting", "zero-shot", 15)


def test_results_page_empty_state_and_the_papers_numbers(home):
    at = page("results")
    assert not at.exception and "No results yet" in texts(at)
    at.toggle(key="res_paper").set_value(True).run()
    table = at.dataframe[0].value
    assert len(table) == 7 and table.iloc[0]["JNLI Acc."] == "90.19 ± 0.40" and table.iloc[0]["Avg."] == "82.82"


def _record(run, setting, seed, score, per_class=None, minutes=0):
    return ModelRecord(
        id=f"{run}-s{seed}", run_id=run, job_id=None, kind="finetune", task="jnli", method="japagen", setting=setting,
        data_spec="snapshot:1", train_snapshots=[1], train_examples=30, per_class=per_class, eval_dataset_id="v",
        eval_snapshot_id=2, base_model="tiny", seed=seed, config={"epochs": 4}, path=None, metric="accuracy",
        score=score, metrics={"metric": "accuracy", "main": score},
        created_at=datetime(2026, 11, 1) + timedelta(minutes=minutes),
    )  # fmt: skip


def test_results_page_shows_fixed_results_the_scaling_chart_and_runs(project):
    for n, scores in ((100, [0.40, 0.42]), (1000, [0.47, 0.49])):
        for seed, score in enumerate(scores):
            save_model(project, _record(f"series-{n}", "kadg", seed, score, per_class=n), _no_predictions())
    at = page("results")
    assert not at.exception
    table = at.dataframe[0].value
    assert table.iloc[0]["Setting"] == "w/ KADG" and table.iloc[0]["JNLI Acc."] == "48.00 ± 1.41 ★"
    assert "Data scaling (Figure 3)" in texts(at) and len(at.get("vega_lite_chart")) == 1
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download Markdown", "Download LaTeX", "Download CSV", "PNG", "SVG"]  # Figure 3's too
    runs = at.dataframe[1].value
    assert list(runs["model"]) == ["series-1000-s0", "series-1000-s1"]
    assert "Older runs of this row and task" in texts(at) and "series-100" in texts(at)


def _no_predictions():
    import pandas as pd

    return pd.DataFrame({"row_idx": [], "predicted": [], "score": [], "probabilities": []})
