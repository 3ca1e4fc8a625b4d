import pytest

from japagen_core.generation.clean import clean_text, parse_label, split_numbered
from japagen_core.tasks import load_registry

REGISTRY = load_registry(None)


@pytest.mark.parametrize(
    ("raw", "text", "reason"),
    [
        ("犬が走っている。", "犬が走っている。", None),
        ("1. 犬が走っている。", "犬が走っている。", None),
        ("（2）「犬が走っている。」", "犬が走っている。", None),
        ("ポジティブ：とても良い商品でした。", "とても良い商品でした。", None),
        ("positive: とても良い商品でした。", "とても良い商品でした。", None),
        ("レビュー：『最高です』", "最高です", None),
        ("   ", "", "empty"),
        ("「」", "", "empty"),
        ("Sorry, I can only answer in English.", "Sorry, I can only answer in English.", "not_japanese"),
    ],
)
def test_clean_text(raw, text, reason):
    assert clean_text(raw, REGISTRY["marc_ja"]) == (text, reason)


def test_split_numbered_lists():
    answer = "1. 一つ目の文。\n2) 二つ目の\n文。\n３．三つ目の文。\n4. 四つ目"
    assert split_numbered(answer, 3) == ["一つ目の文。", "二つ目の文。", "三つ目の文。"]
    assert split_numbered("ただの文。", 5) == ["ただの文。"]


@pytest.mark.parametrize(
    ("task", "answer", "label"),
    [
        ("jnli", "neutral", "neutral"),
        ("jnli", "答え：entailment。", "entailment"),
        ("jnli", "中立", "neutral"),
        ("jnli", "entailment or neutral", None),
        ("jnli", "わかりません", None),
        ("jsts", "3", "3"),
        ("jcola", "unacceptable", "unacceptable"),
    ],
)
def test_parse_label(task, answer, label):
    assert parse_label(answer, REGISTRY[task]) == label
