"""Review actions sent by a browser card in batches: applied in order, each exactly once.

The card (app/review_card.js) numbers its actions 1, 2, 3... per client (one page load) and sends
every action not yet acknowledged with each sync; the server applies those after the last one it
acknowledged. Each action is one event batch whose id is ``<client>-<seq>``, so an action sent again
(a resend after a lost reply, or a run interrupted between the write and the acknowledgement) finds
its batch in the log and is not applied twice. An undo names the action it takes back by its number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from japagen_core.errors import JapagenError
from japagen_core.project import Project
from japagen_core.review import events as ev
from japagen_core.tasks import Task

CLIENT_ID = re.compile(r"[a-z0-9]{1,40}")
ACTIONS = ("relabel", "score", "flag", "unflag", "undo")  # score: a score task's new score (a number)
REASON = "review"


@dataclass(frozen=True)
class ClientEvent:
    seq: int
    action: str
    dataset_id: str | None = None
    row_idx: int | None = None
    value: str | None = None
    target: int | None = None  # an undo: the seq of the action it takes back


@dataclass
class Applied:
    acked: int  # the newest seq applied (or refused): the client may forget everything up to it
    written: int = 0
    undone: list[ev.Event] = field(default_factory=list)  # events the undos of this batch took back
    errors: list[str] = field(default_factory=list)  # actions refused, one line each


def parse(client: object, raw: object) -> tuple[str, list[ClientEvent]]:
    """Check a sync's client id and events (a list of dicts as the card sends them), in seq order."""
    if not isinstance(client, str) or not CLIENT_ID.fullmatch(client):
        raise JapagenError(f"review card client id {client!r} must be 1-40 lowercase letters or digits")
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise JapagenError(f"review card events must be a list, not {type(raw).__name__}")
    found = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise JapagenError(f"review card event {item!r} is not an object")
        seq, action = item.get("seq"), item.get("action")
        if not isinstance(seq, int) or seq < 1:
            raise JapagenError(f"review card event {dict(item)!r}: seq must be a positive whole number")
        if action not in ACTIONS:
            raise JapagenError(f"review card event #{seq}: unknown action {action!r}; one of {list(ACTIONS)}")
        if action == "undo":
            target = item.get("target")
            if not isinstance(target, int) or not 0 < target < seq:
                raise JapagenError(f"review card undo #{seq}: target {target!r} must be an earlier action's number")
            found.append(ClientEvent(seq, action, target=target))
            continue
        dataset_id, row_idx, value = item.get("ds"), item.get("row"), item.get("value")
        if not isinstance(dataset_id, str) or not isinstance(row_idx, int):
            raise JapagenError(f"review card event #{seq}: needs a dataset id and a row number")
        if action == "score" and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise JapagenError(f"review card score #{seq}: {value!r} is not a number")
        found.append(ClientEvent(seq, action, dataset_id, row_idx, None if value is None else str(value)))
    return client, sorted(found, key=lambda e: e.seq)


def apply_events(
    project: Project, task: Task, client: str, events: Sequence[ClientEvent], *, after: int, reviewer: str
) -> Applied:
    """Apply the events numbered above ``after``, in order. A refused action (an unknown label, a
    missing example) is reported and acknowledged, so one bad action cannot hold up the rest."""
    done = Applied(after)
    for e in events:
        if e.seq <= after:
            continue
        batch = f"{client}-{e.seq}"
        try:
            if e.action == "undo":
                undone = ev.undo_batch(project, f"{client}-{e.target}", reviewer=reviewer, undo_batch_id=batch)
                done.undone += undone
                done.written += len(undone)
            else:
                if e.action == "score":  # a score is a relabel of a score task, by number
                    action = ev.Action("relabel", float(e.value), reason=REASON)
                else:
                    action = ev.Action(e.action, e.value, reason=REASON)
                keys = [(e.dataset_id, e.row_idx)]
                confirm = e.action in ("relabel", "score")  # the reviewer's judgement counts even when it agrees
                done.written += ev.apply(
                    project, task, keys, action, reviewer=reviewer, batch_id=batch, confirm=confirm
                )[1]
        except JapagenError as exc:
            done.errors.append(f"#{e.seq} {e.action}: {exc}")
        done.acked = e.seq
    return done
