"""Self-BLEU: each text scored as a hypothesis against all the other texts as references.

Exactly equal to averaging sacrebleu's ``BLEU(tokenize='none', effective_order=True)
.sentence_score(text, others)`` over tokenized texts, but without the O(N^2) loop. The sufficient
statistics of text i need, per n-gram g, "the largest count of g among the other texts"; that is the
largest count over all texts, unless text i is the only text holding it, in which case it is the
second largest. Counting is vectorized with numpy; each text's score then comes from sacrebleu's own
``compute_bleu`` (same smoothing, same effective order, same brevity penalty).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version

import numpy as np
from sacrebleu.metrics.bleu import BLEU

SMOOTH_METHODS = tuple(BLEU.SMOOTH_DEFAULTS)


@dataclass(frozen=True)
class SelfBleu:
    score: float  # mean over texts, 0-100
    per_text: np.ndarray  # shape (N,)
    signature: str


def self_bleu(
    tokens: Sequence[Sequence[str]],
    *,
    order: int = 4,
    smooth_method: str = "exp",
    smooth_value: float | None = None,
    tokenizer_signature: str = "tok:given",
    sample_signature: str = "sample:all",
) -> SelfBleu:
    """Self-BLEU of tokenized texts (a list of N token lists, N >= 2). Lower is more diverse."""
    if not 1 <= order <= 9:
        raise ValueError(f"order {order!r} must be between 1 and 9")
    if smooth_method not in SMOOTH_METHODS:
        raise ValueError(f"smooth_method {smooth_method!r} must be one of {list(SMOOTH_METHODS)}")
    n_texts = len(tokens)
    if n_texts < 2:
        raise ValueError(f"Self-BLEU needs at least 2 texts, got {n_texts}")
    correct, total, lengths = _statistics(tokens, order)
    ref_lens = _closest_other_lengths(lengths)
    per_text = np.array(
        [
            BLEU.compute_bleu(
                correct=correct[i].tolist(),
                total=total[i].tolist(),
                sys_len=int(lengths[i]),
                ref_len=int(ref_lens[i]),
                smooth_method=smooth_method,
                smooth_value=smooth_value,
                effective_order=True,
                max_ngram_order=order,
            ).score
            for i in range(n_texts)
        ]
    )
    signature = (
        f"selfbleu|n:{n_texts}|order:{order}|smooth:{smooth_method}"
        f"{'' if smooth_value is None else f'-{smooth_value}'}|eff:yes|{tokenizer_signature}|{sample_signature}"
        f"|sacrebleu-{version('sacrebleu')}"
    )
    per_text = np.minimum(per_text, 100.0)  # identical texts: 100.00000000000001 by float rounding
    return SelfBleu(float(per_text.mean()), per_text, signature)


def _statistics(tokens: Sequence[Sequence[str]], order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(correct, total) of shape (N, order) and lengths (N,), as sacrebleu would count them."""
    n_texts = len(tokens)
    lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=n_texts)
    vocab: dict[str, int] = {}
    ids = np.fromiter((vocab.setdefault(tok, len(vocab)) for t in tokens for tok in t), dtype=np.int64)
    text_of = np.repeat(np.arange(n_texts), lengths)
    correct = np.zeros((n_texts, order), dtype=np.int64)
    total = np.maximum(lengths[:, None] - np.arange(order)[None, :], 0)
    if ids.size == 0:
        return correct, total, lengths
    size = len(ids)
    keys = ids.copy()  # dense id of the n-gram starting at each position (-1: it would cross a text end)
    for n in range(1, order + 1):
        if n > 1:
            # the n-gram at p is the (n-1)-gram at p followed by the token at p+n-1, in the same text
            valid = np.zeros(size, dtype=bool)
            valid[: size - n + 1] = text_of[: size - n + 1] == text_of[n - 1 :]
            following = np.zeros(size, dtype=np.int64)
            following[: size - n + 1] = ids[n - 1 :]
            _, dense = np.unique(np.where(valid, keys * len(vocab) + following, -1), return_inverse=True)
            keys = np.where(valid, dense, -1)
        starts = keys >= 0
        grams, texts = keys[starts], text_of[starts]
        if grams.size == 0:
            break
        n_grams = int(grams.max()) + 1
        pair, count = np.unique(texts * n_grams + grams, return_counts=True)
        pair_text, pair_gram = pair // n_grams, pair % n_grams
        others = _max_among_others(pair_gram, count, n_grams)
        correct[:, n - 1] = np.bincount(pair_text, weights=np.minimum(count, others), minlength=n_texts)
    return correct, total, lengths


def _max_among_others(gram: np.ndarray, count: np.ndarray, n_grams: int) -> np.ndarray:
    """For each (text, gram) count: the largest count of that gram in any *other* text."""
    top = np.zeros(n_grams, dtype=np.int64)
    np.maximum.at(top, gram, count)
    is_top = count == top[gram]
    n_top = np.bincount(gram, weights=is_top, minlength=n_grams)
    second = np.zeros(n_grams, dtype=np.int64)  # largest count below the top (0: absent elsewhere)
    np.maximum.at(second, gram[~is_top], count[~is_top])
    alone_at_top = is_top & (n_top[gram] == 1)
    return np.where(alone_at_top, second[gram], top[gram])


def _closest_other_lengths(lengths: np.ndarray) -> np.ndarray:
    """Per text, the reference length sacrebleu picks among the other texts: the closest to its own
    length, the shorter one on a tie."""
    values, counts = np.unique(lengths, return_counts=True)
    result = np.empty_like(lengths)
    for i, length in enumerate(lengths):
        k = np.searchsorted(values, length)
        if counts[k] > 1:
            result[i] = length
            continue
        below = values[k - 1] if k > 0 else None
        above = values[k + 1] if k + 1 < len(values) else None
        if above is None or (below is not None and length - below <= above - length):
            result[i] = below
        else:
            result[i] = above
    return result
