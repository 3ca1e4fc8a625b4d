import random
from collections import Counter

import pytest

from japagen_core.metrics.correctness import features, label_correctness, train_gold_model
from japagen_core.metrics.overlap import overlap
from japagen_core.metrics.sampling import sample_per_label
from japagen_core.metrics.tokenizers import Tokenizer


def test_identical_sets_overlap_fully_and_disjoint_sets_not_at_all():
    gold = Counter({"犬": 3, "が": 5, "走る": 2})
    same = overlap(gold, Counter({"犬": 6, "が": 10, "走る": 4}))  # same frequencies, twice the size
    assert same.weighted_jaccard == pytest.approx(1.0) and same.only_gold_types == 0 and same.both_types == 3
    apart = overlap(gold, Counter({"猫": 1}))
    assert apart.weighted_jaccard == 0.0 and apart.only_gold_mass == pytest.approx(1.0)
    assert apart.only_synthetic_mass == pytest.approx(1.0) and apart.both_types == 0


def test_overlap_parts_and_representation():
    result = overlap(Counter({"a": 2, "b": 2}), Counter({"b": 1, "c": 3}), top=5)
    # p = a .5 b .5; q = b .25 c .75: min sum .25, max sum .5+.5+.75
    assert result.weighted_jaccard == pytest.approx(0.25 / 1.75)
    assert result.only_gold_mass == pytest.approx(0.5) and result.only_synthetic_mass == pytest.approx(0.75)
    assert result.over_represented[0][0] == "c" and result.under_represented[0][0] == "a"
    with pytest.raises(ValueError, match="both sets need tokens"):
        overlap(Counter(), Counter({"a": 1}))


def test_sampling_is_per_label_and_seeded():
    labels = ["a"] * 50 + ["b"] * 3
    first = sample_per_label(labels, 10, seed=1)
    assert first == sample_per_label(labels, 10, seed=1) and first != sample_per_label(labels, 10, seed=2)
    assert sum(labels[i] == "a" for i in first) == 10 and sum(labels[i] == "b" for i in first) == 3
    assert sample_per_label(labels, None) == list(range(53))


def test_label_correctness_recovers_known_noise():
    rng = random.Random(0)
    words = {"positive": ["最高", "満足", "便利", "おすすめ"], "negative": ["最悪", "不満", "壊れた", "返品"]}

    def make(n, noise, thing):
        texts, labels = [], []
        for _ in range(n):
            label = rng.choice(["positive", "negative"])
            texts.append(f"この{thing}は{rng.choice(words[label])}です。")
            labels.append(label if rng.random() >= noise else ("negative" if label == "positive" else "positive"))
        return texts, labels

    tok = Tokenizer()
    train_texts, train_labels = make(200, 0.0, "商品")
    eval_texts, eval_labels = make(400, 0.2, "品物")  # 20% of the labels are wrong; no text is in gold
    model = train_gold_model([features(t) for t in tok.tokenize_all(train_texts)], train_labels,
                             labels=["positive", "negative"])  # fmt: skip
    result = label_correctness(model, [features(t) for t in tok.tokenize_all(eval_texts)], eval_labels)
    assert result.metric == "accuracy" and 0.74 <= result.overall <= 0.86
    assert sum(map(sum, result.confusion)) == 400 and len(result.probabilities[0]) == 2
    assert abs(sum(result.probabilities[0]) - 1) < 1e-5


def test_score_tasks_report_mse_per_grade():
    tok = Tokenizer()
    nouns = ["犬", "猫", "鳥", "馬", "牛", "羊", "豚", "熊"]
    pairs = [(f"{a}が走る。", f"{a}が走る。", 5.0) for a in nouns] + [
        (f"{a}が走る。", f"{b}が寝る。", 0.0) for a, b in zip(nouns, nouns[1:] + nouns[:1], strict=True)
    ]
    feats = [features(tok.tokenize(a), tok.tokenize(b)) for a, b, _ in pairs]
    model = train_gold_model(feats, [s for *_, s in pairs], labels=None)
    result = label_correctness(model, feats, [s for *_, s in pairs], grade_of=lambda s: str(round(s)))
    assert result.metric == "mse" and result.overall < 4 and set(result.per_label) == {"0", "5"}
    assert result.cross_validated == len(pairs) and "oos:cv-5fold-seed0" in result.signature


def test_a_training_set_is_scored_by_cross_validation_never_in_sample():
    rng = random.Random(1)
    feats = [[f"w{rng.randrange(300)}" for _ in range(5)] for _ in range(120)]  # noise: nothing to learn
    targets = [rng.choice(["a", "b"]) for _ in feats]
    model = train_gold_model(feats, targets, labels=["a", "b"])
    in_sample = (
        sum(p == t for p, t in zip(model.model.predict(model.vectorizer.transform(feats)), targets, strict=True)) / 120
    )
    result = label_correctness(model, feats, targets)
    assert in_sample > 0.8  # what the old code reported: training accuracy
    assert result.cross_validated == 120 and result.folds == 5 and result.out_of_sample
    assert 0.3 < result.overall < 0.7 and 0.3 < result.balanced_accuracy < 0.7  # chance, as it should be
    assert set(result.recall) == {"a", "b"} and result.recall == result.per_label


def test_degenerate_when_a_present_label_is_almost_never_predicted():
    from japagen_core.metrics.correctness import class_correctness

    truth = ["a"] * 90 + ["b"] * 10
    result = class_correctness(["a"] * 100, None, truth, labels=["a", "b"], signature="s")
    assert result.overall == 0.9 and result.balanced_accuracy == 0.5 and result.degenerate
    fine = class_correctness(["a"] * 90 + ["b"] + ["a"] * 9, None, truth, labels=["a", "b", "c"], signature="s")
    assert not fine.degenerate and set(fine.recall) == {"a", "b"}  # "c" is absent: no recall, not degenerate


def test_training_needs_labels_it_knows():
    with pytest.raises(ValueError, match="without a known label"):
        train_gold_model([["a"], ["b"]], ["x", None], labels=["x", "y"])


def test_lemma_and_content_tokens_hold_no_whitespace():
    for kind in ("lemma", "content"):
        tokens = Tokenizer(kind).tokenize("犬と猫\u3000が\xa0走る\r")
        assert tokens and all(not any(c.isspace() for c in t) for t in tokens)
    assert "走る" in Tokenizer("lemma").tokenize("走っていた")
