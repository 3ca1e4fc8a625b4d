"""Generation and annotation runs (paper Eq. 1-5; Kaddour & Liu's Y|X), executed as resumable jobs.

The ``Runner`` is the loop: it plans the run's units (plan.py), skips the units whose Parquet part exists,
runs the rest concurrently through the shared parts loop (jobs/parts.py: one atomically written part per
unit, corrupt parts set aside and redone), then tops up shortfalls. Every answer becomes a row: a usable
example, or a failure with its raw text and reason; progress is counted from those rows (progress.py).
Every call is journaled (journal.py), so a killed run pays for no answer twice. When all units are done,
``ingest`` (ingest.py) turns the parts into a synthetic dataset plus its failures.

This module keeps the names it had before the split importable (``RunConfig``, ``plan``, ``ingest``, ...).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import math
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from japagen_core.errors import JapagenError
from japagen_core.generation.clean import clean_text, parse_label, split_numbered
from japagen_core.generation.ingest import ingest, usage_totals
from japagen_core.generation.journal import USAGE_FILE, CallJournal, call_key
from japagen_core.generation.llm import ChatClient, FatalLLMError, LLMConfig, LLMError, OpenAIChatClient
from japagen_core.generation.plan import (
    BACKENDS,
    FEWSHOT_DRAWS,
    MODES,
    PAIR_PROTOCOLS,
    TOPUP_ROUNDS,
    UNIT_EXAMPLES,
    RunConfig,
    Unit,
    annotate_topups,
    check_fewshot_source,
    draw_fewshot,
    new_run_id,
    plan,
    topup_units,
)
from japagen_core.generation.presets import kadg_words, load_preset_spec
from japagen_core.generation.progress import CALL_STATS, REPORT_EVERY_S, RunProgress, progress_line
from japagen_core.generation.prompts import PromptSpec, format_example
from japagen_core.jobs.parts import PartsFolder, run_units
from japagen_core.project import Project
from japagen_core.review.word_lists import ListVersion
from japagen_core.storage import repository as repo

__all__ = [  # the names importers used before the split, from where they live now
    "BACKENDS", "CALL_STATS", "FEWSHOT_DRAWS", "MODES", "PAIR_PROTOCOLS", "PART_COLUMNS", "TOPUP_ROUNDS",
    "UNIT_EXAMPLES", "USAGE_FILE", "RunConfig", "RunProgress", "Runner", "Unit", "check_fewshot_source",
    "draw_fewshot", "ingest", "new_run_id", "plan", "progress_line", "topup_units", "usage_totals",
]  # fmt: skip

log = logging.getLogger(__name__)

LIST_PROMPT = "\n\n異なる{n}件を、「1. 」「2. 」のように番号を付けて、1行に1件ずつ書いてください。"
PART_COLUMNS = {
    "unit_id": "string",
    "seq": "int64",
    "status": "string",  # ok / failed
    "reason": "string",
    "label": "string",
    "text": "string",
    "text_b": "string",
    "raw": "string",
    "request_id": "string",
    "created_at": "string",
    "provenance": "string",
}
PART_SCHEMA = pa.schema([(name, pa.int64() if kind == "int64" else pa.string()) for name, kind in PART_COLUMNS.items()])
DONE_COLUMNS = ("status", "label", "reason")  # what resuming and the shortfall read back from the parts
_UNIT_ID: contextvars.ContextVar[str] = contextvars.ContextVar("unit_id")  # the unit a call belongs to


class Runner:
    """Executes a run's units against a chat client, writing one part per unit."""

    def __init__(
        self,
        project: Project,
        cfg: RunConfig,
        client: ChatClient,
        parts_dir: Path,
        *,
        report: Callable[[dict[str, Any]], None] = lambda snapshot: None,
        cancelled: Callable[[], bool] = lambda: False,
    ):
        self.project, self.cfg, self.client, self.parts_dir = project, cfg, client, parts_dir
        self.task = project.registry[cfg.task]
        preset = cfg.preset if cfg.mode == "generate" else "japagen"  # annotation uses japagen's annotate prompt
        self.spec: PromptSpec = load_preset_spec(project, self.task, preset)
        self.words: ListVersion | None = None
        if cfg.mode == "generate" and cfg.setting == "kadg":
            # The list as it is now: a resumed run uses the list current when it resumes, and every
            # example records the version it was drawn from.
            self.words = kadg_words(project, self.spec)
        self.llm = LLMConfig(**cfg.llm)
        self.list_mode = cfg.list_mode
        self.report, self.cancelled = report, cancelled
        # What the client adds to each example's provenance (the local backend: model, adapter and its sha).
        self.client_provenance = dict(getattr(client, "provenance", None) or {})
        self.parts = PartsFolder(parts_dir, PART_SCHEMA)
        self.progress = RunProgress()
        self.journal = CallJournal(parts_dir / USAGE_FILE)  # answered calls are counted and reused on resume
        self.progress.prompt_tokens = self.journal.totals.prompt_tokens
        self.progress.completion_tokens = self.journal.totals.completion_tokens
        self._reported_calls: dict[str, int] = {}
        self._last_report = 0.0
        self._fewshot = self._load_fewshot() if cfg.mode == "generate" and cfg.setting == "few-shot" else {}
        self._fewshot_fixed = (
            draw_fewshot(self._fewshot, cfg.seed, cfg.fewshot_dataset)
            if self._fewshot and cfg.fewshot_draw == "per-run"
            else None
        )
        self._source = self._load_source() if cfg.mode == "annotate" else None

    # -- inputs ------------------------------------------------------------------------------------

    def _load_fewshot(self) -> dict[str, list[tuple[str, str]]]:
        """Gold examples per label name: (example id, formatted text)."""
        with self.project.db.transaction() as con:
            info = repo.get_dataset(con, self.cfg.fewshot_dataset)
            rows = con.execute(
                "SELECT row_idx, text, text_b, label, score FROM examples WHERE dataset_id = ? ORDER BY row_idx",
                [info.id],
            ).fetchall()
        if info.task != self.task.name:
            raise JapagenError(f"few-shot dataset {info.id} is a {info.task} dataset, not {self.task.name}")
        pool: dict[str, list[tuple[str, str]]] = {}
        for row_idx, text, text_b, label, score in rows:
            name = label if label is not None else (self.task.grade_for_score(score) if score is not None else None)
            if name is not None:
                pool.setdefault(name, []).append((f"{info.id}:{row_idx}", format_example(self.task, text, text_b)))
        missing = [name for name in self.task.label_names if name not in pool]
        if missing:
            raise JapagenError(f"few-shot dataset {info.id} has no example of label(s) {missing}")
        return pool

    def _load_source(self) -> dict[int, dict[str, Any]]:
        """The texts to annotate, by row id (plain dicts: a unit reads one per call)."""
        with self.project.db.transaction() as con:
            info = repo.get_dataset(con, self.cfg.source_dataset)
            rows = con.execute(
                "SELECT row_idx, text, text_b, label, source_id FROM examples WHERE dataset_id = ? ORDER BY row_idx",
                [info.id],
            ).fetchall()
        if info.task != self.task.name:
            raise JapagenError(f"dataset {info.id} is a {info.task} dataset, not {self.task.name}")
        names = ("text", "text_b", "label", "source_id")
        return {int(row[0]): dict(zip(names, row[1:], strict=True)) for row in rows}

    # -- running -----------------------------------------------------------------------------------

    def done_parts(self) -> dict[str, list[dict[str, Any]]]:
        """The finished units' rows (their ``status``, ``label`` and ``reason``), by unit id; a part that
        cannot be read (left empty or cut short by a crash) is set aside as ``*.corrupt`` so its unit is
        done again."""
        return self.parts.read_rows(columns=DONE_COLUMNS)

    async def run(self) -> str:
        """Run every unit not yet done, then top up shortfalls; 'succeeded', 'incomplete' or 'cancelled'."""
        try:
            return await self._run()
        except LLMError:
            self._report("running", force=True)  # the timeouts and retries up to a breaker's trip
            raise
        finally:
            self.journal.close()

    async def _run(self) -> str:
        source_rows = list(self._source) if self._source is not None else None
        units = plan(self.task, self.cfg, source_rows=source_rows)
        self.parts.remove_stale_temps()  # this job's lock is ours: no other writer is at work
        done = self.done_parts()
        self.progress.target = (
            self.cfg.per_label * len(self.task.labels) if self.cfg.mode == "generate" else len(source_rows)
        )
        self.progress.total_units = len(units)
        self.progress.per_label_target = self.cfg.per_label if self.cfg.mode == "generate" else 0
        for part in done.values():
            self.progress.add(part, resumed=True)
        self.progress.done_units = sum(u.id in done for u in units)
        done_ids = set(done)  # from here on the counts in self.progress stand for the parts' rows
        del done
        self._report("running", force=True)  # the target is known before the first unit ends
        first_round = 1 + max((int(m[1]) for u in done_ids if (m := re.match(r"t(\d+)-", u))), default=0)
        for round_no in range(first_round, first_round + TOPUP_ROUNDS + 1):
            todo = [u for u in units if u.id not in done_ids]
            if todo and not await self._run_units(todo):
                return "cancelled"
            done_ids.update(u.id for u in todo)
            if round_no == first_round + TOPUP_ROUNDS:
                break
            if self.cfg.mode == "annotate":  # ask again for the texts a failed answer left unlabelled
                units = annotate_topups(self._unlabelled(), round_no)
            else:
                short = self.shortfall()
                units = topup_units(self.task, self.cfg, short, round_no) if short else []
            if not units or (round_no > first_round and not self.progress.ok):
                break  # nothing missing; or a top-up round and still not one usable answer: more would repeat it
            self.progress.total_units += len(units)
        self._report("running", force=True)
        return "succeeded" if not self.shortfall() else "incomplete"

    def _unlabelled(self) -> list[int]:
        """annotate: the source rows that no answer in the parts has labelled yet, in order."""
        labelled = {
            json.loads(row["provenance"])["source_row"]
            for rows in self.parts.read_rows(columns=("status", "provenance")).values()
            for row in rows
            if row["status"] == "ok"
        }
        return [row for row in self._source if row not in labelled]

    def shortfall(self, done: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, int]:
        """Examples still missing per label (generate), or {"texts": n} when nothing was labelled (annotate);
        counted from ``done`` (``done_parts()``), else from the rows this runner has counted."""
        if done is None:
            counts = self.progress.per_label
        else:
            counts = {}
            for row in (row for rows in done.values() for row in rows if row["status"] == "ok"):
                counts[row["label"]] = counts.get(row["label"], 0) + 1
        if self.cfg.mode == "annotate":
            return {} if sum(counts.values()) else {"texts": self.progress.target}
        short = {name: self.cfg.per_label - counts.get(name, 0) for name in self.task.label_names}
        return {name: n for name, n in short.items() if n > 0}

    def _topups(self, short: dict[str, int], round_no: int) -> list[Unit]:
        return topup_units(self.task, self.cfg, short, round_no)

    async def _run_units(self, units: list[Unit]) -> bool:
        """Run units concurrently (a few more in flight than the client's concurrency needs), one part
        each; False when cancelled (the units in flight are not written, so a resume redoes them)."""

        async def one(unit: Unit) -> None:
            rows = await self._unit(unit)
            # In a worker thread: the part's two fsyncs take milliseconds on a busy disk, and the event
            # loop keeps answering the other units' calls meanwhile (a cancel now still leaves a whole part).
            await asyncio.to_thread(self.parts.write, unit.id, rows)
            self._counted(rows)

        def tick() -> None:
            if self._call_stats() != self._reported_calls:  # retries and timeouts show while they happen
                self._report("running")

        in_flight = max(2, math.ceil(self.llm.concurrency / max(1, self.llm.n)) + 2)
        return await run_units(units, one, in_flight=in_flight, cancelled=self.cancelled, tick=tick)

    def _write_part(self, unit: Unit, rows: list[dict[str, Any]]) -> None:
        self.parts.write(unit.id, rows)
        self._counted(rows)

    def _counted(self, rows: list[dict[str, Any]]) -> None:
        self.progress.add(rows)
        self._report("running")

    def _report(self, state: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_report >= REPORT_EVERY_S:
            self._last_report = now
            self._reported_calls = self._call_stats()
            self.report(self.progress.snapshot(self.llm.model, state, calls=self._reported_calls))

    def _call_stats(self) -> dict[str, int]:
        stats = getattr(self.client, "stats", None) or {}
        counts = {k: int(stats.get(k, 0)) for k in CALL_STATS}
        return {**counts, "cut_off_calls": self.journal.earlier_cut_off, "reused_calls": self.journal.reused}

    # -- one unit --------------------------------------------------------------------------------

    async def _unit(self, unit: Unit) -> list[dict[str, Any]]:
        _UNIT_ID.set(unit.id)  # the calls below (tasks copy the context) are journaled under this unit
        rng = random.Random(f"{self.cfg.seed}:{self.cfg.run_id}:{unit.id}")
        if self.cfg.mode == "annotate":
            return await self._annotate_unit(unit)
        if self.task.is_pair:
            return await self._pair_unit(unit, rng)
        return await self._single_unit(unit, rng)

    def _draw(self, rng: random.Random, label: str) -> tuple[str | None, str | None, str | None]:
        """(KADG word, few-shot example id, few-shot example text) for one call."""
        word = rng.choice(self.words.words) if self.words else None
        if self.cfg.setting != "few-shot":
            return word, None, None
        if self._fewshot_fixed is not None:
            example_id, example = self._fewshot_fixed[label]
        else:
            example_id, example = rng.choice(self._fewshot[label])
        return word, example_id, example

    async def _ask(self, messages: list[dict[str, str]], count: int) -> tuple[list[str], dict[str, Any]]:
        """``count`` answers for one prompt: n choices, or a numbered list where the server ignores n.

        An error after some answers came back keeps those answers; ``meta["missing_reason"]`` says why
        the rest are missing. An error before any answer is raised.
        """
        meta = {"request_ids": [], "missing_reason": "missing_choice"}
        texts: list[str] = []
        while len(texts) < count:
            want = count - len(texts)
            try:
                completion, got = await self._ask_once(messages, want)
            except FatalLLMError:
                raise
            except LLMError as exc:
                if not texts:
                    raise
                meta["missing_reason"] = exc.reason
                break
            meta["request_ids"].append(completion.request_id)
            if not got:
                break  # an empty answer: the missing ones are recorded as failures by the caller
            texts += got
        return texts, meta

    async def _ask_once(self, messages: list[dict[str, str]], want: int):
        if self.list_mode and want > 1:
            listed = [*messages[:-1], {**messages[-1], "content": messages[-1]["content"] + LIST_PROMPT.format(n=want)}]
            completion = await self._complete(listed, 1)
            return completion, split_numbered(completion.texts[0], want) if completion.texts else []
        completion = await self._complete(messages, want)
        got = completion.texts[:want]
        if want > 1 and len(got) == 1:
            log.warning("the server returned 1 choice for n=%d: switching to numbered-list prompts", want)
            self.list_mode = True
        return completion, got

    async def _complete(self, messages: list[dict[str, str]], n: int):
        """One call, journaled: answered from the journal when an earlier attempt already paid for it;
        else sent, and its answer counted and kept the moment it comes back."""
        key = call_key(_UNIT_ID.get(), messages, n)
        completion = self.journal.take(key)
        if completion is not None:
            return completion
        call_id = None

        def sent() -> None:  # on the wire: from now on a kill may leave it paid for and unanswered
            nonlocal call_id
            call_id = self.journal.sent(key)

        try:
            if isinstance(self.client, OpenAIChatClient):
                completion = await self.client.complete(messages, n=n, on_send=sent)
            else:  # an in-process model: nothing is paid, nothing waits on a wire
                sent()
                completion = await self.client.complete(messages, n=n)
        except LLMError as exc:
            if call_id is not None:
                self.journal.failed(call_id, exc.reason)
            raise
        self.journal.answered(call_id, key, completion)
        self.progress.prompt_tokens += completion.prompt_tokens
        self.progress.completion_tokens += completion.completion_tokens
        return completion

    def _base_provenance(self, unit: Unit, word: str | None, fewshot_ids: list[str]) -> dict[str, Any]:
        return {
            "run_id": self.cfg.run_id,
            "task": self.task.name,
            "mode": self.cfg.mode,
            "setting": self.cfg.setting,
            "prompt_version": self.spec.version,
            "preset": self.spec.preset,
            "preset_sha": self.spec.version,
            "pair_protocol": self.cfg.pair_protocol if self.task.is_pair else None,
            "fewshot_draw": self.cfg.fewshot_draw if self.cfg.setting == "few-shot" else None,
            "words_list": self.words.name if self.words else None,
            "words_list_version": self.words.version if self.words else None,  # 0: the shipped file
            "words_version": self.words.sha if self.words else None,
            "kadg_word": word,
            "fewshot_ids": fewshot_ids,
            "model": self.llm.model,
            "base_url": self.llm.base_url,
            "params": self.llm.params(),
            "unit_id": unit.id,
            "list_mode": self.list_mode,
            "backend": self.cfg.backend,
            "teacher": self.cfg.teacher,
            **self.client_provenance,
        }

    async def _single_unit(self, unit: Unit, rng: random.Random) -> list[dict[str, Any]]:
        label = unit.labels[0]
        calls = [min(self.llm.n, unit.count - i) for i in range(0, unit.count, self.llm.n)]
        draws = [self._draw(rng, label) for _ in calls]

        async def call(count: int, draw) -> list[dict[str, Any]]:
            word, example_id, example = draw
            prov = self._base_provenance(unit, word, [example_id] if example_id else [])
            messages = self.spec.single_messages(label, setting=self.cfg.setting, word=word, example=example)
            try:
                texts, meta = await self._ask(messages, count)
            except FatalLLMError:
                raise
            except LLMError as exc:
                return [_failure(label, exc.reason, str(exc), None, prov) for _ in range(count)]
            prov_json = json.dumps({**prov, "list_mode": self.list_mode}, ensure_ascii=False)  # once for all n
            rows = [self._row(label, raw, None, meta, prov_json) for raw in texts]
            rows += [_failure(label, meta["missing_reason"], "", meta, prov) for _ in range(count - len(texts))]
            return rows

        results = await asyncio.gather(*(call(c, d) for c, d in zip(calls, draws, strict=True)))
        return _number(unit, [row for rows in results for row in rows])

    async def _pair_unit(self, unit: Unit, rng: random.Random) -> list[dict[str, Any]]:
        """Stage 1 writes x1 without a label; stage 2 writes x2 for each label with the chat history."""
        calls = [min(self.llm.n, unit.count - i) for i in range(0, unit.count, self.llm.n)]
        words = [rng.choice(self.words.words) if self.words else None for _ in calls]
        stage1 = await asyncio.gather(
            *(self._first(count, word, unit) for count, word in zip(calls, words, strict=True))
        )
        seconds = []
        rows: list[dict[str, Any]] = []
        for (x1s, meta, failure), word, count in zip(stage1, words, calls, strict=True):
            if failure is not None:
                rows += [{**failure, "label": label} for _ in range(count) for label in unit.labels]
                continue
            first_rows: list[dict[str, Any]] = []
            for raw in x1s:
                x1, reason = clean_text(raw, self.task)
                for label in unit.labels:
                    _, example_id, example = self._draw(rng, label)
                    prov = {**self._base_provenance(unit, word, [example_id] if example_id else []), "x1_raw": raw}
                    prov["x1_request_id"] = ";".join(r for r in meta["request_ids"] if r) or None
                    if reason is None:
                        seconds.append(self._second(label, x1, word, example, prov))
                    else:
                        first_rows.append(_failure(label, f"x1_{reason}", raw, None, prov))
            first_rows += [
                _failure(
                    label, meta.get("missing_reason", "missing_choice"), "", None, self._base_provenance(unit, word, [])
                )
                for _ in range(count - len(x1s))
                for label in unit.labels
            ]
            rows += first_rows
        rows += await asyncio.gather(*seconds)
        return _number(unit, rows)

    async def _first(self, count: int, word: str | None, unit: Unit):
        messages = self.spec.first_messages(setting=self.cfg.setting, word=word)
        try:
            texts, meta = await self._ask(messages, count)
            return texts, meta, None
        except FatalLLMError:
            raise
        except LLMError as exc:
            return [], {}, _failure(None, f"x1_{exc.reason}", str(exc), None, self._base_provenance(unit, word, []))

    async def _second(self, label: str, x1: str, word, example, prov) -> dict[str, Any]:
        messages = self.spec.second_messages(label, x1, setting=self.cfg.setting, word=word, example=example)
        try:
            texts, meta = await self._ask(messages, 1)
        except FatalLLMError:
            raise
        except LLMError as exc:
            return _failure(label, exc.reason, str(exc), None, prov)
        row = (
            self._row(label, texts[0], x1, meta, prov, pair=True)
            if texts
            else _failure(label, "missing_choice", "", meta, prov)
        )
        return row

    def _row(self, label, raw: str, x1: str | None, meta, prov, *, pair: bool = False) -> dict[str, Any]:
        """One answer's row; ``prov`` is the provenance, or its JSON when the caller made it once for all
        the answers of one call."""
        if not isinstance(prov, str):
            prov = json.dumps({**prov, "list_mode": self.list_mode}, ensure_ascii=False)  # it may have switched
        text, reason = clean_text(raw, self.task)
        if reason is not None:
            return _failure(label, reason, raw, meta, prov)
        first, second = (x1, text) if pair else (text, None)
        return {
            "status": "ok",
            "reason": None,
            "label": label,
            "text": first,
            "text_b": second,
            "raw": raw,
            **_meta_fields(meta),
            "provenance": prov,
        }

    async def _annotate_unit(self, unit: Unit) -> list[dict[str, Any]]:
        async def one(row_idx: int) -> dict[str, Any]:
            src = self._source[row_idx]
            text_b = src["text_b"] if isinstance(src["text_b"], str) else None
            prov = {
                **self._base_provenance(unit, None, []),
                "setting": "annotate",
                "source_dataset": self.cfg.source_dataset,
                "source_row": int(row_idx),
                "source_id": src["source_id"],
                "source_label": src["label"] if isinstance(src["label"], str) else None,
            }
            messages = self.spec.annotate_messages(self.task, src["text"], text_b)
            try:
                texts, meta = await self._ask(messages, 1)
            except FatalLLMError:
                raise
            except LLMError as exc:
                return {**_failure(None, exc.reason, str(exc), None, prov), "text": src["text"], "text_b": text_b}
            answer = texts[0] if texts else ""
            label = parse_label(answer, self.task)
            row = {
                "text": src["text"],
                "text_b": text_b,
                "raw": answer,
                **_meta_fields(meta),
                "status": "ok" if label else "failed",
                "reason": None if label else "unparsable_label",
                "label": label,
                "provenance": json.dumps(prov, ensure_ascii=False),
            }
            return row

        rows = await asyncio.gather(*(one(r) for r in unit.rows))
        return _number(unit, list(rows))


def _meta_fields(meta: dict[str, Any] | None) -> dict[str, Any]:
    ids = [r for r in (meta or {}).get("request_ids", []) if r]
    return {"request_id": ";".join(ids) or None}


def _failure(label, reason: str, raw: str, meta, prov: dict[str, Any] | str) -> dict[str, Any]:
    return {
        "status": "failed",
        "reason": reason,
        "label": label,
        "text": None,
        "text_b": None,
        "raw": raw,
        **_meta_fields(meta),
        "provenance": prov if isinstance(prov, str) else json.dumps(prov, ensure_ascii=False),
    }


def _number(unit: Unit, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each row its place in the unit and the time."""
    now = datetime.now(UTC).isoformat()
    return [{**row, "unit_id": unit.id, "seq": seq, "created_at": now} for seq, row in enumerate(rows)]
