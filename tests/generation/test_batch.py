"""The OpenAI Batch API backend against the local test server's /v1/files and /v1/batches: rounds, pair tasks,
failed lines retried in follow-up batches, half-price cost, and resuming without sending a line twice."""

import asyncio
import json
import os
import signal
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import pytest

from japagen_core.errors import JapagenError
from japagen_core.generation.batch import BATCH_DIR, STATE_FILE, BatchRunner, BatchState, batch_settings_dict
from japagen_core.generation.llm import LLMConfig, cost_usd
from japagen_core.generation.run import RunConfig, ingest
from japagen_core.jobs import JobStore
from japagen_core.jobs.kinds import submit
from tests.conftest import wait_for_job
from tests.openai_server import FakeOpenAI, ServerConfig

SECRET = "sk-test-BATCH-5e2d"


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    fake = FakeOpenAI(ServerConfig(api_key=SECRET, batch_delay=0.05, batch_fail_every=9)).start()
    yield fake
    fake.stop()


def _cfg(server, task: str, per_label: int, run_id: str, **batch) -> RunConfig:
    llm = asdict(LLMConfig(model="gpt-4o-mini", base_url=server.base_url, timeout=5, max_retries=1))
    settings = batch_settings_dict(**{"poll_seconds": 0.02, **batch})
    return RunConfig(mode="generate", task=task, run_id=run_id, llm=llm, setting="kadg", per_label=per_label,
                     batch=settings)  # fmt: skip


def _run_here(project, cfg: RunConfig, job_dir: Path, cancelled=lambda: False):
    (job_dir / "parts").mkdir(parents=True, exist_ok=True)
    reports = []

    async def go():
        runner = BatchRunner(project, cfg, job_dir, SECRET, report=reports.append, cancelled=cancelled)
        return await runner.run()

    return asyncio.run(go()), reports


def _examples(project, run_id):
    with project.db.transaction() as con:
        return con.execute("SELECT label, text, text_b, provenance FROM examples WHERE dataset_id = ?",
                           [run_id]).fetchall()  # fmt: skip


def _sent_once(server) -> None:
    """No custom id in two batches, and a retried line goes out under the next attempt number."""
    assert server.batch_lines and set(server.batch_lines.values()) == {1}
    assert max(map(len, server.batch_lines)) <= 64  # providers refuse longer custom ids
    retried = [cid for cid in server.batch_lines if not cid.endswith("~0")]
    for cid in retried:
        key, _, attempt = cid.rpartition("~")
        assert f"{key}~{int(attempt) - 1}" in server.batch_lines


def test_a_batch_run_lands_every_example_once_and_retries_failed_lines(project, server, tmp_path):
    cfg = _cfg(server, "marc_ja", 120, "marc-batch")
    state, reports = _run_here(project, cfg, tmp_path / "job")
    assert state == "succeeded"
    summary = ingest(project, cfg, tmp_path / "job" / "parts", job_id="test")
    rows = _examples(project, "marc-batch")
    assert Counter(label for label, *_ in rows) == {"positive": 120, "negative": 120}
    assert len({text for _, text, _, _ in rows}) == 240  # nothing twice
    _sent_once(server)
    assert any(not cid.endswith("~0") for cid in server.batch_lines)  # 1 line in 9 failed and was asked again
    assert not [r for r in server.requests if r["path"].endswith("/chat/completions")]  # no synchronous call
    batches = list(server.batches.values())
    assert len(batches) >= 2 and all(b["status"] == "completed" for b in batches)
    assert [f["purpose"] for f in server.files.values()].count("batch") == len(batches)
    answered = sum(b["request_counts"]["completed"] for b in batches)
    assert summary["prompt_tokens"] == 40 * answered  # each answered line counted once, across replays
    assert summary["cost_usd"] == pytest.approx(
        cost_usd("gpt-4o-mini", summary["prompt_tokens"], summary["completion_tokens"]) / 2
    )
    last = reports[-1]
    assert last["done"] == 240 and last["extras"]["batch"]["round"] == len(batches)
    assert last["cost_usd"] == pytest.approx(summary["cost_usd"])
    prov = json.loads(rows[0][3])
    assert prov["run_id"] == "marc-batch" and prov["kadg_word"] and prov["unit_id"] and prov["batch_api"] is True
    with project.db.transaction() as con:
        request_ids = [
            r[0] for r in con.execute("SELECT source_id FROM examples WHERE dataset_id = 'marc-batch'").fetchall()
        ]
    assert all(r and r.startswith("req-") for r in request_ids)  # the request id of each batch line's answer


def test_a_pair_task_runs_as_two_batch_rounds(project, server, tmp_path):
    server.config.batch_fail_every = 0
    cfg = _cfg(server, "jnli", 10, "jnli-batch")
    state, _ = _run_here(project, cfg, tmp_path / "job")
    assert state == "succeeded"
    ingest(project, cfg, tmp_path / "job" / "parts", job_id="test")
    rows = _examples(project, "jnli-batch")
    assert Counter(label for label, *_ in rows) == {"entailment": 10, "contradiction": 10, "neutral": 10}
    assert all(text and text_b for _, text, text_b, _ in rows)
    first, second = [b["_lines"] for b in server.batches.values()]
    assert all(len(line["body"]["messages"]) == 2 for line in first)  # stage 1: the first sentences
    assert all(len(line["body"]["messages"]) == 4 for line in second)  # stage 2: with the first in the chat
    _sent_once(server)


