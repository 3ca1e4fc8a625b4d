"""Japanese tokenizers: fugashi (MeCab) with unidic-lite, the segmentation tohoku BERT v3 uses.

    surface  surface forms (default)       lemma    dictionary forms
    content  surface forms of content words (nouns, verbs, adjectives, adverbs, adjectival nouns)
    char     characters (no dictionary)

Each has a signature naming the tokenizer, the dictionary and their versions: scores computed with
different signatures are not comparable.

Any text is safe to tokenize, also LLM output that never went through import. MeCab works on C strings
and whole texts, so: NUL characters are replaced by a space (MeCab would silently drop everything after
one), lone surrogates by U+FFFD (they cannot be encoded), and a text longer than ``MAX_CHUNK_CHARS`` is
cut into chunks at sentence ends or whitespace before MeCab sees it. Measured with fugashi 1.5 and
unidic-lite: a run of ~580,000 kanji without a break kills the process with SIGSEGV, and an unbroken run
of Latin letters (or katakana, digits) takes time quadratic in its length (100,000 letters: 59 s). A
chunk of 2,000 characters is ~290x below the crash and tokenizes in milliseconds; texts up to that
length (all sentence-level gold data) are tokenized whole, exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version

KINDS = ("surface", "lemma", "content", "char")
_WHITESPACE = re.compile(r"\s")
CONTENT_POS = frozenset({"名詞", "動詞", "形容詞", "副詞", "形状詞"})
MAX_CHUNK_CHARS = 2000
# Where a chunk may end, best first: after a sentence end or line break, then after whitespace.
_SENTENCE_ENDS = ("\n", "。", "！", "？", "!", "?", "．")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def safe_chunks(text: str, *, max_chars: int = MAX_CHUNK_CHARS) -> list[str]:
    """``text`` made safe for MeCab: NULs and lone surrogates replaced, cut into pieces of at most
    ``max_chars`` characters, each ending at a sentence end or whitespace where the text has one in the
    second half of the window (otherwise cut hard). Joined, the pieces give the cleaned text back."""
    if max_chars < 2:
        raise ValueError(f"max_chars must be at least 2, got {max_chars}")
    if "\x00" in text:
        text = text.replace("\x00", " ")
    if _LONE_SURROGATE.search(text):
        text = _LONE_SURROGATE.sub("\ufffd", text)
    chunks, start = [], 0
    while len(text) - start > max_chars:
        window = text[start : start + max_chars]
        cut = _cut_point(window)
        chunks.append(window[:cut])
        start += cut
    chunks.append(text[start:])
    return chunks


def _cut_point(window: str) -> int:
    """The length of the piece to take from ``window``: just after its last sentence end, else its last
    whitespace, as long as that keeps at least half of the window; else the whole window."""
    half = len(window) // 2
    for candidates in (_SENTENCE_ENDS, None):
        if candidates is None:
            end = max((i for i in range(len(window) - 1, half - 1, -1) if window[i].isspace()), default=-1)
        else:
            end = max(window.rfind(c, half) for c in candidates)
        if end >= half:
            return end + 1
    return len(window)


@cache
def _tagger(wakati: bool):
    import fugashi
    import unidic_lite

    # The dictionary is named explicitly and no mecabrc is read: the same segmentation everywhere.
    return fugashi.Tagger(f"-d {unidic_lite.DICDIR} -r /dev/null" + (" -Owakati" if wakati else ""))


@dataclass(frozen=True)
class Tokenizer:
    kind: str = "surface"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"tokenizer kind {self.kind!r} must be one of {list(KINDS)}")

    @property
    def signature(self) -> str:
        if self.kind == "char":
            return "tok:char"
        return f"tok:mecab-{self.kind}|fugashi-{version('fugashi')}|unidic-lite-{version('unidic-lite')}"

    def tokenize(self, text: str) -> list[str]:
        if self.kind == "char":
            return [c for c in text if not c.isspace()]
        chunks = safe_chunks(text)
        if self.kind == "surface":
            tagger = _tagger(True)
            return [token for chunk in chunks for token in tagger.parse(chunk).split()]
        tagger = _tagger(False)
        return [token for chunk in chunks for token in self._word_tokens(tagger(chunk))]

    def _word_tokens(self, words) -> list[str]:
        tokens = []
        for word in words:
            if self.kind == "content" and word.feature.pos1 not in CONTENT_POS:
                continue
            # lemma: the dictionary form as written (orthBase; UniDic's "lemma" field is katakana/English)
            form = word.surface if self.kind == "content" else (word.feature.orthBase or word.surface)
            form = _WHITESPACE.sub("_", form)  # a token never holds whitespace (BLEU splits on it)
            if form.strip("_"):
                tokens.append(form)
        return tokens

    def tokenize_all(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.tokenize(t) for t in texts]
