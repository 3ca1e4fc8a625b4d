"""Table 1 and Figure 3 from fixed stored results, and their exports."""

from datetime import datetime, timedelta

import pandas as pd
import pytest

from japagen_core.tasks import load_registry
from japagen_core.training import results
from japagen_core.training.store import ModelRecord, evaluation_predictions, list_models, save_model

REGISTRY = load_registry(None)
T0 = datetime(2026, 11, 1, 12, 0)


def record(task, method, setting, seed, score, *, run="r", per_class=None, minutes=0, kind="finetune", examples=300):
    metric = REGISTRY[task].metric
    return ModelRecord(
        id=f"{run}{f'-n{per_class}' if per_class else ''}-s{seed}", run_id=run, job_id=f"job-{run}", kind=kind,
        task=task, method=method, setting=setting, data_spec="snapshot:1", train_snapshots=[1],
        train_examples=examples, per_class=per_class, eval_dataset_id=f"{task}-valid", eval_snapshot_id=2,
        base_model="tiny", seed=seed, config={"epochs": 4}, path=f"models/{run}-s{seed}", metric=metric,
        score=score, metrics={"metric": metric, "main": score}, created_at=T0 + timedelta(minutes=minutes),
    )  # fmt: skip


def fixed_models() -> list[dict]:
    rows = [
        *[record("jnli", "fine-tuning", "few-shot", s, v, run="fs") for s, v in enumerate([0.30, 0.40, 0.50])],
        *[record("jnli", "japagen", "zero-shot", s, v, run="zs") for s, v in enumerate([0.46, 0.47])],
        # an older zero-shot JNLI run: the table shows the newest submission only
        *[record("jnli", "japagen", "zero-shot", s, 0.99, run="old", minutes=-60) for s in range(2)],
        *[record("jsts", "japagen", "zero-shot", s, v, run="zsj") for s, v in enumerate([0.72, 0.74])],
        *[record("jnli", "prompting", "zero-shot", s, 0.41, run="pz", kind="prompting") for s in range(2)],
        # a scaling series: the table takes its largest size, Figure 3 every size
        *[record("jnli", "japagen", "kadg", s, v, run="sc", per_class=n, minutes=5)
          for n, vals in ((100, [0.35, 0.37]), (1000, [0.44, 0.46])) for s, v in enumerate(vals)],
    ]  # fmt: skip
    return [r.__dict__ for r in rows]


def test_table1_rows_columns_mean_std_and_best():
    table = results.build_table1(fixed_models(), REGISTRY)
    frame = results.table1_frame(table)
    assert list(frame.columns) == ["Method", "Setting", "JSTS Spearman", "JNLI Acc.", "Avg."]
    assert list(zip(frame["Method"], frame["Setting"], strict=True)) == [
        ("FINE-TUNING", "Few-shot"),
        ("PROMPTING", "Zero-shot"),
        ("JAPAGEN", "Zero-shot"),
        ("JAPAGEN", "w/ KADG"),
    ]
    by_row = frame.set_index("Setting")
    assert frame.iloc[0]["JNLI Acc."] == "40.00 ± 10.00"  # mean ± sample std of 30, 40, 50
    assert frame.iloc[2]["JNLI Acc."] == "46.50 ± 0.71 ★"  # newest run (not the older 99s), the best
    assert frame.iloc[3]["JNLI Acc."] == "45.00 ± 1.41"  # the series' largest size, 1,000 per class
    assert frame.iloc[2]["JSTS Spearman"] == "73.00 ± 1.41 ★"
    assert frame.iloc[2]["Avg."] == "59.75 ★"  # (46.5 + 73.0) / 2
    assert by_row.loc["Few-shot", "JSTS Spearman"] == "—" and by_row.loc["Few-shot", "Avg."] == "—"
    cell = table.rows[2].cells["jnli"]
    assert cell.models == ("zs-s0", "zs-s1") and cell.run_id == "zs" and cell.n == 2


def test_ties_are_all_marked_and_the_paper_rows_are_never_best():
    models = [record("jnli", "japagen", m, 0, 0.5, run=m).__dict__ for m in ("zero-shot", "kadg")]
    table = results.build_table1(models, REGISTRY, paper=True)
    frame = results.table1_frame(table)
    assert list(frame["JNLI Acc."][:2]) == ["50.00 (1 seed) ★", "50.00 (1 seed) ★"]
    paper = frame[frame["Method"] == "FINE-TUNING (paper)"]
    assert list(paper["JNLI Acc."]) == ["90.19 ± 0.40", "37.72 ± 13.40"]  # the paper's own numbers, unmarked


