"""Cleaning LLM answers into texts, and parsing annotation answers into labels. Pure functions."""

from __future__ import annotations

import re
import unicodedata

from japagen_core.tasks import Task

_NUMBERED = re.compile(r"^\s*(?:[(（]?\s*[0-9０-９]{1,3}\s*[.)．、：:）]|[-・*•●]\s)\s*")
_QUOTES = [("「", "」"), ("『", "』"), ('"', '"'), ("“", "”"), ("'", "'"), ("＂", "＂")]
_PREFIXES = (
    "例文",
    "例",
    "キャプション",
    "レビュー",
    "ツイート",
    "記事",
    "要約",
    "文",
    "1文目",
    "2文目",
    "回答",
    "答え",
    "ラベル",
    "問い合わせ",
)
_PREFIX = re.compile(r"^[\[【(（]?\s*([^\s:：】\])）]{1,20})\s*[\]】)）]?\s*[:：]\s*")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


class CutText(str):
    """An answer the server stopped at its token limit (``finish_reason`` "length"): cut off mid-text, so
    it is a failure ("truncated"), never an example."""


_SENTENCE_END = ("。", "．", ".", "！", "!", "？", "?", "」", "』", ")", "）")


def split_numbered(text: str, n: int) -> list[str]:
    """Split an answer written as a numbered (or bulleted) list into its items.

    The fallback for servers that ignore ``n``: the prompt asks for ``n`` numbered lines. Returns the
    items found (up to ``n``); a single unnumbered answer comes back as one item. An unnumbered line
    continues the item before it only when that item stopped mid-sentence (a wrapped line); else it is
    the model talking (a lead-in before the list, a remark after it) and no item. A list cut off at the
    token limit has its last item cut (``CutText``).
    """
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not any(_NUMBERED.match(line) for line in lines):
        items = ["".join([lines[0], *(line.strip() for line in lines[1:])])] if lines else []
    else:
        items = []
        for line in lines:
            if _NUMBERED.match(line):
                items.append(_NUMBERED.sub("", line, count=1))
            elif items and not items[-1].rstrip().endswith(_SENTENCE_END):
                items[-1] += line.strip()
    if isinstance(text, CutText) and 0 < len(items) <= n:  # the answer's last item is among those kept
        items[-1] = CutText(items[-1])
    return items[:n]


def clean_text(raw: str, task: Task) -> tuple[str, str | None]:
    """(cleaned text, failure reason or None): strip numbering, quotes and echoed labels."""
    text = unicodedata.normalize("NFC", raw or "").strip()
    if isinstance(raw, CutText):
        return text, "truncated"
    for _ in range(3):  # prefixes and quotes can nest: 「例文：『…』」
        before = text
        text = _NUMBERED.sub("", text, count=1).strip()
        text = _strip_prefix(text, task)
        text = _strip_quotes(text)
        if text == before:
            break
    if not text:
        return "", "empty"
    if not _JAPANESE.search(text):
        return text, "not_japanese"
    return text, None


def _strip_prefix(text: str, task: Task) -> str:
    match = _PREFIX.match(text)
    if match is None:  # (most answers: the names are only gathered for a text that has a prefix)
        return text
    names = {*_PREFIXES, *(label.name for label in task.labels), *(label.display_ja for label in task.labels)}
    return text[match.end() :].strip() if match.group(1) in names else text


def _strip_quotes(text: str) -> str:
    for left, right in _QUOTES:
        if len(text) >= 2 and text.startswith(left) and text.endswith(right):
            inner = text[len(left) : -len(right)]
            if left not in inner and right not in inner:
                return inner.strip()
    return text


def parse_label(answer: str, task: Task) -> str | None:
    """The label an annotation answer names, or None when it names none or several."""
    text = unicodedata.normalize("NFKC", answer or "").strip().strip("。.「」\"'").lower()
    for label in task.labels:
        if text in (label.name.lower(), unicodedata.normalize("NFKC", label.display_ja).lower(), str(label.id)):
            return label.name
    found = set()
    for label in task.labels:
        for form in (label.name.lower(), unicodedata.normalize("NFKC", label.display_ja).lower()):
            if not form or not re.search(rf"(?<![a-z0-9_-]){re.escape(form)}(?![a-z0-9_-])", text):
                continue
            if _negated(text, form):  # "not acceptable", 「ネガティブではない」: what the label is not
                return None
            found.add(label.name)
    return found.pop() if len(found) == 1 else None


def _negated(text: str, form: str) -> bool:
    name = re.escape(form)
    return bool(
        re.search(rf"(?:\bnot\s+(?:an?\s+|the\s+)?|\bnon-?|非){name}(?![a-z0-9_-])", text)
        or re.search(rf"(?<![a-z0-9_-]){name}\s*(?:で|じゃ)(?:は)?(?:ない|なく|ありません)", text)
    )