def test_a_kill_inside_an_upload_or_a_create_does_not_repeat_it(project, server, tmp_path):
    """Resuming after a kill between a remote call and the record of its id finds the file and the batch."""
    server.config.batch_fail_every = 0
    server.config.batch_delay = 30  # the first batch is still running when we "kill"
    cfg = _cfg(server, "marc_ja", 20, "marc-intent")
    job_dir = tmp_path / "job"
    polls = []
    state, _ = _run_here(project, cfg, job_dir, cancelled=lambda: polls.append(1) or len(polls) > 3)
    assert state == "cancelled" and len(server.batches) == 1 and len(server.files) == 1
    saved = BatchState(job_dir / BATCH_DIR / STATE_FILE)
    [chunk] = saved.data["rounds"][0]["chunks"]
    # As if killed after each call reached the server but before its id was written:
    file_id = chunk.pop("file_id")
    saved.update_chunk(chunk, batch_id=None, creating=time.time(), uploading=True)
    server.config.batch_delay = 0.05
    server.batches["batch_000001"]["_ready_at"] = 0  # it completes now
    state, _ = _run_here(project, cfg, job_dir)
    assert state == "succeeded"
    assert len([f for f in server.files.values() if f["purpose"] == "batch"]) == len(server.batches)
    assert sum(1 for b in server.batches.values() if b["input_file_id"] == file_id) == 1
    _sent_once(server)


def test_a_line_that_keeps_failing_is_recorded_as_a_failure_with_its_reason(project, server, tmp_path):
    server.config.batch_fail_every = 1  # every line fails
    cfg = _cfg(server, "marc_ja", 5, "marc-fails", retry_rounds=1)
    state, _ = _run_here(project, cfg, tmp_path / "job")
    assert state == "incomplete"
    attempts = Counter(cid.rpartition("~")[2] for cid in server.batch_lines)
    assert set(attempts) == {"0", "1"} and attempts["0"] == attempts["1"]  # each request asked twice, no more
    _sent_once(server)
    import pandas as pd

    parts = pd.concat(pd.read_parquet(p) for p in (tmp_path / "job" / "parts").glob("part-*.parquet"))
    assert set(parts["status"]) == {"failed"} and set(parts["reason"]) == {"http_500"}
    assert {u[:2] for u in parts["unit_id"]} == {"po", "ne", "t1"}  # the first pass, then one top-up round


def test_annotation_through_the_batch_api(project, server, tmp_path):
    from japagen_core.datasets.importers import ImportOptions, import_gold
    from tests.conftest import write_jsonl

    texts = [{"sentence1": f"犬が{i}匹いる。", "sentence2": "動物がいる。", "label": "entailment"} for i in range(60)]
    [source] = import_gold(project.db, project.registry["jnli"], "pool", path=write_jsonl(tmp_path / "pool.json", texts),
                           options=ImportOptions(unlabeled=True))  # fmt: skip
    cfg = RunConfig(**{**asdict(_cfg(server, "jnli", 1, "jnli-annotated")), "mode": "annotate", "per_label": 0,
                       "source_dataset": source.dataset_id})  # fmt: skip
    state, _ = _run_here(project, cfg, tmp_path / "job")
    assert state == "succeeded"
    ingest(project, cfg, tmp_path / "job" / "parts", job_id="test")
    rows = _examples(project, "jnli-annotated")
    assert len(rows) == 60 and {label for label, *_ in rows} <= {"entailment", "contradiction", "neutral"}
    _sent_once(server)


def test_batch_settings_are_checked(project, server):
    with pytest.raises(JapagenError, match="poll_seconds"):
        batch_settings_dict(poll_seconds=0)
    cfg = _cfg(server, "marc_ja", 5, "x")
    bad = RunConfig(**{**asdict(cfg), "backend": "local", "local": {}})
    with pytest.raises(JapagenError, match="openai backend"):
        bad.check(project)
    with pytest.raises(JapagenError, match="Batch API settings"):
        RunConfig(**{**asdict(cfg), "batch": {"polls": 1}}).check(project)


def test_sigkill_while_a_batch_runs_then_resume_loses_and_repeats_nothing(project, server):
    """A real job process, killed while its batch is in progress, resumes by the stored batch id."""
    server.config.batch_delay = 1.5
    store = JobStore(project.settings.jobs_dir)
    cfg = _cfg(server, "jnli", 100, "jnli-kill")
    job = submit(project, cfg.mode, cfg)
    state_path = job.dir / BATCH_DIR / STATE_FILE

    running = wait_for_job(store, job.id, lambda j: "in_progress" in j.progress.get("message", ""), timeout=20)
    assert running.progress["message"].startswith("Batch API round 1: batch_000001 in_progress")
    os.killpg(int(json.loads((job.dir / "pid.json").read_text())["pid"]), signal.SIGKILL)
    killed = wait_for_job(store, job.id, lambda j: j.state != "running", timeout=10)
    assert killed.state == "interrupted" and len(server.batches) == 1
    server.config.batch_delay = 0.1
    store.start(killed)
    finished = wait_for_job(store, job.id, lambda j: j.state in ("succeeded", "failed"), timeout=25)
    assert finished.state == "succeeded", finished.log_tail()
    rows = _examples(project, "jnli-kill")
    assert Counter(label for label, *_ in rows) == {"entailment": 100, "contradiction": 100, "neutral": 100}
    assert len({(text, text_b) for _, text, text_b, _ in rows}) == 300  # 0 lost, 0 duplicated
    _sent_once(server)
    chunks = [c for r in json.loads(state_path.read_text())["rounds"] for c in r["chunks"]]
    assert len(server.batches) == len(chunks)  # the resumed job followed batch_000001, made no second one
    assert finished.result["summary"]["cost_usd"] > 0 and SECRET not in (job.dir / "log.txt").read_text()
