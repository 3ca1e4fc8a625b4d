"""Fine-tuning end to end on tiny data with a tiny random BERT: classification (JNLI) and regression
(JSTS), the model folder, stored predictions, metrics, resume, cancel and missing weights."""

import json
import time
from dataclasses import asdict

import pytest
import yaml
from scipy import stats
from sklearn import metrics as skm

from japagen_core.jobs import JobStore
from japagen_core.jobs.kinds import submit
from japagen_core.jobs.progress import Progress
from japagen_core.review.snapshots import read_snapshot
from japagen_core.training.config import TrainConfig, TrainingError
from japagen_core.training.data import parse_data
from japagen_core.training.plan import TrainRequest, plan_training
from japagen_core.training.store import evaluation_predictions, evaluations, list_models
from tests.training_data import setup_jnli, setup_jsts

finetune = pytest.importorskip("japagen_core.training.finetune")


def small(model, **changes) -> TrainConfig:
    return TrainConfig(**{"model": str(model), "epochs": 1, "batch_size": 8, **changes})


def train(project, request: TrainRequest, *, cancelled=lambda: False):
    plan = plan_training(project, request)
    reports = []
    result = finetune.run_training_job(project, asdict(plan), job_id="job-test", report=reports.append,
                                       cancelled=cancelled)  # fmt: skip
    return plan, result, reports


def test_classification_end_to_end(project, tmp_path, tiny_model):
    ids = setup_jnli(project, tmp_path)
    request = TrainRequest("jnli", parse_data(f"dataset:{ids['synthetic']}"), seeds=2, train=small(tiny_model))
    plan, result, reports = train(project, request)
    assert result["state"] == "succeeded" and len(result["models"]) == 2
    assert (plan.method, plan.setting, plan.eval_dataset) == ("japagen", "zero-shot", ids["valid"])
    assert plan.data_spec == f"snapshot:{plan.synthetic_snapshot}"
    last = reports[-1]
    assert last["unit"] == "steps" and last["done"] == last["target"] == 2 * 8  # 60 examples / 8 = 8 steps a model
    assert last["extras"]["loss"] is not None and last["extras"]["models_done"] == 2
    assert "model 2/2 (seed 1)" in last["message"]  # one after another (tests/training_data.py)

    gold = read_snapshot(project, plan.eval_snapshot)
    models = list_models(project)
    assert [m["seed"] for m in models] == [0, 1]
    for model in models:
        assert model["train_snapshots"] == [plan.synthetic_snapshot] and model["eval_snapshot_id"] == plan.eval_snapshot
        assert model["train_examples"] == 60 and model["config"]["effective"]["label_smoothing"] == 0.1
        predicted = evaluation_predictions(project, model["id"], ids["valid"])
        assert list(predicted["row_idx"]) == list(gold["row_idx"])
        assert model["score"] == pytest.approx(skm.accuracy_score(gold["label"], predicted["predicted"]))
        assert model["metrics"]["mcc"] == pytest.approx(skm.matthews_corrcoef(gold["label"], predicted["predicted"]))
        probabilities = [json.loads(p) for p in predicted["probabilities"]]
        assert all(len(p) == 3 and abs(sum(p) - 1) < 1e-4 for p in probabilities)

    folder = project.settings.home / models[0]["path"]
    meta = json.loads((folder / "japagen.json").read_text())
    assert meta["labels"] == {"0": "entailment", "1": "contradiction", "2": "neutral"}
    assert meta["seed"] == 0 and meta["train_snapshots"] == [plan.synthetic_snapshot] and meta["metrics"]["main"] >= 0
    assert {"config.json", "model.safetensors", "vocab.txt", "train_rows.json", "predictions.parquet"} <= {
        p.name for p in folder.iterdir()
    }
    _, header, card = (folder / "README.md").read_text(encoding="utf-8").split("---\n", 2)  # the model card
    header, facts = yaml.safe_load(header), yaml.safe_load(card.split("```yaml\n")[1].split("```")[0])
    assert header["language"] == ["ja"] and header["base_model"] == meta["base_model"] and "license" in header
    (result,) = header["model-index"][0]["results"]
    assert result["dataset"]["name"] == ids["valid"]
    assert {m["name"]: m["value"] for m in result["metrics"]}["accuracy"] == pytest.approx(meta["metrics"]["accuracy"])
    assert (facts["seed"], facts["training_data"]["snapshots"]) == (0, [plan.synthetic_snapshot])
    assert facts["evaluation"]["snapshot"] == plan.eval_snapshot and facts["settings"] == meta["config"]
    rows = json.loads((folder / "train_rows.json").read_text())["rows"]
    assert len(rows) == 60 and {s for s, _ in rows} == {plan.synthetic_snapshot}

    again = finetune.evaluate_stored(project, models[0]["id"], ids["valid"])  # the CLI's `evaluate`
    assert again["snapshot_id"] == plan.eval_snapshot
    assert again["metrics"]["main"] == pytest.approx(models[0]["score"])
    assert [e["dataset_id"] for e in evaluations(project, models[0]["id"])] == [ids["valid"]]


def test_regression_end_to_end_without_label_smoothing(project, tmp_path, tiny_model):
    ids = setup_jsts(project, tmp_path)
    request = TrainRequest("jsts", parse_data(f"dataset:{ids['synthetic']}"), seeds=1, train=small(tiny_model))
    plan, result, _ = train(project, request)
    assert result["state"] == "succeeded"
    [model] = list_models(project)
    assert model["metric"] == "spearman" and model["config"]["effective"]["problem_type"] == "regression"
    assert model["config"]["effective"]["label_smoothing"] == 0.0
    gold = read_snapshot(project, plan.eval_snapshot)
    predicted = evaluation_predictions(project, model["id"], ids["valid"])
    assert predicted["predicted"].isna().all() and predicted["score"].notna().all()
    expected = stats.spearmanr(gold["score"], predicted["score"]).statistic
    assert model["score"] == pytest.approx(expected)
    assert model["metrics"]["mse"] == pytest.approx(skm.mean_squared_error(gold["score"], predicted["score"]))


