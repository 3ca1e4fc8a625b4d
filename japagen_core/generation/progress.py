"""A generation or annotation run's progress: counted from the rows of its parts, reported as the one
typed ``jobs.progress.Progress`` (unit "examples"; per label, units and call counters in ``extras``).

The counting is plain Python over the rows a part was written from (a few microseconds a row): at hundreds
of answers a second it runs on the event loop that sends the requests, where a pandas ``value_counts`` per
part cost more than the part's HTTP calls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from japagen_core.generation.llm import cost_usd
from japagen_core.jobs.progress import Progress

CALL_STATS = ("retries", "timeouts", "connection_errors", "rate_limited", "server_errors")  # the client's counters
REPORT_EVERY_S = 0.5  # progress.json is rewritten at most this often (but for the forced reports)


@dataclass
class RunProgress:
    """Counters of one run, fed with the rows of each part as it is written (or read back on resume)."""

    total_units: int = 0
    done_units: int = 0
    target: int = 0
    ok: int = 0
    failed: int = 0
    per_label: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    started: float = field(default_factory=time.monotonic)
    produced_this_attempt: int = 0
    per_label_target: int = 0  # generate: examples wanted per label (surplus answers do not count)

    def add(self, rows: list[dict[str, Any]], *, resumed: bool = False) -> None:
        """Count one unit's rows (dicts with ``status``, ``label`` and ``reason``)."""
        ok = 0
        for row in rows:
            if row["status"] == "ok":
                ok += 1
                label = row["label"]
                self.per_label[label] = self.per_label.get(label, 0) + 1
            else:
                reason = row["reason"]
                self.failures[reason] = self.failures.get(reason, 0) + 1
        self.ok += ok
        self.failed += len(rows) - ok
        self.done_units += 1
        if not resumed:
            self.produced_this_attempt += ok

    @property
    def done(self) -> int:
        """Usable examples toward the target (generate: at most ``per_label_target`` per label)."""
        if self.per_label_target:
            return sum(min(n, self.per_label_target) for n in self.per_label.values())
        return self.ok

    def to_progress(self, model: str, state: str, message: str = "", calls: dict[str, int] | None = None) -> Progress:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.produced_this_attempt / elapsed
        remaining = max(self.target - self.ok, 0)  # (an estimate; surplus answers make it a little short)
        calls = dict(calls or {})
        return Progress(
            state=state,
            done=self.done,
            target=self.target,
            unit="examples",
            failed=self.failed,
            failures=dict(self.failures),
            retries=int(calls.pop("retries", 0)),
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost_usd=cost_usd(model, self.prompt_tokens, self.completion_tokens),
            rate_per_s=round(rate, 2),
            eta_s=round(remaining / rate) if rate > 0 else None,
            message=message,
            extras={
                "per_label": dict(self.per_label),
                "done_units": self.done_units,
                "total_units": self.total_units,
                **calls,
            },
        )

    def snapshot(self, model: str, state: str, message: str = "", calls: dict[str, int] | None = None) -> dict:
        """What progress.json holds: ``Progress.to_json()``."""
        return self.to_progress(model, state, message, calls).to_json()


def progress_line(p: dict[str, Any]) -> str:
    """One line of a run's progress, for the CLI and the Jobs page (any progress.json shape)."""
    prog = Progress.from_json(p)
    extras = prog.extras
    eta = f", ETA {prog.eta_s} s" if prog.eta_s is not None else ""
    cost = f", ${prog.cost_usd:.4f}" if prog.cost_usd is not None else ""
    failures = ", ".join(f"{k} {v}" for k, v in sorted((prog.failures or {}).items()))
    return (
        f"{prog.done}/{prog.target} examples, {prog.failed} failed"
        f"{' (' + failures + ')' if failures else ''}, {prog.rate_per_s or 0}/s{eta}, "
        f"{(prog.prompt_tokens or 0) + (prog.completion_tokens or 0):,} tokens{cost}"
        f"{_calls_text({**extras, 'retries': prog.retries})}"
    )


def _calls_text(p: dict[str, Any]) -> str:
    """Retries, timeouts and calls cut off by a stop, when there are any."""
    counts = [(p.get(k) or 0, k.replace("_", " ")) for k in CALL_STATS]
    text = "; " + ", ".join(f"{n} {name}" for n, name in counts if n) if any(n for n, _ in counts) else ""
    if p.get("cut_off_calls"):
        text += f"; {p['cut_off_calls']} calls cut off by a stop (tokens unknown)"
    if p.get("reused_calls"):
        text += f"; {p['reused_calls']} answers reused"
    return text
