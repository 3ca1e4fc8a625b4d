"""The analysis engine over stored datasets: results with signatures, predictions per example."""

import pytest

from japagen_core.analysis import AnalysisConfig, latest_results, run_analysis
from japagen_core.demo import load_demo
from japagen_core.errors import JapagenError


def _demo(project, task):
    demo = load_demo(project.db, project.registry, analyse=False)  # results here are the tests' own
    return next(r.dataset_id for r in demo if r.dataset_id.startswith(task + "-train-"))


def test_jnli_analysis_stores_every_result_and_predictions(project):
    demo = _demo(project, "jnli")
    ids = run_analysis(project, AnalysisConfig(reference=demo, datasets=[], train=demo))
    assert sorted(i.split("-")[0] for i in ids) == ["correctness", "self_bleu"]
    results = latest_results(project, [demo], demo)
    bleu, corr = results[("self_bleu", demo)], results[("correctness", demo)]
    # the paper's protocol: each sentence field on its own, the first one the headline
    assert bleu["texts"] == 36 and bleu["field"] == "text" and set(bleu["fields"]) == {"text", "text_b"}
    assert "field:text|" in bleu["signature"] and "group:label" in bleu["signature"]
    assert "field:text_b|" in bleu["fields"]["text_b"]["signature"]
    assert set(bleu["per_label"]) == {"entailment", "contradiction", "neutral"}
    assert corr["metric"] == "accuracy" and sum(map(sum, corr["confusion"])) == 36
    # analysed against its own training split: cross-validated, never training accuracy
    assert corr["out_of_sample"] and corr["cross_validated"] == 36 and "oos:cv-" in corr["signature"]
    assert corr["method"] == "quick" and corr["trained_on"] == demo and f"trained_on:{demo}" in corr["signature"]
    assert set(corr["recall"]) == {"entailment", "contradiction", "neutral"} and "balanced_accuracy" in corr
    assert corr["degenerate"] == any(r < 0.05 for r in corr["recall"].values())
    with project.db.transaction() as con:
        n, with_proba = con.execute(
            "SELECT count(*), count(probabilities) FROM example_predictions WHERE dataset_id = ?", [demo]
        ).fetchall()[0]
    assert n == with_proba == 36


def test_jsts_reports_mse(project):
    demo = _demo(project, "jsts")
    run_analysis(project, AnalysisConfig(reference=demo, train=demo, pair_texts="pooled"))
    results = latest_results(project, [demo], demo)
    corr, bleu = results[("correctness", demo)], results[("self_bleu", demo)]
    assert corr["metric"] == "mse" and corr["overall"] >= 0 and corr["out_of_sample"]
    assert bleu["field"] == "pooled" and "field:pooled" in bleu["signature"] and "group:grade" in bleu["signature"]


def test_datasets_of_different_tasks_are_refused(project):
    with pytest.raises(JapagenError, match="one task"):
        run_analysis(project, AnalysisConfig(reference=_demo(project, "jnli"), datasets=[_demo(project, "jcola")]))


def test_unlabeled_datasets_get_diversity_but_no_correctness(project, tmp_path):
    from japagen_core.datasets.importers import ImportOptions, import_gold
    from tests.conftest import write_jsonl

    demo = _demo(project, "jnli")
    rows = [{"sentence1": f"犬が{i}匹いる。", "sentence2": "動物がいる。"} for i in range(10)]
    [pool] = import_gold(project.db, project.registry["jnli"], "pool", path=write_jsonl(tmp_path / "p.json", rows),
                         options=ImportOptions(unlabeled=True))  # fmt: skip
    run_analysis(project, AnalysisConfig(reference=demo, datasets=[pool.dataset_id], train=demo))
    results = latest_results(project, [pool.dataset_id], demo)
    assert ("self_bleu", pool.dataset_id) in results and ("overlap", pool.dataset_id) in results
    assert ("correctness", pool.dataset_id) not in results
    with pytest.raises(JapagenError, match="needs labelled gold data"):
        run_analysis(project, AnalysisConfig(reference=demo, train=pool.dataset_id))
