"""The call journal of a run: every LLM call sent and every answer, appended the moment it happens.

A run writes one Parquet part per unit of ~50 examples, so a kill loses the answers of the units in flight.
The journal (``usage.jsonl`` in the parts folder) keeps them: a resumed run answers those calls from the
journal instead of paying for them again, and the token count includes every answered call whatever
happened after. A call sent and never answered nor failed was cut off by a kill or cancel: a provider may
still bill it, so it is counted (its tokens cannot be known).

One JSON line per event, written with a single ``os.write`` on an ``O_APPEND`` descriptor (a kill cannot
leave half an earlier line; a line cut short at the end is skipped):

    {"s": id, "k": key}                                     sent
    {"a": id, "k": key, "u": [prompt, completion], "r": request_id, "t": [texts]}   answered
    {"f": id, "why": reason}                                failed after its retries
    [prompt, completion]                                    answered (journals written before the above)

Examples still land exactly once: an answer is reused only by a unit whose part is not written yet, and
each answer at most once (``take`` removes it).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from japagen_core.generation.clean import CutText
from japagen_core.generation.llm import Completion, Message

USAGE_FILE = "usage.jsonl"  # in the parts folder, kept across attempts


@dataclass
class JournalTotals:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    answered: int = 0
    cut_off: int = 0  # sent, then neither answered nor failed: in flight at a kill or cancel


def call_key(unit_id: str, messages: list[Message], n: int) -> str:
    """Which call this is: the same unit asking the same thing. Equal requests are interchangeable."""
    digest = hashlib.sha256(json.dumps([messages, n], ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    return f"{unit_id}:{digest[:24]}"


def read_journal(path: Path) -> tuple[JournalTotals, dict[str, list[Completion]]]:
    """Totals over every call of a run, and the answers by call key."""
    totals = JournalTotals()
    answers: dict[str, list[Completion]] = defaultdict(list)
    open_calls: set[str] = set()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return totals, answers
    for line in data.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:  # a line cut short by a kill
            continue
        if isinstance(entry, list):  # the older format: usage only
            totals.prompt_tokens += int(entry[0])
            totals.completion_tokens += int(entry[1])
            totals.answered += 1
        elif "s" in entry:
            open_calls.add(entry["s"])
        elif "a" in entry:
            open_calls.discard(entry["a"])
            prompt, completion = (int(x) for x in entry["u"])
            totals.prompt_tokens += prompt
            totals.completion_tokens += completion
            totals.answered += 1
            cut = set(entry.get("c", ()))  # the answers stopped at the token limit
            texts = [CutText(t) if i in cut else t for i, t in enumerate(entry["t"])]
            answers[entry["k"]].append(Completion(texts, entry.get("r"), prompt, completion))
        elif "f" in entry:
            open_calls.discard(entry["f"])
    totals.cut_off = len(open_calls)
    return totals, answers


class CallJournal:
    """Appends a run's call events; hands back the answers an earlier attempt already paid for."""

    def __init__(self, path: Path):
        self.totals, self._answers = read_journal(path)
        self.earlier_cut_off = self.totals.cut_off
        self.reused = 0
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._prefix = f"{os.getpid()}-{os.urandom(3).hex()}-"
        self._count = 0

    def take(self, key: str) -> Completion | None:
        """An answer to this call from an earlier attempt, once; None when it must be sent."""
        answers = self._answers.get(key)
        if not answers:
            return None
        self.reused += 1
        return answers.pop(0)

    def sent(self, key: str) -> str:
        self._count += 1
        call_id = f"{self._prefix}{self._count}"
        self._write({"s": call_id, "k": key})
        return call_id

    def answered(self, call_id: str, key: str, completion: Completion) -> None:
        usage = [completion.prompt_tokens, completion.completion_tokens]
        entry = {"a": call_id, "k": key, "u": usage, "r": completion.request_id, "t": completion.texts}
        cut = [i for i, text in enumerate(completion.texts) if isinstance(text, CutText)]
        self._write({**entry, "c": cut} if cut else entry)
        self.totals.prompt_tokens += completion.prompt_tokens
        self.totals.completion_tokens += completion.completion_tokens
        self.totals.answered += 1

    def failed(self, call_id: str, reason: str) -> None:
        self._write({"f": call_id, "why": reason})

    def _write(self, entry: dict) -> None:
        os.write(self._fd, json.dumps(entry, ensure_ascii=False).encode() + b"\n")

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
