"""Tokenization never crashes the process, whatever the text (long, NUL, lone surrogates)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from japagen_core.metrics.tokenizers import MAX_CHUNK_CHARS, Tokenizer, _tagger, safe_chunks

ROOT = Path(__file__).resolve().parents[2]

# fugashi + unidic-lite segfaults on an unbroken run of ~580,000 kanji (measured: 575,000 passes,
# 600,000 dies with SIGSEGV). A subprocess keeps a regression from killing the test run.
_CHILD = """
import json, sys
from japagen_core.metrics.tokenizers import Tokenizer
long_kanji = "漢字" * 300_000
counts = {kind: len(Tokenizer(kind).tokenize(long_kanji)) for kind in ("surface", "lemma")}
counts["nul"] = Tokenizer("surface").tokenize("日本語\\x00の文です。後ろ")
print(json.dumps(counts, ensure_ascii=False))
"""


def test_600k_characters_and_nul_do_not_crash_the_process():
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    out = json.loads(proc.stdout)
    assert out["surface"] == out["lemma"] == 300_000  # every 漢字 is two one-kanji tokens
    assert out["nul"] == ["日本", "語", "の", "文", "です", "。", "後ろ"]  # nothing after the NUL is lost


def test_short_texts_tokenize_exactly_as_mecab_does_on_the_whole_text():
    text = "吾輩は猫である。名前はまだ無い。" * 20  # 320 characters: one chunk
    assert safe_chunks(text) == [text]
    assert Tokenizer("surface").tokenize(text) == _tagger(True).parse(text).split()


@pytest.mark.parametrize(
    "text",
    [
        "これは文です。" * 1000,
        "a" * 5001,
        "word " * 1234,
        "改行\n" * 3000,
        "x" * (MAX_CHUNK_CHARS - 1) + "。" + "y" * 10,
    ],
)
def test_chunks_are_bounded_and_give_the_text_back(text):
    chunks = safe_chunks(text)
    assert "".join(chunks) == text
    assert all(0 < len(c) <= MAX_CHUNK_CHARS for c in chunks)


def test_chunks_end_at_sentence_ends_or_whitespace_when_there_are_some():
    sentences = safe_chunks("これは文です。" * 1000)
    assert all(c.endswith("。") for c in sentences)
    words = safe_chunks("word " * 1234)
    assert all(c.endswith(" ") for c in words[:-1])
    hard = safe_chunks("a" * 5001)
    assert [len(c) for c in hard] == [MAX_CHUNK_CHARS, MAX_CHUNK_CHARS, 1001]


def test_nul_and_lone_surrogates_are_replaced():
    assert safe_chunks("a\x00b") == ["a b"]
    assert safe_chunks("a\ud800b") == ["a\ufffdb"]
    assert Tokenizer("lemma").tokenize("あ\ud800い") == ["あ", "\ufffd", "い"]


def test_long_text_tokens_match_sentence_by_sentence_tokenization():
    sentence = "今日は東京で雨が降りました。"
    tokens = Tokenizer("content").tokenize(sentence * 500)
    assert tokens == Tokenizer("content").tokenize(sentence) * 500


def test_max_chars_is_validated():
    with pytest.raises(ValueError, match="max_chars"):
        safe_chunks("abc", max_chars=1)
