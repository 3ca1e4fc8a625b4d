"""What a run will take before it starts: calls, tokens, cost and time; and the paper's scale.

The paper generates 25,000 examples per class with temperature 1.2, top-p 1.0, frequency penalty 0.02,
500 tokens and five choices per call (``PAPER_DEFAULTS``). At that scale the Batch API (half price,
answers within 24 h per round) is what a user would pick, so the estimate shows both prices.

The call count follows ``run.plan``: single-text tasks ask ceil(count / n) calls per unit of up to
UNIT_EXAMPLES examples of a label; pair tasks ask ceil(M / n) first-sentence calls (stage 1) and one call
per pair (stage 2). Tokens: about one per Japanese character of the prompt, and ``TOKENS_PER_EXAMPLE``
per answer (the upper bound: every answer uses all ``max_tokens``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from japagen_core.errors import JapagenError
from japagen_core.generation.llm import PAPER_DEFAULTS, LLMConfig, cost_usd
from japagen_core.generation.prompts import PromptSpec
from japagen_core.generation.run import UNIT_EXAMPLES
from japagen_core.tasks import Task

PAPER_PER_LABEL = 25_000  # the paper's examples per class
TOKENS_PER_EXAMPLE = 120  # a typical generated sentence or short review, in tokens
SECONDS_PER_CALL = 6.0  # a synchronous call writing n=5 answers, as measured against OpenAI (an assumption)
BATCH_WINDOW_HOURS = 24  # OpenAI's completion window per batch round


@dataclass(frozen=True)
class RunEstimate:
    examples: int
    calls: int
    rounds: int  # batch rounds before retries (a pair task needs two)
    prompt_tokens: int
    completion_tokens: int  # typical
    cost_usd: float | None  # typical, at the price of the chosen way (batch or synchronous)
    cost_usd_upper: float | None  # if every answer used all max_tokens
    cost_usd_sync: float | None  # typical, synchronously (to compare)
    hours: float  # synchronous: calls x SECONDS_PER_CALL / concurrency (or the rpm cap); batch: the upper bound
    batch: bool

    def lines(self, model: str) -> list[str]:
        """The estimate in a few lines, for the CLI."""

        def money(x: float | None) -> str:
            return f"${x:,.2f}" if x is not None else f"unknown (no price for {model})"

        how = "Batch API (half price)" if self.batch else "synchronous calls"
        when = (
            f"up to {self.hours:,.0f} h ({self.rounds} batch round(s) of at most {BATCH_WINDOW_HOURS} h; usually less)"
            if self.batch
            else f"about {self.hours:,.1f} h (at {SECONDS_PER_CALL:.0f} s per call and the concurrency / rpm set)"
        )
        lines = [
            f"examples: {self.examples:,}",
            f"API calls: {self.calls:,} via {how}",
            f"tokens: about {self.prompt_tokens:,} prompt + {self.completion_tokens:,} completion",
            f"estimated cost: {money(self.cost_usd)} (at most {money(self.cost_usd_upper)})",
            f"time: {when}",
        ]
        if self.batch and self.cost_usd_sync is not None:
            lines.insert(4, f"the same synchronously: {money(self.cost_usd_sync)}")
        return lines


def count_calls(task: Task, per_label: int, n: int, *, pair_protocol: str = "paired") -> tuple[int, int]:
    """(calls, completion answers) of a run's first pass, as ``run.plan`` splits it. Pair tasks: stage-1
    calls of n first sentences (per label when paired, shared by all labels when contrastive), then one
    stage-2 call per pair."""
    if per_label < 1 or n < 1:
        raise JapagenError(f"per_label {per_label} and n {n} must be at least 1")
    labels = len(task.labels)
    if task.is_pair:
        first = math.ceil(per_label / n) * (1 if pair_protocol == "contrastive" else labels)
        first_answers = per_label * (1 if pair_protocol == "contrastive" else labels)
        return first + per_label * labels, first_answers + per_label * labels
    full, rest = divmod(per_label, UNIT_EXAMPLES)
    per = full * math.ceil(UNIT_EXAMPLES / n) + (math.ceil(rest / n) if rest else 0)
    return per * labels, per_label * labels


def prompt_chars(spec: PromptSpec, task: Task, setting: str) -> int:
    """Characters of a typical call's messages (a placeholder word / example where the setting has one)."""
    word = "単語" if setting == "kadg" else None
    example = "例" * 40 if setting == "few-shot" else None
    if task.is_pair:
        label = task.label_names[0]
        stages = [spec.first_messages(setting=setting, word=word),
                  spec.second_messages(label, "文" * 30, setting=setting, word=word, example=example)]  # fmt: skip
    else:
        stages = [spec.single_messages(name, setting=setting, word=word, example=example) for name in task.label_names]
    return sum(len(m["content"]) for messages in stages for m in messages) // len(stages)


def estimate_run(
    task: Task, per_label: int, llm: LLMConfig, *, batch: bool, prompt_chars: int, pair_protocol: str = "paired"
) -> RunEstimate:
    """Calls, tokens, cost and time of generating ``per_label`` examples per label of ``task``."""
    calls, answers = count_calls(task, per_label, llm.n, pair_protocol=pair_protocol)
    prompt = calls * max(prompt_chars, 1)
    typical, upper = answers * min(llm.max_tokens, TOKENS_PER_EXAMPLE), answers * llm.max_tokens
    rounds = 2 if task.is_pair else 1
    if batch:
        hours = float(rounds * BATCH_WINDOW_HOURS)
    else:
        seconds = calls * SECONDS_PER_CALL / llm.concurrency
        if llm.requests_per_minute:
            seconds = max(seconds, calls / llm.requests_per_minute * 60)
        hours = seconds / 3600
    return RunEstimate(
        examples=per_label * len(task.labels),
        calls=calls,
        rounds=rounds,
        prompt_tokens=prompt,
        completion_tokens=typical,
        cost_usd=cost_usd(llm.model, prompt, typical, batch=batch),
        cost_usd_upper=cost_usd(llm.model, prompt, upper, batch=batch),
        cost_usd_sync=cost_usd(llm.model, prompt, typical),
        hours=hours,
        batch=batch,
    )


def paper_sampling(llm: LLMConfig) -> list[str]:
    """The sampling settings of ``llm`` that differ from the paper's (empty: it is the paper's)."""
    ours = llm.params()
    return [f"{k} {ours[k]} (paper: {v})" for k, v in PAPER_DEFAULTS.items() if ours[k] != v]
