"""The teacher's training file: chat-format JSON Lines built from the prompts generation sends.

A teacher is tuned on exactly the conversations it will later answer (Kaddour & Liu: the prompt as
input, the gold output as the answer), so the file is rendered from the task's prompt spec:

    generate, single-text task   [system, label instruction]            -> the gold text
    generate, pair task          [system, first instruction]            -> the gold first sentence (once per text)
                                 [system, first, x1, label instruction]  -> the gold second sentence
    annotate                     [system, annotation prompt with text]  -> the gold label name

Prompts are the zero-shot ones: a tuned teacher needs neither few-shot examples nor KADG words in the
prompt (it has seen the gold data), and generating with it in the zero-shot setting asks the same
questions it was trained on. Each line is ``{"messages": [...]}``, the format of OpenAI's chat
fine-tuning and of ``local_tune``.

Token counts are estimates without a tokenizer (tiktoken is not a dependency): about one token per
Japanese character and four ASCII characters per token, plus the chat format's per-message overhead.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from japagen_core.errors import JapagenError
from japagen_core.generation.prompts import PromptSpec
from japagen_core.tasks import Task

PURPOSES = ("generate", "annotate")
SETTING = "zero-shot"  # the prompts a teacher is trained on and later asked
# USD per 1M training tokens (tokens in the file x epochs), from OpenAI's pricing page
# (https://openai.com/api/pricing, fine-tuning section, as of 2025); check it before a large job.
TRAINING_PRICES = {
    "gpt-4o-mini-2024-07-18": 3.00,
    "gpt-4o-2024-08-06": 25.00,
    "gpt-4.1-2025-04-14": 25.00,
    "gpt-4.1-mini-2025-04-14": 5.00,
    "gpt-4.1-nano-2025-04-14": 1.50,
    "gpt-3.5-turbo-0125": 8.00,
    "davinci-002": 6.00,
    "babbage-002": 0.40,
}
OPENAI_MIN_EXAMPLES = 10  # the fine-tuning API refuses a file with fewer examples
_MESSAGE_OVERHEAD = 4  # role and separators of one chat message, in tokens (OpenAI's documented estimate)
_CONVERSATION_OVERHEAD = 3  # the assistant's reply priming


class TeacherError(JapagenError):
    """A teacher cannot be tuned or used (no data, bad setting, a refused or failed fine-tuning job)."""


@dataclass(frozen=True)
class TrainingFile:
    """The JSON Lines a teacher is tuned on, with what it holds."""

    records: tuple[dict[str, Any], ...]
    purpose: str
    task: str
    prompt_version: str

    @property
    def data(self) -> bytes:
        """The file as uploaded: one ``{"messages": [...]}`` per line (the label is ours, for counting)."""
        lines = (json.dumps({"messages": r["messages"]}, ensure_ascii=False) + "\n" for r in self.records)
        return "".join(lines).encode("utf-8")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def tokens(self) -> int:
        """Estimated tokens of the whole file (one epoch)."""
        return sum(record_tokens(r) for r in self.records)

    def answers_per_label(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.records:
            key = r.get("label") or "(first sentence)"
            counts[key] = counts.get(key, 0) + 1
        return counts


def estimate_tokens(text: str) -> int:
    """Tokens of ``text`` without a tokenizer: 1 per non-ASCII character (Japanese), 1 per 4 ASCII ones."""
    ascii_chars = sum(1 for c in text if ord(c) < 128)
    return (len(text) - ascii_chars) + math.ceil(ascii_chars / 4)


def record_tokens(record: Mapping[str, Any]) -> int:
    messages = record["messages"]
    return _CONVERSATION_OVERHEAD + sum(_MESSAGE_OVERHEAD + estimate_tokens(m["content"]) for m in messages)


def training_cost(base_model: str, tokens: int, epochs: float) -> float | None:
    """Estimated USD for ``tokens`` trained ``epochs`` times; None for a model without a known price."""
    price = TRAINING_PRICES.get(base_model)
    if price is None:
        price = next((p for m, p in TRAINING_PRICES.items() if m.startswith(base_model + "-")), None)
    return None if price is None else tokens * epochs * price / 1_000_000


def gold_label(task: Task, label: Any, score: Any) -> str | None:
    """A row's label name: its label, or for a score task the nearest grade."""
    if isinstance(label, str) and label:
        return label
    if score is not None and score == score:  # not NaN
        return task.grade_for_score(float(score))
    return None


def build_training_file(task: Task, spec: PromptSpec, frame: pd.DataFrame, *, purpose: str) -> TrainingFile:
    """The training file of ``frame``'s labelled rows (columns text, text_b, label, score)."""
    if purpose not in PURPOSES:
        raise TeacherError(f"purpose {purpose!r} must be one of {list(PURPOSES)}")
    if spec.task != task.name:
        raise TeacherError(f"prompt spec {spec.path} is for {spec.task}, not {task.name}")
    records: list[dict[str, Any]] = []
    firsts: set[str] = set()
    for text, text_b, label, score in zip(frame["text"], frame["text_b"], frame["label"], frame["score"], strict=True):
        name = gold_label(task, label, score)
        if name is None or not isinstance(text, str) or not text.strip():
            continue
        second = text_b if isinstance(text_b, str) and text_b.strip() else None
        if task.is_pair and second is None:
            raise TeacherError(f"a {task.name} example has no second text: {text[:40]!r}")
        if purpose == "annotate":
            messages = spec.annotate_messages(task, text, second)
            records.append(_record(messages, name, name))
        elif task.is_pair:
            if text not in firsts:  # the first sentence carries no label: teach it once per text
                firsts.add(text)
                records.append(_record(spec.first_messages(setting=SETTING), text, None))
            records.append(_record(spec.second_messages(name, text, setting=SETTING), second, name))
        else:
            records.append(_record(spec.single_messages(name, setting=SETTING), text, name))
    if not records:
        raise TeacherError(f"no labelled {task.name} examples to build a training file from")
    return TrainingFile(tuple(records), purpose, task.name, spec.version)


def _record(prompt: list[dict[str, str]], answer: str, label: str | None) -> dict[str, Any]:
    return {"messages": [*prompt, {"role": "assistant", "content": answer}], "label": label}


def read_training_file(data: bytes) -> list[dict[str, Any]]:
    """The conversations of a JSON Lines training file; TeacherError names the first bad line."""
    records = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise TeacherError(f"training file line {number}: not JSON ({exc})") from None
        messages = record.get("messages") if isinstance(record, dict) else None
        if not isinstance(messages, list) or not messages or messages[-1].get("role") != "assistant":
            raise TeacherError(f"training file line {number}: needs messages ending with the assistant's answer")
        records.append({"messages": messages})
    if not records:
        raise TeacherError("the training file is empty")
    return records
