"""Training-data choices: parsing, and exact, seeded sampling for few-shot, mixtures and scaling series."""

from collections import Counter

import pandas as pd
import pytest

from japagen_core.tasks import load_registry
from japagen_core.training.config import TrainConfig, TrainingError
from japagen_core.training.data import (
    DataChoice,
    class_keys,
    parse_data,
    sample_fraction,
    sample_per_class,
    targets,
)
from japagen_core.training.plan import TrainPlan, training_frame

REGISTRY = load_registry(None)
JNLI = REGISTRY["jnli"]
JSTS = REGISTRY["jsts"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("snapshot:12", DataChoice("synthetic", snapshot=12)),
        ("dataset:jnli-kadg-1", DataChoice("synthetic", dataset="jnli-kadg-1")),
        ("gold-fewshot", DataChoice("gold-fewshot", shots=5)),
        ("gold-fewshot:10", DataChoice("gold-fewshot", shots=10)),
        ("gold-full", DataChoice("gold-full")),
        (
            "mix:gold=0.01,synthetic=1000,snapshot=3",
            DataChoice("mix", snapshot=3, gold_fraction=0.01, synthetic_per_class=1000),
        ),
        ("mix:gold=0.1,synthetic=all,dataset=d", DataChoice("mix", dataset="d", gold_fraction=0.1)),
    ],
)
def test_data_choices_parse_and_print_back(text, expected):
    choice = parse_data(text)
    assert choice == expected
    assert parse_data(choice.spec) == choice


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("snapshot:x", "not a training-data choice"),
        ("gold", "not a training-data choice"),
        ("mix:gold=0.1", "a mixture is"),
        ("mix:gold=2,snapshot=3", "gold fraction 2.0 must be in (0, 1]"),
        ("mix:gold=a,snapshot=3", "gold must be a fraction"),
        ("gold-fewshot:0", "shots 0"),
    ],
)
def test_bad_choices_say_what_is_wrong(text, problem):
    with pytest.raises(TrainingError, match=None) as info:
        parse_data(text)
    assert problem in str(info.value)


def test_scaling_is_for_synthetic_data_only():
    assert parse_data("snapshot:1", sizes=[500, 1000]).sizes == (500, 1000)
    with pytest.raises(TrainingError, match="synthetic data only"):
        parse_data("gold-full", sizes=[500])
    with pytest.raises(TrainingError, match="distinct positive"):
        parse_data("snapshot:1", sizes=[500, 500])


def test_train_config_defaults_are_the_papers_and_bad_values_are_named():
    cfg = TrainConfig()
    assert (cfg.model, cfg.batch_size, cfg.epochs, cfg.learning_rate, cfg.warmup_ratio, cfg.label_smoothing) == (
        "tohoku-nlp/bert-base-japanese-v3", 32, 4.0, 5e-5, 0.1, 0.1)  # fmt: skip
    assert (cfg.adam_beta1, cfg.adam_beta2) == (0.9, 0.999)
    with pytest.raises(TrainingError, match="batch_size 0"):
        TrainConfig(batch_size=0)
    with pytest.raises(TrainingError, match="unknown key"):
        TrainConfig.from_dict({"lr": 1})


KEYS = ["entailment"] * 40 + ["contradiction"] * 30 + ["neutral"] * 20


def test_sample_per_class_is_exact_seeded_and_nested():
    for n in (1, 5, 20):
        rows = sample_per_class(JNLI, KEYS, n, seed=3)
        assert Counter(KEYS[r] for r in rows) == {"entailment": n, "contradiction": n, "neutral": n}
        assert rows == sorted(set(rows))
    assert sample_per_class(JNLI, KEYS, 5, seed=3) == sample_per_class(JNLI, KEYS, 5, seed=3)
    assert sample_per_class(JNLI, KEYS, 5, seed=3) != sample_per_class(JNLI, KEYS, 5, seed=4)
    assert set(sample_per_class(JNLI, KEYS, 5, seed=3)) <= set(sample_per_class(JNLI, KEYS, 10, seed=3))
    with pytest.raises(TrainingError, match="neutral 20"):
        sample_per_class(JNLI, KEYS, 21, seed=0)
    with pytest.raises(TrainingError, match="no examples of class"):
        sample_per_class(JNLI, ["entailment"] * 5, 1, seed=0)


