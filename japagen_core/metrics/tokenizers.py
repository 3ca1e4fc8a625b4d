"""Japanese tokenizers: fugashi (MeCab) with unidic-lite, the segmentation tohoku BERT v3 uses.

    surface  surface forms (default)       lemma    dictionary forms
    content  surface forms of content words (nouns, verbs, adjectives, adverbs, adjectival nouns)
    char     characters (no dictionary)

Each has a signature naming the tokenizer, the dictionary and their versions: scores computed with
different signatures are not comparable.
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
        if self.kind == "surface":
            return _tagger(True).parse(text).split()
        tokens = []
        for word in _tagger(False)(text):
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
