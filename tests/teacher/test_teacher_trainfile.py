"""The teacher's training file: the prompts generation sends, with the gold text (or label) as the answer."""

import json

import pandas as pd
import pytest

from japagen_core.generation.prompts import load_spec
from japagen_core.teacher.service import TeacherRequest, prepare, preview_frame
from japagen_core.teacher.trainfile import (
    TeacherError,
    build_training_file,
    estimate_tokens,
    read_training_file,
    record_tokens,
    training_cost,
)


def _frame(rows):
    return pd.DataFrame(rows, columns=["text", "text_b", "label", "score"])


def test_single_task_generation_pairs_each_label_prompt_with_its_gold_text(project):
    task = project.registry["marc_ja"]
    spec = load_spec(project.settings.prompts_dir, task)
    frame = _frame([("良い商品でした。", None, "positive", None), ("壊れていました。", None, "negative", None)])
    file = build_training_file(task, spec, frame, purpose="generate")
    assert len(file.records) == 2
    first = file.records[0]["messages"]
    assert first[:-1] == spec.single_messages("positive", setting="zero-shot")  # exactly what generation asks
    assert first[-1] == {"role": "assistant", "content": "良い商品でした。"}
    assert file.records[1]["messages"][:-1] == spec.single_messages("negative", setting="zero-shot")
    lines = [json.loads(line) for line in file.data.decode().splitlines()]
    assert lines == [{"messages": r["messages"]} for r in file.records]  # only messages go in the file
    assert read_training_file(file.data) == lines
    assert file.answers_per_label() == {"positive": 1, "negative": 1}


def test_pair_task_teaches_the_first_sentence_once_and_the_second_per_label(project):
    task = project.registry["jnli"]
    spec = load_spec(project.settings.prompts_dir, task)
    frame = _frame([
        ("犬が公園で走っている。", "犬がいる。", "entailment", None),
        ("犬が公園で走っている。", "犬はいない。", "contradiction", None),
        ("猫が台所で寝ている。", "鳥も鳴いている。", "neutral", None),
    ])  # fmt: skip
    file = build_training_file(task, spec, frame, purpose="generate")
    firsts = [r for r in file.records if r["label"] is None]
    seconds = [r for r in file.records if r["label"] is not None]
    assert [r["messages"][-1]["content"] for r in firsts] == ["犬が公園で走っている。", "猫が台所で寝ている。"]
    assert firsts[0]["messages"][:-1] == spec.first_messages(setting="zero-shot")
    assert len(seconds) == 3
    second = seconds[1]["messages"]
    assert second[:-1] == spec.second_messages("contradiction", "犬が公園で走っている。", setting="zero-shot")
    assert second[-1]["content"] == "犬はいない。"


def test_annotation_answers_with_the_label_name_and_scores_become_grades(project):
    jnli = project.registry["jnli"]
    file = build_training_file(jnli, load_spec(project.settings.prompts_dir, jnli),
                               _frame([("前提の文。", "仮説の文。", "neutral", None)]), purpose="annotate")  # fmt: skip
    messages = file.records[0]["messages"]
    assert "前提の文。" in messages[-2]["content"] and "仮説の文。" in messages[-2]["content"]
    assert messages[-1] == {"role": "assistant", "content": "neutral"}
    jsts = project.registry["jsts"]
    file = build_training_file(jsts, load_spec(project.settings.prompts_dir, jsts),
                               _frame([("一文目。", "二文目。", None, 3.8)]), purpose="annotate")  # fmt: skip
    assert file.records[0]["messages"][-1]["content"] == jsts.grade_for_score(3.8) == "4"


def test_bad_inputs_are_refused_with_the_reason(project):
    task = project.registry["marc_ja"]
    spec = load_spec(project.settings.prompts_dir, task)
    with pytest.raises(TeacherError, match="purpose 'label'"):
        build_training_file(task, spec, _frame([("良い。", None, "positive", None)]), purpose="label")
    with pytest.raises(TeacherError, match="no labelled marc_ja examples"):
        build_training_file(task, spec, _frame([("良い。", None, None, None)]), purpose="generate")
    with pytest.raises(TeacherError, match="line 2: not JSON"):
        read_training_file(b'{"messages": [{"role": "assistant", "content": "x"}]}\n{oops\n')


def test_token_estimate_and_cost():
    assert estimate_tokens("犬が走る。") == 5 and estimate_tokens("abcdefgh") == 2
    record = {"messages": [{"role": "user", "content": "犬"}, {"role": "assistant", "content": "猫"}]}
    assert record_tokens(record) == 3 + (4 + 1) * 2
    assert training_cost("gpt-4o-mini-2024-07-18", 1_000_000, 3) == pytest.approx(9.0)
    assert training_cost("gpt-4o-mini", 1_000_000, 1) == pytest.approx(3.0)  # the dated snapshot's price
    assert training_cost("my-own-model", 1000, 3) is None


def test_prepare_draws_k_gold_examples_per_class_and_estimates_cost(project, marc_gold):
    request = TeacherRequest(task="marc_ja", backend="openai", data="gold-fewshot:5", openai={"n_epochs": 4})
    prepared = prepare(project, request)
    assert prepared.file.answers_per_label() == {"positive": 5, "negative": 5}
    assert (
        prepared.source_dataset == marc_gold and prepared.snapshot_id is None and prepared.data_spec == "gold-fewshot:5"
    )
    assert prepared.trained_tokens == prepared.tokens * 4
    assert prepared.cost_usd == pytest.approx(prepared.tokens * 4 * 3.0 / 1e6)
    assert prepare(project, request).file.sha256 == prepared.file.sha256  # the same seed draws the same rows
    other = prepare(project, TeacherRequest(task="marc_ja", backend="openai", data="gold-fewshot:5", seed=1))
    assert other.file.sha256 != prepared.file.sha256
    assert len(preview_frame(prepared, limit=2)) == 6  # two conversations of three messages
    summary = prepared.summary()
    assert summary["examples"] == 10 and "estimate" in summary["token_count"]


def test_prepare_refuses_what_openai_would_refuse_and_bad_data(project, marc_gold):
    with pytest.raises(TeacherError, match="needs at least 10"):
        prepare(project, TeacherRequest(task="marc_ja", backend="openai", data="gold-fewshot:2"))
    with pytest.raises(TeacherError, match="not a mix"):
        prepare(project, TeacherRequest(task="marc_ja", backend="openai", data="mix:gold=0.1,synthetic=5,snapshot=1"))
    with pytest.raises(TeacherError, match="fewer"):
        prepare(project, TeacherRequest(task="marc_ja", backend="openai", data="gold-fewshot:50"))
    with pytest.raises(TeacherError, match="n_epochs 0"):
        prepare(project, TeacherRequest(task="marc_ja", backend="openai", openai={"n_epochs": 0}))
    with pytest.raises(TeacherError, match="backend 'hf'"):
        prepare(project, TeacherRequest(task="marc_ja", backend="hf"))
