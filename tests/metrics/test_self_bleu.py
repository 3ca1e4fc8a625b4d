import random

import pytest
from sacrebleu.metrics import BLEU

from japagen_core.metrics.self_bleu import self_bleu
from japagen_core.metrics.tokenizers import Tokenizer


def naive(tokens, order=4, smooth="exp"):
    """The definition: sacrebleu's sentence_score of each text against all the others."""
    texts = [" ".join(t) for t in tokens]
    bleu = BLEU(tokenize="none", effective_order=True, max_ngram_order=order, smooth_method=smooth)
    return [bleu.sentence_score(texts[i], texts[:i] + texts[i + 1 :]).score for i in range(len(texts))]


TOK = Tokenizer()
CASES = {
    "identical texts": [["犬", "が", "走る"]] * 3,
    "an empty text": [[], ["犬", "が", "走る"], ["猫", "が", "寝る"]],
    "all empty": [[], []],
    "two texts": [["a", "b", "c", "d"], ["a", "b", "x", "d"]],
    "japanese": TOK.tokenize_all(
        ["白い犬が公園を走っている。", "黒い犬が公園で寝ている。", "子供が公園で遊んでいる。"]
    ),
    "repeats in one text": [["a", "a", "a", "b"], ["a", "b"], ["a", "a", "c"]],
}


@pytest.mark.parametrize("smooth", ["exp", "floor", "add-k", "none"])
@pytest.mark.parametrize("case", list(CASES))
def test_matches_sacrebleu_on_small_tables(case, smooth):
    tokens = CASES[case]
    fast = self_bleu(tokens, smooth_method=smooth).per_text
    assert max(abs(a - b) for a, b in zip(fast, naive(tokens, smooth=smooth), strict=True)) <= 1e-9


def test_matches_sacrebleu_on_random_inputs():
    rng = random.Random(7)
    for _ in range(150):
        vocab = list("あいうえおかきくけこ")[: rng.randint(2, 10)]
        tokens = [[rng.choice(vocab) for _ in range(rng.randint(0, 10))] for _ in range(rng.randint(2, 12))]
        order = rng.randint(1, 5)
        fast = self_bleu(tokens, order=order).per_text
        assert max(abs(a - b) for a, b in zip(fast, naive(tokens, order=order), strict=True)) <= 1e-9


def test_identical_texts_score_100_and_the_signature_says_how():
    result = self_bleu(
        [["犬", "が", "走る", "。"]] * 4, tokenizer_signature=TOK.signature, sample_signature="sample:all"
    )
    assert result.score == pytest.approx(100.0)
    assert "order:4" in result.signature and "smooth:exp" in result.signature and "unidic-lite" in result.signature


@pytest.mark.parametrize(("tokens", "kwargs", "message"), [
    ([["a"]], {}, "at least 2 texts"),
    ([["a"], ["b"]], {"order": 0}, "order"),
    ([["a"], ["b"]], {"smooth_method": "magic"}, "smooth_method"),
])  # fmt: skip
def test_bad_input_is_named(tokens, kwargs, message):
    with pytest.raises(ValueError, match=message):
        self_bleu(tokens, **kwargs)
