"""Student on the union (Kaddour & Liu): x% of gold + a teacher's synthetic data, with tuned-teacher
data in rows of its own beside the untuned teacher's, in Table 1 and Figure 3."""

import json

import pandas as pd

from japagen_core.storage import repository as repo
from japagen_core.training.data import parse_data
from japagen_core.training.plan import TrainRequest, load_frames, plan_training, training_frame
from japagen_core.training.results import build_table1, scaling_points
from tests.training_data import jnli_pairs, setup_jnli


def _teacher_run(project, run_id: str, teacher: str | None) -> str:
    rows = [(r["sentence1"], r["sentence2"], r["label"]) for r in jnli_pairs(30, offset=500)]
    frame = pd.DataFrame({
        "row_idx": range(len(rows)), "text": [r[0] for r in rows], "text_b": [r[1] for r in rows],
        "label": [r[2] for r in rows], "score": None, "split": "synthetic", "source": "llm", "source_id": None,
        "provenance": [json.dumps({"setting": "zero-shot", "model": "m", "teacher": teacher}) for _ in rows],
    })  # fmt: skip
    meta = {"run": {"mode": "generate", "setting": "zero-shot", "task": "jnli", "teacher": teacher}}
    info = repo.DatasetInfo(run_id, "jnli", "synthetic", "synthetic", run_id, "llm", "llm", run_id, False, len(rows),
                            meta=meta)  # fmt: skip
    with project.db.transaction() as con:
        repo.insert_dataset(con, info, frame)
    return run_id


def test_a_mix_of_gold_and_tuned_teacher_data_gets_its_own_row(project, tmp_path):
    ids = setup_jnli(project, tmp_path)
    tuned = _teacher_run(project, "jnli-tuned", "teacher-jnli-openai-1")
    untuned = _teacher_run(project, "jnli-untuned", None)
    plans = {}
    for name, dataset in (("tuned", tuned), ("untuned", untuned)):
        data = parse_data(f"mix:gold=0.2,synthetic=5,dataset={dataset}", gold_dataset=ids["train"])
        plans[name] = plan_training(project, TrainRequest(task="jnli", data=data, eval_dataset=ids["valid"], seeds=1))
    assert (plans["tuned"].method, plans["tuned"].setting) == ("mix", "0.2 gold + 5/class zero-shot (tuned teacher)")
    assert (plans["untuned"].method, plans["untuned"].setting) == ("mix", "0.2 gold + 5/class zero-shot")
    task = project.registry["jnli"]
    frame = training_frame(task, plans["tuned"], load_frames(project, plans["tuned"]), size=None, seed=0)
    assert len(frame) == 2 * 3 + 5 * 3  # 20% of 10 gold per class, plus 5 teacher examples per class
    series = parse_data(f"dataset:{tuned}", sizes=[2, 5])
    plan = plan_training(project, TrainRequest(task="jnli", data=series, eval_dataset=ids["valid"], seeds=1))
    assert (plan.method, plan.setting) == ("japagen", "zero-shot (tuned teacher)")


def test_table1_and_figure3_put_tuned_and_untuned_teachers_side_by_side(project):
    def model(setting, score, per_class=None, method="japagen"):
        return {"id": f"{setting}-{per_class}", "run_id": f"run-{setting}", "task": "jnli", "method": method,
                "setting": setting, "score": score, "per_class": per_class, "created_at": "2025-01-01",
                "eval_dataset_id": "valid", "kind": "finetune", "train_examples": None}  # fmt: skip

    models = [model("zero-shot", 0.40, 5), model("zero-shot (tuned teacher)", 0.55, 5),
              model("0.2 gold + 5/class zero-shot", 0.50, method="mix"),
              model("0.2 gold + 5/class zero-shot (tuned teacher)", 0.60, method="mix")]  # fmt: skip
    table = build_table1(models, project.registry)
    titles = [(r.block, r.title, round(r.cells["jnli"].mean, 2)) for r in table.rows]
    assert ("JAPAGEN", "Zero-shot", 40.0) in titles and ("JAPAGEN", "zero-shot (tuned teacher)", 55.0) in titles
    assert ("MIX", "0.2 gold + 5/class zero-shot (tuned teacher)", 60.0) in titles
    points = scaling_points(models, project.registry)
    assert set(points["setting"]) == {"zero-shot", "zero-shot (tuned teacher)"}
