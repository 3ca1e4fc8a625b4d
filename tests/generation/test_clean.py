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


def test_the_models_own_words_around_a_list_are_no_items():
    """A lead-in before the list and a remark after it (local servers that ignore n answer in lists) are
    not examples; a line wrapped mid-sentence still joins its item."""
    lead_in = "はい、承知しました。以下に例文を書きます。\n1. 犬が走る。\n2. 猫が寝る。"
    assert split_numbered(lead_in, 2) == ["犬が走る。", "猫が寝る。"]
    assert split_numbered("1. 犬が走る。\n2. 猫が寝る。\n以上、2件の例文でした。", 2) == ["犬が走る。", "猫が寝る。"]
    assert split_numbered("1. 犬が公園を\n走る。\n\n2. 猫が寝る。", 2) == ["犬が公園を走る。", "猫が寝る。"]


def test_an_answer_cut_at_the_token_limit_is_a_failure_not_an_example():
    from japagen_core.generation.clean import CutText

    marc = REGISTRY["marc_ja"]
    assert clean_text(CutText("毎日使っているのですが、特に"), marc) == ("毎日使っているのですが、特に", "truncated")
    items = split_numbered(CutText("1. 犬が走る。\n2. 猫が寝"), 2)
    assert items == ["犬が走る。", "猫が寝"] and [clean_text(i, marc)[1] for i in items] == [None, "truncated"]
    whole = split_numbered(CutText("1. 犬が走る。\n2. 猫が寝る。\n3. 鳥が"), 2)  # the cut item is past n
    assert [clean_text(i, marc)[1] for i in whole] == [None, None]


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
        ("jcola", "not acceptable", None),  # what the label is not names no label
        ("jcola", "This sentence is not acceptable.", None),
        ("marc_ja", "ネガティブではない", None),
        ("marc_ja", "非ポジティブ", None),
        ("marc_ja", "ポジティブです。", "positive"),
        ("jnli", "The answer is neutral, not entailment.", None),
    ],
)
def test_parse_label(task, answer, label):
    assert parse_label(answer, REGISTRY[task]) == label