def test_with_no_runs_the_paper_table_has_all_six_tasks():
    table = results.build_table1([], REGISTRY, paper=True)
    assert table.empty and table.tasks == list(results.PAPER_TASKS)
    frame = results.table1_frame(table)
    fully = frame.iloc[0]
    assert fully["Avg."] == "82.82"  # as the paper prints it (the mean of its six columns would be 81.38)
    assert len(frame) == 7


def test_exports_markdown_latex_csv():
    table = results.build_table1(fixed_models(), REGISTRY)
    markdown = results.to_markdown(table)
    assert markdown.splitlines()[0] == "| Method | Setting | JSTS Spearman | JNLI Acc. | Avg. |"
    assert "| JAPAGEN | Zero-shot | **73.00 ± 1.41** | **46.50 ± 0.71** | **59.75** |" in markdown
    latex = results.to_latex(table)
    assert latex.startswith(r"\begin{tabular}{llrrr}") and r"\textbf{46.50} {\scriptsize $\pm$0.71}" in latex
    assert r"w/ KADG" in latex and latex.rstrip().endswith(r"\end{tabular}")
    frame = pd.read_csv(pd.io.common.StringIO(results.to_csv(table)))
    zero_shot = frame[(frame.method == "japagen") & (frame.setting == "zero-shot") & (frame.task == "jnli")].iloc[0]
    assert zero_shot["mean"] == pytest.approx(46.5) and zero_shot["seeds"] == 2 and bool(zero_shot["best"])
    assert zero_shot["models"] == "zs-s0 zs-s1" and zero_shot["eval_dataset"] == "jnli-valid"


def test_latex_escapes_setting_text():
    models = [record("jnli", "mix", "0.1 gold + 100% & more_", 0, 0.5).__dict__]
    assert r"0.1 gold + 100\% \& more\_" in results.to_latex(results.build_table1(models, REGISTRY))


def test_figure3_points_per_size_and_setting():
    points = results.scaling_points(fixed_models(), REGISTRY)
    kadg = points[points.setting == "kadg"]
    assert list(kadg["per_class"]) == [100, 1000]
    assert list(kadg["mean"].round(2)) == [36.0, 45.0] and list(kadg["seeds"]) == [2, 2]
    zero = points[(points.setting == "zero-shot") & (points.task == "jnli")]
    assert list(zero["per_class"]) == [100]  # a whole-snapshot run: 300 examples over 3 classes
    assert list(zero["mean"].round(2)) == [46.5]  # the newest run, not the older one at the same size


def test_stored_models_round_trip_through_the_database(project):
    record_ = record("jnli", "japagen", "zero-shot", 0, 0.5)
    predictions = pd.DataFrame({"row_idx": [0, 1], "predicted": ["neutral", "entailment"], "score": None,
                                "probabilities": ["[0.1, 0.2, 0.7]", "[0.8, 0.1, 0.1]"]})  # fmt: skip
    save_model(project, record_, predictions)
    save_model(project, record_, predictions)  # storing again replaces, never duplicates
    [stored] = list_models(project)
    assert stored["id"] == "r-s0" and stored["train_snapshots"] == [1] and stored["metrics"]["main"] == 0.5
    got = evaluation_predictions(project, "r-s0", "jnli-valid")
    assert list(got["predicted"]) == ["neutral", "entailment"] and got["raw"].isna().all()
    table = results.build_table1(list_models(project), REGISTRY)
    assert results.table1_frame(table).iloc[0]["JNLI Acc."] == "50.00 (1 seed) ★"


def test_a_prompting_run_that_mostly_names_no_label_is_invalid_never_best():
    unanswered = [record("jnli", "prompting", "zero-shot", s, 0.6, run="pz", kind="prompting") for s in range(2)]
    for r in unanswered:  # 2,434 answers, none naming a label: accuracy is the share that happens to match
        r.metrics.update(examples=2434, unparsable=2434)
    rows = [*[r.__dict__ for r in unanswered],
            *[record("jnli", "japagen", "zero-shot", s, v, run="zs").__dict__ for s, v in enumerate([0.46, 0.47])],
            record("jsts", "japagen", "kadg", 0, None, run="undef").__dict__]  # fmt: skip
    table = results.build_table1(rows, REGISTRY)
    frame = results.table1_frame(table).set_index("Method")
    assert frame.loc["PROMPTING", "JNLI Acc."] == "60.00 ± 0.00 (invalid)"  # no ★ although it is the highest
    assert frame.loc["JAPAGEN"].iloc[0]["JNLI Acc."] == "46.50 ± 0.71 ★"
    assert table.rows[0].cells["jnli"].invalid and not table.rows[1].cells["jnli"].invalid
    assert results.run_is_invalid(rows[-1]) and "jsts" not in table.best  # an undefined metric: invalid, not best
    assert frame.loc["JAPAGEN"].iloc[1]["JSTS Spearman"] == "invalid"
