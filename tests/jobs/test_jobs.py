"""Jobs as real processes: progress, SIGKILL then resume, cancel, and no API key anywhere on disk."""

import json
import os
import signal
from dataclasses import asdict
from pathlib import Path

import pytest

from japagen_core.generation.llm import LLMConfig
from japagen_core.generation.run import RunConfig
from japagen_core.jobs import JobStore
from japagen_core.jobs.kinds import submit
from japagen_core.jobs.progress import Progress
from tests.conftest import wait_for_job
from tests.openai_server import FakeOpenAI, ServerConfig

SECRET = "sk-test-SECRET-3f9a1c"


@pytest.fixture
def slow_fake(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    server = FakeOpenAI(ServerConfig(latency=0.15, api_key=SECRET)).start()
    yield server
    server.stop()


def _config(fake, run_id: str, per_label: int) -> RunConfig:
    llm = asdict(LLMConfig(model="fake-model", base_url=fake.base_url, concurrency=2, timeout=5))
    return RunConfig(mode="generate", task="marc_ja", run_id=run_id, llm=llm, setting="kadg", per_label=per_label)


def _wait(store: JobStore, job_id: str, until, timeout: float = 60):
    return wait_for_job(store, job_id, until, timeout)


def _examples(project, run_id):
    with project.db.transaction() as con:
        return con.execute("SELECT label, text FROM examples WHERE dataset_id = ?", [run_id]).fetchall()


def test_sigkill_mid_run_then_resume_gives_every_example_exactly_once(project, slow_fake):
    store = JobStore(project.settings.jobs_dir)
    job = submit(project, "generate", _config(slow_fake, "marc-kill", per_label=150))
    _wait(store, job.id, lambda j: len(list(j.parts_dir.glob("part-*.parquet"))) >= 2)
    pid = int(__import__("json").loads((job.dir / "pid.json").read_text())["pid"])
    os.killpg(pid, signal.SIGKILL)
    killed = _wait(store, job.id, lambda j: j.state != "running")
    assert killed.state == "interrupted"
    done_before = {p.name for p in job.parts_dir.glob("part-*.parquet")}
    assert 2 <= len(done_before) < 6

    store.start(killed)
    finished = _wait(store, job.id, lambda j: j.state in ("succeeded", "failed"))
    assert finished.state == "succeeded", finished.log_tail()
    rows = _examples(project, "marc-kill")
    assert sorted({label for label, _ in rows}) == ["negative", "positive"]
    assert sum(label == "positive" for label, _ in rows) == 150 and len(rows) == 300
    assert len({text for _, text in rows}) == 300  # nothing generated twice
    assert Progress.from_json(finished.progress).done == 300 and finished.progress["state"] == "succeeded"
    assert "api.openai.com" not in finished.log_tail()


def test_cancel_then_resume(project, slow_fake):
    store = JobStore(project.settings.jobs_dir)
    job = submit(project, "generate", _config(slow_fake, "marc-cancel", per_label=100))
    _wait(store, job.id, lambda j: j.state == "running" and Progress.from_json(j.progress).get("done_units", 0) >= 1)
    store.cancel(store.get(job.id), grace=10)
    assert store.get(job.id).state == "cancelled"
    store.start(store.get(job.id))
    assert _wait(store, job.id, lambda j: j.state in ("succeeded", "failed")).state == "succeeded"
    assert len(_examples(project, "marc-cancel")) == 200


def test_a_bad_key_fails_the_job_with_one_clear_message(project, slow_fake, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    store = JobStore(project.settings.jobs_dir)
    job = submit(project, "generate", _config(slow_fake, "marc-401", per_label=500))
    failed = _wait(store, job.id, lambda j: j.state in ("succeeded", "failed"))
    assert failed.state == "failed" and "refused the API key" in failed.result["message"]
    assert len(slow_fake.requests) <= 4  # the calls in flight when the first 401 came back


def test_the_api_key_is_in_no_database_row_job_file_or_log(project, slow_fake):
    store = JobStore(project.settings.jobs_dir)
    job = submit(project, "generate", _config(slow_fake, "marc-secret", per_label=10))
    assert _wait(store, job.id, lambda j: j.state in ("succeeded", "failed")).state == "succeeded"
    assert len(_examples(project, "marc-secret")) == 20
    files = [p for p in Path(project.settings.home).rglob("*") if p.is_file()]
    assert any(p.name == "japagen.duckdb" for p in files) and any(p.name == "log.txt" for p in files)
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path


def test_a_run_with_no_usable_answers_fails_clearly_and_can_resume(project, slow_fake):
    slow_fake.config.fault_rate, slow_fake.config.faults = 1.0, ("non_japanese",)
    store = JobStore(project.settings.jobs_dir)
    job = submit(project, "generate", _config(slow_fake, "marc-nothing", per_label=5))
    failed = _wait(store, job.id, lambda j: j.state in ("succeeded", "failed"))
    assert failed.state == "failed" and "not enough usable answers" in failed.result["message"]
    assert "not_japanese" in failed.result["message"]
    assert not [d for d in project.datasets() if d["id"] == "marc-nothing"]  # no empty dataset
    slow_fake.config.fault_rate = 0.0  # the server recovers: resuming fills what is missing
    store.start(failed)
    assert _wait(store, job.id, lambda j: j.state in ("succeeded", "failed")).state == "succeeded"
    assert len(_examples(project, "marc-nothing")) == 10


def test_two_starts_of_one_job_run_it_once(project, slow_fake):
    import subprocess
    import sys

    # Slow answers keep the first process running while the second one starts (seconds on a loaded machine).
    slow_fake.config.latency = 1.0
    store = JobStore(project.settings.jobs_dir)
    # Slow enough answers that the job still runs when the second process (seconds of start-up on a busy
    # machine) tries to take it; saving used to take that long, now it is quick.
    slow_fake.config.latency = 1.0
    job = submit(project, "generate", _config(slow_fake, "marc-twice", per_label=50))
    _wait(store, job.id, lambda j: j.state == "running")
    second = subprocess.run(
        [sys.executable, "-m", "japagen_core", "job", "run", str(job.dir)], capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 1 and "already running in another process" in second.stdout
    assert _wait(store, job.id, lambda j: j.state in ("succeeded", "failed")).state == "succeeded"
    assert len(_examples(project, "marc-twice")) == 100
    assert "nothing to cancel" in store.cancel(store.get(job.id))


@pytest.fixture
def fake_server():
    server = FakeOpenAI(ServerConfig()).start()
    yield server
    server.stop()


def test_a_silent_server_fails_the_job_quickly_and_progress_counts_the_timeouts(project, fake_server):
    import subprocess
    import sys
    import time

    fake_server.config.fault_rate, fake_server.config.faults = 1.0, ("hang",)  # accepts, never answers
    root = Path(__file__).resolve().parents[2]
    store = JobStore(project.settings.jobs_dir)
    start = time.monotonic()
    cli = subprocess.Popen(
        [sys.executable, "-m", "japagen_core", "generate", "--task", "marc_ja", "--setting", "zero-shot",
         "--per-label", "100", "--base-url", fake_server.base_url, "--concurrency", "2", "--timeout", "1",
         "--max-consecutive-failures", "6", "--wait"],
        cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        seen = _wait_for_any_job(store, lambda j: j.state == "running" and _timeouts(j) >= 2)
        line = __import__("japagen_core.cli").cli._progress_text("generate", seen.progress)
        assert Progress.from_json(seen.progress).done == 0 and "timeouts" in line
        _, err = cli.communicate(timeout=60)
    finally:
        cli.kill()
    elapsed = time.monotonic() - start
    job = store.get(seen.id)
    assert cli.returncode != 0 and job.state == "failed"
    expected = f"the LLM server at {fake_server.base_url} is not answering (6 consecutive timeouts/connection errors"
    assert expected in job.result["message"] and expected in err and "last: no whole answer within 1 s" in err
    progress = Progress.from_json(job.progress)
    assert progress.get("timeouts") >= 6 and progress.retries >= 4
    assert elapsed < 40, elapsed  # ~5 s of timeouts and backoff, plus starting two Python processes
    listed = subprocess.run([sys.executable, "-m", "japagen_core", "jobs"], cwd=root, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(root)}, timeout=60)  # fmt: skip
    assert "timeouts" in listed.stdout and "failed" in listed.stdout


def _timeouts(job) -> int:
    return Progress.from_json(job.progress).get("timeouts", 0)


def _wait_for_any_job(store: JobStore, until, timeout: float = 60):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for job in store.list():
            if until(job):
                return job
        time.sleep(0.05)
    raise AssertionError(f"no job got there: {[(j.state, j.progress) for j in store.list()]}")


def test_sigkill_then_resume_pays_each_answered_call_once_and_counts_them_all(project, fake_server, monkeypatch):
    """20 calls of 5 examples. The server answers 10, then holds the next 4 (the calls in flight) and the job is
    killed: the resumed job reuses the 10 answers, sends only the 10 calls still missing, and its token count
    is exactly what the server answered."""
    import time

    monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
    fake_server.script = [None] * 10 + ["hang"] * 4
    llm = asdict(LLMConfig(model="fake-model", base_url=fake_server.base_url, concurrency=4, timeout=30))
    cfg = RunConfig(mode="generate", task="marc_ja", run_id="marc-paid-once", llm=llm, setting="zero-shot",
                    per_label=50)  # fmt: skip
    store = JobStore(project.settings.jobs_dir)
    job = submit(project, "generate", cfg)
    journal = job.parts_dir / "usage.jsonl"

    def answered_in_journal() -> int:
        return journal.read_text(encoding="utf-8").count('{"a": ') if journal.exists() else 0

    deadline = time.monotonic() + 60
    while not (len(fake_server.requests) == 14 and answered_in_journal() == 10):
        assert time.monotonic() < deadline, (len(fake_server.requests), answered_in_journal())
        time.sleep(0.05)
    parts_before = len(list(job.parts_dir.glob("part-*.parquet")))
    os.killpg(int(json.loads((job.dir / "pid.json").read_text())["pid"]), signal.SIGKILL)
    killed = _wait(store, job.id, lambda j: j.state != "running")
    assert killed.state == "interrupted" and len(fake_server.answered) == 10

    store.start(killed)
    finished = _wait(store, job.id, lambda j: j.state in ("succeeded", "failed"))
    assert finished.state == "succeeded", finished.log_tail()
    answered = fake_server.answered
    assert len(answered) == 20  # the 10 answered before the kill were not sent again
    assert len(fake_server.requests) == 24  # 10 + 4 held at the kill + 10 after
    p = Progress.from_json(finished.progress).flat()
    assert p["prompt_tokens"] == sum(a["prompt_tokens"] for a in answered) == 800
    assert p["completion_tokens"] == sum(a["completion_tokens"] for a in answered) == 2000
    assert p["cut_off_calls"] == 4 and p["reused_calls"] == 10 - 10 * parts_before
    with project.db.transaction() as con:
        rows = con.execute("SELECT text, source_id FROM examples WHERE dataset_id = ?", ["marc-paid-once"]).fetchall()
        meta = con.execute("SELECT meta FROM datasets WHERE id = ?", ["marc-paid-once"]).fetchone()[0]
    assert len(rows) == 100 and len({text for text, _ in rows}) == 100  # every example exactly once
    per_request = {}
    for _, request_id in rows:
        per_request[request_id] = per_request.get(request_id, 0) + 1
    assert per_request == {f"req-{a['number']}": 5 for a in answered}  # each answer's 5 examples, once
    assert json.loads(meta)["summary"]["prompt_tokens"] == 800