def test_sample_fraction_rounds_half_up_per_class_and_keeps_one():
    rows = sample_fraction(JNLI, KEYS, 0.25, seed=1)
    assert Counter(KEYS[r] for r in rows) == {"entailment": 10, "contradiction": 8, "neutral": 5}
    tiny = sample_fraction(JNLI, KEYS, 0.001, seed=1)
    assert Counter(KEYS[r] for r in tiny) == {"entailment": 1, "contradiction": 1, "neutral": 1}
    assert sample_fraction(JNLI, KEYS, 1.0, seed=1) == list(range(len(KEYS)))


def _frame(labels, scores=None, dataset="d"):
    return pd.DataFrame({"dataset_id": dataset, "row_idx": range(len(labels)), "text": "t", "text_b": "u",
                         "label": labels, "score": scores if scores is not None else [None] * len(labels)})  # fmt: skip


def test_targets_and_classes_of_scores():
    frame = _frame([None, None, "3"], [0.4, 4.5, None])
    assert class_keys(JSTS, frame) == ["0", "5", "3"]
    assert targets(JSTS, frame) == [0.4, 4.5, 3.0]
    assert targets(JNLI, _frame(["neutral", "entailment"])) == [2, 0]
    with pytest.raises(TrainingError, match="not labels of task jnli"):
        targets(JNLI, _frame(["maybe"]))


def _plan(data: DataChoice, sizes=(None,)) -> TrainPlan:
    return TrainPlan(run_id="r", task="jnli", data=data.__dict__, data_spec=data.spec, method="mix", setting="s",
                     synthetic_snapshot=7, gold_snapshot=8, eval_dataset="e", eval_snapshot=9, seeds=[0, 1],
                     sizes=list(sizes), train=TrainConfig().as_dict())  # fmt: skip


def test_a_mixture_takes_a_fraction_of_gold_plus_n_synthetic_per_class():
    frames = {"gold": _frame(KEYS, dataset="gold"), "synthetic": _frame(KEYS[::-1], dataset="syn")}
    plan = _plan(DataChoice("mix", snapshot=7, gold_fraction=0.1, synthetic_per_class=6))
    frame = training_frame(JNLI, plan, frames, size=None, seed=0)
    counts = Counter(zip(frame["snapshot_id"], frame["label"], strict=True))
    assert counts == {(8, "entailment"): 4, (8, "contradiction"): 3, (8, "neutral"): 2,
                      (7, "entailment"): 6, (7, "contradiction"): 6, (7, "neutral"): 6}  # fmt: skip
    again = training_frame(JNLI, plan, frames, size=None, seed=0)
    assert again.equals(frame)
    other = training_frame(JNLI, plan, frames, size=None, seed=1)
    assert not other[["snapshot_id", "row_idx"]].equals(frame[["snapshot_id", "row_idx"]])


def test_a_scaling_series_trains_one_model_per_size_and_seed_on_nested_samples():
    frames = {"synthetic": _frame(KEYS, dataset="syn")}
    plan = _plan(DataChoice("synthetic", snapshot=7, sizes=(5, 10)), sizes=(5, 10))
    assert [(size, seed) for _, size, seed in plan.runs()] == [(5, 0), (5, 1), (10, 0), (10, 1)]
    assert plan.runs()[0][0] == "r-n5-s0"
    small = training_frame(JNLI, plan, frames, size=5, seed=0)
    large = training_frame(JNLI, plan, frames, size=10, seed=0)
    assert len(small) == 15 and len(large) == 30
    assert set(small["row_idx"]) < set(large["row_idx"])
    with pytest.raises(TrainingError, match="fewer"):
        training_frame(JNLI, plan, frames, size=25, seed=0)


def test_gold_fewshot_draws_k_per_class_with_each_seed():
    frames = {"gold": _frame(KEYS, dataset="gold")}
    plan = _plan(DataChoice("gold-fewshot", shots=5))
    first = training_frame(JNLI, plan, frames, size=None, seed=0)
    assert Counter(first["label"]) == {"entailment": 5, "contradiction": 5, "neutral": 5}
    assert set(first["snapshot_id"]) == {8}
    assert list(training_frame(JNLI, plan, frames, size=None, seed=1)["row_idx"]) != list(first["row_idx"])
