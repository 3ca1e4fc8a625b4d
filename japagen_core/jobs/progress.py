"""One typed progress for every job kind: what progress.json holds while a job runs.

Every kind reports the same fields (done of target in its unit, failures, retries, tokens, cost, rate,
ETA, a message); what only one kind knows (the seed a training run is on, the examples per label of a
generation) goes in ``extras``. Readers (the CLI's ``--wait``, ``jobs --json``, the Jobs page) read one
shape. ``from_json`` also reads the older per-kind dicts (``ok`` for ``done``) that jobs written before
this module left in their folders, so their cards still show what they did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

# Keys the older per-kind progress dicts used, kept readable: old name -> field.
_LEGACY = {"ok": "done"}


@dataclass
class Progress:
    """A job's progress at one moment; ``to_json`` is what progress.json holds."""

    state: str = "running"  # queued / running / saving / succeeded / failed / cancelled / interrupted
    done: int = 0
    target: int = 0
    unit: str = "examples"  # examples / steps / models / answers
    failed: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # reason -> count
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    rate_per_s: float | None = None
    eta_s: int | None = None
    message: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    updated_at: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["updated_at"] = self.updated_at or datetime.now(UTC).isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Progress:
        """Read progress.json, including the per-kind dicts of jobs written before this module."""
        if not data:
            return cls(state="")
        names = set(cls.__dataclass_fields__)
        known: dict[str, Any] = {}
        extras: dict[str, Any] = dict(data.get("extras") or {})
        for key, value in data.items():
            if key == "extras":
                continue
            name = _LEGACY.get(key, key) if key not in names else key
            if name in names:
                known.setdefault(name, value)
            else:
                extras.setdefault(key, value)
        known["extras"] = extras
        try:
            return cls(**known)
        except TypeError:  # a hand-edited file: keep what can be read
            return cls(state=str(data.get("state", "")), message=str(data.get("message", "")), extras=extras)

    def get(self, name: str, default: Any = None) -> Any:
        """A field, or else an extra (``timeouts``, ``step``, ``seed``...), or ``default``."""
        if name in self.__dataclass_fields__ and name != "extras":
            return getattr(self, name)
        return self.extras.get(name, default)

    def flat(self) -> dict[str, Any]:
        """Fields and extras in one dict, with ``ok`` for ``done``: for line formatters written for the
        older per-kind dicts (generation's ``progress_line``, training's ``train_progress_line``)."""
        data = {**self.extras, **{k: v for k, v in asdict(self).items() if k != "extras"}}
        data["ok"] = self.done
        return data

    @property
    def fraction(self) -> float | None:
        """done / target in [0, 1], or None while the target is unknown."""
        if not self.target:
            return None
        return max(0.0, min(1.0, self.done / self.target))
