"""Generation through the OpenAI Batch API: the run's own units, prompts, cleaning and parts, at half price.

The synchronous ``Runner`` asks a ChatClient for every call. Here the client is a ledger of the answers that
came back in batch output files, and each unit is *replayed* with the Runner's own code (the same seeded
draws, messages, cleaning and Parquet parts): a call the ledger can answer gets its answer; any other call
becomes a request line and its unit waits for the next round. A round is

    replay the units -> request lines -> batch/requests-RRR-CC.jsonl -> files.create (purpose "batch")
    -> batches.create -> batches.retrieve until it ends -> files.content of the output and error files

then the units are replayed again. Pair tasks take two rounds (stage 2 needs the first sentences). A line
that failed is asked again in a follow-up batch under a new custom id (``~1``, ``~2``: no custom id is ever
sent twice) up to ``retry_rounds`` times, then recorded as a failure with its reason, as a synchronous call
would be; top-up units make up for unusable answers as in a synchronous run.

A custom id is ``<unit id>:<sha of run id, unit id, request body, k>~<attempt>``, for the k-th request with
that body in the unit, so it is the same whenever the unit is replayed (and unique across runs).

Every remote step is bracketed in ``batch/state.json`` (written atomically): an intent before the call,
the id after it. A job killed inside a call finds the file (by its name) or the batch (by its input file)
on the server when it resumes instead of creating another, so no upload or batch is made twice and no
request line is paid twice. Cancel stops following; the remote batches run on and a resume follows them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from japagen_core.errors import JapagenError
from japagen_core.generation.llm import Completion, LLMConfig, LLMError, _completion, chat_body, cost_usd, endpoint
from japagen_core.generation.run import TOPUP_ROUNDS, USAGE_FILE, RunConfig, Runner, Unit, plan
from japagen_core.jobs.store import write_json_atomic
from japagen_core.project import Project

log = logging.getLogger(__name__)
BATCH_DIR = "batch"  # in the job folder, beside parts/
STATE_FILE = "state.json"
ENDPOINT = "/v1/chat/completions"
TERMINAL = ("completed", "failed", "expired", "cancelled")
PENDING = "batch_pending"  # the reason of a call whose answer is in a later batch (its unit is not written)
_CHECK_EVERY = 0.2  # seconds between looks at the CANCEL file while waiting for the next poll


class BatchError(JapagenError):
    """A Batch API step failed (refused, unreachable, or the batch itself failed)."""


@dataclass(frozen=True)
class BatchSettings:
    """How a run uses the Batch API (stored in the run's config as ``batch``)."""

    poll_seconds: float = 30.0  # between status checks of a running batch
    retry_rounds: int = 3  # follow-up batches for a line that failed, before it counts as a failure
    max_lines: int = 50_000  # OpenAI's limits per batch input file: 50,000 requests, 200 MB
    max_bytes: int = 190_000_000
    timeout: float = 600.0  # per HTTP call (uploads and downloads can be large)
    max_retries: int = 5

    def __post_init__(self):
        problems = []
        if not 0 < self.poll_seconds <= 3600:
            problems.append(f"poll_seconds {self.poll_seconds!r} must be in (0, 3600]")
        if not 0 <= self.retry_rounds <= 10:
            problems.append(f"retry_rounds {self.retry_rounds!r} must be between 0 and 10")
        if not 1 <= self.max_lines <= 50_000:
            problems.append(f"max_lines {self.max_lines!r} must be between 1 and 50,000")
        if not 1_000 <= self.max_bytes <= 200_000_000:
            problems.append(f"max_bytes {self.max_bytes!r} must be between 1,000 and 200,000,000")
        if self.timeout <= 0 or self.max_retries < 0:
            problems.append("timeout must be positive and max_retries >= 0")
        if problems:
            raise BatchError("Batch API settings: " + "; ".join(problems))


def check_batch(cfg: RunConfig) -> BatchSettings:
    """The run's BatchSettings; BatchError when the run cannot use the Batch API."""
    try:
        settings = BatchSettings(**cfg.batch)
    except TypeError as exc:
        raise BatchError(f"Batch API settings {cfg.batch!r}: {exc}") from None
    if cfg.backend != "openai":
        raise BatchError(f"the Batch API needs the openai backend, not {cfg.backend!r}")
    return settings


# -- the ledger of answers ------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the run's batches returned: an answer or the failed attempts per request key (custom id less ~n)."""

    answers: dict[str, Completion] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @classmethod
    def load(cls, batch_dir: Path) -> Ledger:
        ledger = cls()
        for path in sorted(batch_dir.glob("output-*.jsonl")) + sorted(batch_dir.glob("errors-*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    ledger.add(json.loads(line))
        return ledger

    def add(self, record: dict[str, Any]) -> None:
        key = str(record.get("custom_id", "")).rpartition("~")[0]
        response = record.get("response") if isinstance(record.get("response"), dict) else {}
        error = record.get("error") if isinstance(record.get("error"), dict) else {}
        status = response.get("status_code")
        reason = error.get("code") or (f"http_{status}" if status and status != 200 else None)
        if reason is None:
            try:
                completion = _completion(response.get("body"), response.get("request_id"))
            except LLMError as exc:
                reason = exc.reason
            else:
                if key not in self.answers:
                    self.prompt_tokens += completion.prompt_tokens
                    self.completion_tokens += completion.completion_tokens
                self.answers[key] = completion
                return
        self.failures.setdefault(key, []).append(str(reason))


@dataclass
class _UnitCalls:
    """The calls one replay of a unit makes: occurrences per request body, and the lines still to send."""

    unit_id: str
    seen: dict[str, int] = field(default_factory=dict)
    pending: list[dict[str, Any]] = field(default_factory=list)


_CURRENT: ContextVar[_UnitCalls] = ContextVar("japagen_batch_unit")


class ReplayClient:
    """A ChatClient that answers from the ledger and turns every other call into a batch request line."""

    def __init__(self, llm: LLMConfig, run_id: str, ledger: Ledger, retry_rounds: int):
        self.llm, self.run_id, self.ledger, self.retry_rounds = llm, run_id, ledger, retry_rounds
        self.provenance = {"batch_api": True}  # recorded with every example (Runner._base_provenance)

    async def complete(self, messages: list[dict[str, str]], *, n: int) -> Completion:
        calls = _CURRENT.get()
        body = chat_body(self.llm, messages, n)
        digest = hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:10]
        k = calls.seen.get(digest, 0)
        calls.seen[digest] = k + 1
        call = hashlib.sha256(f"{self.run_id}:{calls.unit_id}:{digest}:{k}".encode()).hexdigest()[:20]
        key = f"{calls.unit_id[:24]}:{call}"  # with "~attempt" at most 48 characters (providers cap them at 64)
        if key in self.ledger.answers:
            return self.ledger.answers[key]
        failed = self.ledger.failures.get(key, [])
        if len(failed) > self.retry_rounds:
            raise LLMError(failed[-1], f"batch request {key} failed {len(failed)} times (last: {failed[-1]})")
        calls.pending.append({"custom_id": f"{key}~{len(failed)}", "method": "POST", "url": ENDPOINT, "body": body})
        raise LLMError(PENDING, f"batch request {key} is answered in a later batch")

    async def close(self) -> None:
        pass


# -- the remote side --------------------------------------------------------------------------------------


class BatchRemote:
    """The Files and Batches calls, each bracketed in the state file so that a kill never repeats one."""

    def __init__(self, llm: LLMConfig, api_key: str, settings: BatchSettings, state: BatchState, run_id: str):
        import openai  # the SDK loads in a Batch API job, not with the Generate page

        self.client = openai.OpenAI(api_key=api_key, base_url=endpoint(llm.base_url), timeout=settings.timeout,
                                    max_retries=settings.max_retries)  # fmt: skip
        self.where = str(self.client.base_url)
        self.state, self.run_id = state, run_id

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        """One SDK call (the SDK retries 408/409/429/5xx); a failure becomes a BatchError naming it."""
        import openai

        try:
            return fn()
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise BatchError(f"{what}: the server at {self.where} refused the API key ({exc.status_code})") from None
        except openai.APIStatusError as exc:
            raise BatchError(f"{what}: error {exc.status_code} from {self.where} ({str(exc)[:300]})") from None
        except openai.APIConnectionError as exc:
            raise BatchError(f"{what}: cannot reach {self.where} ({exc})") from None

    def upload(self, chunk: dict[str, Any], path: Path) -> None:
        name = f"japagen-{self.run_id}-{chunk['name']}.jsonl"
        if chunk.get("uploading"):  # killed during the upload last time: it may have arrived
            files = self._call("listing the uploaded files", lambda: self.client.files.list(purpose="batch"))
            found = next((f for f in files if f.filename == name and f.bytes == chunk["bytes"]), None)
            if found is not None:
                log.info("resuming: %s was uploaded before as %s", name, found.id)
                return self.state.update_chunk(chunk, file_id=found.id, uploading=False)
        self.state.update_chunk(chunk, uploading=True)
        data = path.read_bytes()
        uploaded = self._call(f"uploading {name}", lambda: self.client.files.create(
            file=(name, data, "application/jsonl"), purpose="batch"))  # fmt: skip
        self.state.update_chunk(chunk, file_id=uploaded.id, uploading=False)
        log.info("uploaded %s (%d requests, %d bytes) as %s", name, chunk["lines"], len(data), uploaded.id)

    def create(self, chunk: dict[str, Any]) -> None:
        if chunk.get("creating"):  # killed while creating it last time: the batch may exist
            since = chunk["creating"] - 3600
            for batch in self._call("listing the batches", lambda: self.client.batches.list(limit=100)):
                if batch.created_at < since:
                    break  # the list is newest first
                if batch.input_file_id == chunk["file_id"] and batch.status not in ("failed",):
                    log.info("resuming: following batch %s of %s again", batch.id, chunk["name"])
                    return self.state.update_chunk(chunk, batch_id=batch.id, creating=None, status=batch.status)
        self.state.update_chunk(chunk, creating=time.time())
        batch = self._call(f"creating the batch of {chunk['name']}", lambda: self.client.batches.create(
            input_file_id=chunk["file_id"], endpoint=ENDPOINT, completion_window="24h",
            metadata={"japagen_run": self.run_id[:512], "japagen_chunk": chunk["name"]}))  # fmt: skip
        self.state.update_chunk(chunk, batch_id=batch.id, creating=None, status=batch.status)
        log.info("batch %s created for %s (%d requests)", batch.id, chunk["name"], chunk["lines"])

    def retrieve(self, chunk: dict[str, Any]):
        batch = self._call(f"following batch {chunk['batch_id']}",
                           lambda: self.client.batches.retrieve(chunk["batch_id"]))  # fmt: skip
        counts = batch.request_counts
        self.state.update_chunk(chunk, status=batch.status, completed=counts.completed if counts else 0,
                                failed=counts.failed if counts else 0)  # fmt: skip
        return batch

    def download(self, chunk: dict[str, Any], batch, batch_dir: Path, requested: list[str]) -> None:
        """Keep the output and error files; a line with neither (an expired or cancelled batch) failed."""
        records: dict[str, list[dict[str, Any]]] = {"output": [], "errors": []}
        for kind, file_id in (("output", batch.output_file_id), ("errors", batch.error_file_id)):
            if file_id:
                data = self._call(f"downloading {file_id}", lambda f=file_id: self.client.files.content(f)).content
                records[kind] = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
        answered = {r.get("custom_id") for rs in records.values() for r in rs}
        records["errors"] += [
            {"custom_id": cid, "response": None, "error": {"code": f"batch_{batch.status}", "message": batch.status}}
            for cid in requested
            if cid not in answered
        ]
        for kind, rows in records.items():
            _write_atomic(batch_dir / f"{kind}-{chunk['name']}.jsonl", rows)
        self.state.update_chunk(chunk, downloaded=True)
        log.info("batch %s %s: %d answered, %d failed", batch.id, batch.status, len(records["output"]),
                 len(records["errors"]))  # fmt: skip


class BatchState:
    """``batch/state.json``: rounds of chunks (file, batch, status), top-up units; replaced atomically."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.data = {"rounds": [], "extra_units": [], "topup_rounds": 0}

    def save(self) -> None:
        write_json_atomic(self.path, self.data)

    def update_chunk(self, chunk: dict[str, Any], **values: Any) -> None:
        chunk.update(values)  # the chunk is a dict inside self.data
        self.save()

    def open_round(self) -> dict[str, Any] | None:
        last = self.data["rounds"][-1] if self.data["rounds"] else None
        return last if last and not all(c.get("downloaded") for c in last["chunks"]) else None


def _write_atomic(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    os.replace(tmp, path)


# -- the run ----------------------------------------------------------------------------------------------


class BatchRunner(Runner):
    """A Runner whose calls go out as Batch API rounds; the units, parts and top-ups are the Runner's own."""

    def __init__(
        self,
        project: Project,
        cfg: RunConfig,
        job_dir: Path,
        api_key: str,
        *,
        report: Callable[[dict[str, Any]], None] = lambda snapshot: None,
        cancelled: Callable[[], bool] = lambda: False,
    ):
        self.settings = check_batch(cfg)
        self.batch_dir = job_dir / BATCH_DIR
        self.batch_dir.mkdir(parents=True, exist_ok=True)
        self.state = BatchState(self.batch_dir / STATE_FILE)
        self.ledger = Ledger.load(self.batch_dir)
        llm = LLMConfig(**cfg.llm)
        client = ReplayClient(llm, cfg.run_id, self.ledger, self.settings.retry_rounds)
        super().__init__(project, cfg, client, job_dir / "parts", report=report, cancelled=cancelled)
        self.journal.close()  # tokens are counted from the output files, not per replayed call
        self.remote = BatchRemote(llm, api_key, self.settings, self.state, cfg.run_id)
        self.message = ""
        self._sync_usage()

    async def _complete(self, messages: list[dict[str, str]], n: int):
        """A replayed call, not journaled: its answer was paid once, when its batch ran, and _sync_usage
        counts it from the output files; an unanswered one becomes a request line of the next batch."""
        return await self.client.complete(messages, n=n)

    def _sync_usage(self) -> None:
        """usage.jsonl (what ingest and the cost read) as the sum over every downloaded output file."""
        totals = [self.ledger.prompt_tokens, self.ledger.completion_tokens]
        _write_atomic(self.parts_dir / USAGE_FILE, [totals])  # type: ignore[list-item]
        self.progress.prompt_tokens, self.progress.completion_tokens = totals

    def _report(self, state: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_report >= 0.5:
            self._last_report = now
            snapshot = self.progress.snapshot(self.llm.model, state, self.message)
            tokens = self.progress.prompt_tokens, self.progress.completion_tokens
            rounds = self.state.data["rounds"]
            snapshot.update(cost_usd=cost_usd(self.llm.model, *tokens, batch=True), eta_s=None)
            snapshot["extras"]["batch"] = {"round": len(rounds), "chunks": rounds[-1]["chunks"] if rounds else []}
            self.report(snapshot)

    async def run(self) -> str:
        source_rows = list(self._source) if self._source is not None else None
        units = plan(self.task, self.cfg, source_rows=source_rows)
        units += [Unit(uid, tuple(labels), count) for uid, labels, count in self.state.data["extra_units"]]
        done = self.done_parts()
        generate = self.cfg.mode == "generate"
        self.progress.target = self.cfg.per_label * len(self.task.labels) if generate else len(source_rows)
        self.progress.total_units = len(units)
        self.progress.per_label_target = self.cfg.per_label if generate else 0
        for part in done.values():
            self.progress.add(part, resumed=True)
        self.progress.done_units = sum(u.id in done for u in units)
        self._report("running", force=True)
        while True:
            open_round = self.state.open_round()
            if open_round is not None:
                if not self._follow(open_round):
                    return "cancelled"
                self.ledger = self.client.ledger = Ledger.load(self.batch_dir)
                self._sync_usage()
                continue
            written = {p.stem.removeprefix("part-") for p in self.parts_dir.glob("part-*.parquet")}
            pending = await self._replay([u for u in units if u.id not in written])
            if pending is None:
                return "cancelled"
            if pending:
                self._new_round(pending)
                continue
            done = self.done_parts()
            short, topups = self.shortfall(done), self.state.data["topup_rounds"]
            if not generate or not short or topups >= TOPUP_ROUNDS:
                break
            if topups and not any(row["status"] == "ok" for part in done.values() for row in part):
                break  # a top-up round and still not one usable answer: more would only repeat the failure
            extra = self._topups(short, topups + 1)
            self.state.data["extra_units"] += [[u.id, list(u.labels), u.count] for u in extra]
            self.state.data["topup_rounds"] = topups + 1
            self.state.save()
            units += extra
            self.progress.total_units += len(extra)
        self.message = f"Batch API: {len(self.state.data['rounds'])} round(s) done"
        self._report("running", force=True)
        return "succeeded" if not self.shortfall(done) else "incomplete"

    async def _replay(self, units: list[Unit]) -> list[dict[str, Any]] | None:
        """Replay units against the ledger: write the parts of the complete ones; return the lines to send."""
        pending: list[dict[str, Any]] = []
        for i, unit in enumerate(units):
            if i % 20 == 0 and self.cancelled():
                return None
            calls = _UnitCalls(unit.id)
            token = _CURRENT.set(calls)  # the unit's calls (tasks of its gather too) see it
            try:
                rows = await self._unit(unit)
            finally:
                _CURRENT.reset(token)
            if calls.pending:
                pending += calls.pending
            else:
                self._write_part(unit, rows)
        return pending

    def _new_round(self, pending: list[dict[str, Any]]) -> None:
        """Write the round's request files (split at the Batch API's limits), then record the round."""
        number = len(self.state.data["rounds"]) + 1
        chunks, lines, size = [], [], 0
        for request in pending:
            line = json.dumps(request, ensure_ascii=False) + "\n"
            if lines and (len(lines) >= self.settings.max_lines or size + len(line.encode()) > self.settings.max_bytes):
                chunks.append(lines)
                lines, size = [], 0
            lines.append(line)
            size += len(line.encode())
        chunks.append(lines)
        records = []
        for k, chunk_lines in enumerate(chunks):
            name = f"r{number:03d}-c{k:02d}"
            path = self.batch_dir / f"requests-{name}.jsonl"
            data = "".join(chunk_lines).encode()
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
            records.append({"name": name, "lines": len(chunk_lines), "bytes": len(data)})
        self.state.data["rounds"].append({"no": number, "chunks": records})
        self.state.save()
        log.info("batch round %d: %d request lines in %d file(s)", number, len(pending), len(records))

    def _follow(self, round_: dict[str, Any]) -> bool:
        """Upload, create and follow every batch of the round until all are downloaded; False when cancelled."""
        for chunk in round_["chunks"]:
            if not chunk.get("file_id"):
                self.remote.upload(chunk, self.batch_dir / f"requests-{chunk['name']}.jsonl")
            if not chunk.get("batch_id"):
                self.remote.create(chunk)
            if self.cancelled():
                return False
        while True:
            waiting = [c for c in round_["chunks"] if not c.get("downloaded")]
            if not waiting:
                return True
            for chunk in waiting:
                batch = self.remote.retrieve(chunk)
                if batch.status == "failed":
                    self._failed(chunk, batch)
                if batch.status in TERMINAL:
                    requested = self._custom_ids(chunk)
                    self.remote.download(chunk, batch, self.batch_dir, requested)
            self.message = _round_message(round_)
            self._report("running", force=True)
            if any(not c.get("downloaded") for c in round_["chunks"]) and self._wait_or_cancel():
                return False

    def _failed(self, chunk: dict[str, Any], batch) -> None:
        """A batch that failed as a whole ran no line: the next attempt creates a new one for the same file."""
        errors = "; ".join(f"{e.code}: {e.message}" for e in (batch.errors.data or [])) if batch.errors else ""
        self.state.update_chunk(chunk, batch_id=None, failed_batches=[*chunk.get("failed_batches", []), batch.id])
        raise BatchError(f"batch {batch.id} ({chunk['name']}) failed: {errors or 'no reason given'}; resume to retry")

    def _custom_ids(self, chunk: dict[str, Any]) -> list[str]:
        path = self.batch_dir / f"requests-{chunk['name']}.jsonl"
        return [json.loads(line)["custom_id"] for line in path.read_text(encoding="utf-8").splitlines() if line]

    def _wait_or_cancel(self) -> bool:
        deadline = time.monotonic() + self.settings.poll_seconds
        while time.monotonic() < deadline:
            if self.cancelled():
                return True
            time.sleep(min(_CHECK_EVERY, max(deadline - time.monotonic(), 0)))
        return self.cancelled()


def _round_message(round_: dict[str, Any]) -> str:
    chunks = round_["chunks"]
    total = sum(c["lines"] for c in chunks)
    completed = sum(c.get("completed", 0) for c in chunks)
    failed = sum(c.get("failed", 0) for c in chunks)
    statuses = ", ".join(f"{c.get('batch_id')} {c.get('status', '?')}" for c in chunks)
    return (
        f"Batch API round {round_['no']}: {statuses}; {completed:,}/{total:,} requests done"
        f"{f', {failed:,} failed' if failed else ''}"
    )


def batch_settings_dict(**overrides: Any) -> dict[str, Any]:
    """A run's ``batch`` field: the default BatchSettings with ``overrides`` (validated)."""
    return asdict(BatchSettings(**overrides))
