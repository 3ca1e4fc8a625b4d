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
    assert bleu["texts"] == 72 and "pair:each" in bleu["signature"] and set(bleu["per_label"]) == {
        "entailment", "contradiction", "neutral"}  # fmt: skip
    assert corr["metric"] == "accuracy" and sum(map(sum, corr["confusion"])) == 36
    with project.db.transaction() as con:
        n, with_proba = con.execute(
            "SELECT count(*), count(probabilities) FROM example_predictions WHERE dataset_id = ?", [demo]
        ).fetchall()[0]
    assert n == with_proba == 36


def test_jsts_reports_mse(project):
    demo = _demo(project, "jsts")
    run_analysis(project, AnalysisConfig(reference=demo, train=demo, pair_texts="first"))
    corr = latest_results(project, [demo], demo)[("correctness", demo)]
    assert corr["metric"] == "mse" and corr["overall"] >= 0


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
