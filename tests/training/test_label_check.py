"""Label correctness as in the paper: a BERT fine-tuned on gold (a tiny random one here) scores each set
through the analysis job, out of sample: rows it trained on are left out, never scored."""

import pytest

from japagen_core.analysis import AnalysisConfig, latest_results, run_analysis, summarize
from japagen_core.datasets.importers import import_gold
from japagen_core.errors import JapagenError
from japagen_core.training.data import parse_data
from japagen_core.training.plan import TrainRequest
from japagen_core.training.store import list_models
from tests.conftest import write_jsonl
from tests.training.test_finetune import small, train
from tests.training_data import add_synthetic, jnli_pairs

finetune = pytest.importorskip("japagen_core.training.finetune")


def _unique(rows: list[dict], tag: str) -> list[dict]:
    """The fixture's captions repeat every 24 rows; a tag makes each pair a text of its own."""
    return [{**r, "sentence1": f"{r['sentence1']}{tag}{i}"} for i, r in enumerate(rows)]


def _setup(project, tmp_path) -> dict[str, str]:
    task = project.registry["jnli"]
    gold = {}
    for split, rows in (("train", _unique(jnli_pairs(30), "a")), ("valid", _unique(jnli_pairs(15), "b"))):
        [gold[split]] = import_gold(project.db, task, split, path=write_jsonl(tmp_path / f"{split}.json", rows))
    synthetic = [(r["sentence1"], r["sentence2"], r["label"]) for r in _unique(jnli_pairs(60), "c")]
    return {"train": gold["train"].dataset_id, "valid": gold["valid"].dataset_id,
            "synthetic": add_synthetic(project, "jnli", synthetic)}  # fmt: skip


def test_bert_fine_tuned_on_gold_scores_each_set_out_of_sample(project, tmp_path, tiny_model):
    ids = _setup(project, tmp_path)
    request = TrainRequest("jnli", parse_data("gold-full", gold_dataset=ids["train"]), seeds=1,
                           train=small(tiny_model))  # fmt: skip
    train(project, request)
    [model] = list_models(project)
    seen = [(r["sentence1"], r["sentence2"], r["label"]) for r in _unique(jnli_pairs(30), "a")[:5]]  # trained on
    fresh = [(r["sentence1"], r["sentence2"], r["label"]) for r in _unique(jnli_pairs(7), "d")]
    mixed = add_synthetic(project, "jnli", seen + fresh, run_id="jnli-mixed-test")
    cfg = AnalysisConfig(reference=ids["valid"], datasets=[ids["synthetic"], mixed, ids["train"]], method="bert",
                         model=model["id"])  # fmt: skip
    analysis_ids = run_analysis(project, cfg)
    results = latest_results(project, [ids["valid"], ids["synthetic"], mixed, ids["train"]], ids["valid"])

    valid = results[("correctness", ids["valid"])]
    assert valid["method"] == "bert" and valid["out_of_sample"] and valid["excluded_seen_in_training"] == 0
    assert model["id"] in valid["trained_on"] and "gold-full" in valid["trained_on"] and ids["train"] in valid[
        "trained_on"]  # fmt: skip
    assert f"method:bert|model:{model['id']}" in valid["signature"] and "oos:unseen-only(excluded:0)" in valid[
        "signature"]  # fmt: skip
    # the same model and rows give the numbers `evaluate` gives
    evaluated = finetune.evaluate_stored(project, model["id"], ids["valid"], fresh=True)
    assert valid["overall"] == pytest.approx(evaluated["metrics"]["accuracy"]) and valid["examples"] == 15
    assert results[("correctness", ids["synthetic"])]["examples"] == 60
    partly = results[("correctness", mixed)]  # 5 of its rows are the model's training rows: left out
    assert partly["examples"] == 7 and partly["excluded_seen_in_training"] == 5
    with project.db.transaction() as con:
        scored = con.execute("SELECT count(*) FROM example_predictions WHERE dataset_id = ?", [mixed]).fetchall()
    assert scored == [(7,)]
    # its own training split has no out-of-sample row at all: no number rather than training accuracy
    assert ("correctness", ids["train"]) not in results
    summary = summarize(project.db, "jnli", ids["valid"], analysis_ids)
    row = next(d for d in summary["datasets"] if d["id"] == ids["synthetic"])
    assert row["label_correctness"]["method"] == "bert" and row["label_correctness"]["n"] == 60
    assert set(row["label_correctness"]["recall"]) == {"entailment", "contradiction", "neutral"}

    # a model folder japagen wrote works as well; a folder without its record is refused
    folder = project.settings.home / model["path"]
    run_analysis(project, AnalysisConfig(reference=ids["valid"], method="bert", model=str(folder)))
    again = latest_results(project, [ids["valid"]], ids["valid"])[("correctness", ids["valid"])]
    assert again["overall"] == pytest.approx(valid["overall"])
    (tmp_path / "bare").mkdir()
    with pytest.raises(JapagenError, match="cannot keep its scores out of sample"):
        run_analysis(project, AnalysisConfig(reference=ids["valid"], method="bert", model=str(tmp_path / "bare")))