def test_gold_fewshot_and_a_scaling_series(project, tmp_path, tiny_model):
    ids = setup_jnli(project, tmp_path)
    request = TrainRequest("jnli", parse_data("gold-fewshot"), seeds=2, train=small(tiny_model, max_steps=2))
    plan, result, _ = train(project, request)
    assert result["state"] == "succeeded"
    assert (plan.method, plan.setting) == ("fine-tuning", "few-shot") and plan.gold_snapshot is not None
    assert [m["train_examples"] for m in list_models(project, run_id=plan.run_id)] == [15, 15]

    series = TrainRequest("jnli", parse_data(f"dataset:{ids['synthetic']}", sizes=[5, 10]), seeds=1,
                          train=small(tiny_model, max_steps=1, save_weights=False))  # fmt: skip
    plan, _, _ = train(project, series)
    models = list_models(project, run_id=plan.run_id)
    assert [(m["per_class"], m["train_examples"]) for m in models] == [(5, 15), (10, 30)]
    assert not list((project.settings.home / models[0]["path"]).glob("*.safetensors"))
    with pytest.raises(TrainingError, match="without keeping its weights"):
        finetune.evaluate_stored(project, models[0]["id"], ids["valid"])


def test_impossible_requests_fail_before_a_job_starts(project, tmp_path, tiny_model):
    ids = setup_jnli(project, tmp_path)
    cases = [
        (parse_data("gold-fewshot:11"), None, "fewer"),
        (parse_data("gold-full"), ids["train"], "also the evaluation split"),
        (parse_data(f"dataset:{ids['synthetic']}", sizes=[25]), None, "fewer"),
        (parse_data("snapshot:999"), None, "no snapshot 999"),
    ]
    for data, eval_dataset, problem in cases:
        with pytest.raises(Exception, match=problem):
            plan_training(project, TrainRequest("jnli", data, eval_dataset=eval_dataset, train=small(tiny_model)))
    with pytest.raises(TrainingError, match="does not exist"):
        plan_training(project, TrainRequest("jnli", parse_data("gold-full"), train=small(tmp_path / "nope")))


@pytest.mark.parametrize("model", ["no-such-org/no-such-bert", "empty-folder"])
def test_weights_that_cannot_be_loaded_fail_with_one_clear_message(project, tmp_path, monkeypatch, model):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read once, at import
    if model == "empty-folder":
        model = str(tmp_path / "empty")
        (tmp_path / "empty").mkdir()
    ids = setup_jnli(project, tmp_path)
    request = TrainRequest("jnli", parse_data(f"dataset:{ids['synthetic']}"), seeds=1, train=TrainConfig(model=model))
    started = time.monotonic()
    with pytest.raises(TrainingError) as info:
        train(project, request)
    message = str(info.value)
    assert f"cannot load the model {model!r}" in message
    assert "--model /path/to/folder" in message and "without asking the Hub" in message
    assert list_models(project) == [] and time.monotonic() - started < 10


def test_cancel_stops_at_the_next_step_and_resume_trains_the_rest(project, tmp_path, tiny_model, monkeypatch):
    monkeypatch.setenv("JAPAGEN_PARALLEL_MODELS", "1")  # one after another in this process: steps counted here
    ids = setup_jnli(project, tmp_path)
    request = TrainRequest("jnli", parse_data(f"dataset:{ids['synthetic']}"), seeds=2, train=small(tiny_model))
    plan = plan_training(project, request)
    steps = []

    def cancelled() -> bool:  # seed 0 trains fully (8 steps); seed 1 is cancelled after its 3rd step
        steps.append(1)
        return len(steps) == 8 + 3

    result = finetune.run_training_job(project, asdict(plan), job_id="j", report=lambda s: None, cancelled=cancelled)
    assert result["state"] == "cancelled" and "1 of 2 models finished" in result["message"]
    assert [m["seed"] for m in list_models(project)] == [0]
    assert not list((project.settings.home / "models").glob(".partial-*"))
    result = finetune.run_training_job(project, asdict(plan), job_id="j", report=lambda s: None,
                                       cancelled=lambda: False)  # fmt: skip
    assert result["state"] == "succeeded" and [m["seed"] for m in list_models(project)] == [0, 1]


def test_a_train_job_is_cancelled_within_seconds(project, tmp_path, tiny_model):
    ids = setup_jnli(project, tmp_path)
    request = TrainRequest("jnli", parse_data(f"dataset:{ids['synthetic']}"), seeds=1,
                           train=small(tiny_model, epochs=100_000, batch_size=2))  # fmt: skip
    job = submit(project, "train", request)
    store = JobStore(project.settings.jobs_dir)
    deadline = time.monotonic() + 60
    while Progress.from_json(store.get(job.id).progress).get("step", 0) < 3:  # it trains
        assert time.monotonic() < deadline and store.get(job.id).state in ("queued", "running"), store.get(
            job.id
        ).log_tail()
        time.sleep(0.1)
    started = time.monotonic()
    store.cancel(job)
    while store.get(job.id).state == "running":
        time.sleep(0.05)
    assert time.monotonic() - started < 5, store.get(job.id).log_tail()
    done = store.get(job.id)
    assert done.state == "cancelled" and "resume" in done.result["message"], done.log_tail()
    progress = Progress.from_json(done.progress)
    assert progress.unit == "steps" and progress.target > progress.done >= 3
    assert list_models(project) == []
