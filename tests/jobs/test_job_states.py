"""Job states from real processes and real kills: a job whose process is gone is never queued or
running, a signal death is a failure that names the signal and the last step, a part left empty by a
crash is set aside and redone, and read-only mode runs no job."""

import hashlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from japagen_core.generation.llm import LLMConfig
from japagen_core.generation.run import RunConfig
from japagen_core.jobs import JobStore
from japagen_core.jobs.kinds import submit
from tests.conftest import wait_for_job
from tests.openai_server import FakeOpenAI, ServerConfig

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-test-states"
ENDED = ("succeeded", "failed", "cancelled", "interrupted")


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server = FakeOpenAI(ServerConfig(latency=0.15, api_key=KEY)).start()
    yield server
    server.stop()


def _config(fake, run_id: str, per_label: int) -> RunConfig:
    llm = asdict(LLMConfig(model="fake-model", base_url=fake.base_url, concurrency=2, timeout=5))
    return RunConfig(mode="generate", task="marc_ja", run_id=run_id, llm=llm, setting="kadg", per_label=per_label)


def _rows(project, run_id: str) -> list[tuple[str, str]]:
    with project.db.transaction() as con:
        return con.execute("SELECT label, text FROM examples WHERE dataset_id = ?", [run_id]).fetchall()


def _cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "JAPAGEN_HOME": str(home), "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-m", "japagen_core", *args], capture_output=True, text=True, env=full,
                          cwd=ROOT, timeout=300)  # fmt: skip


def _resume_and_check(project, store: JobStore, job_id: str, run_id: str, per_label: int) -> None:
    store.start(store.get(job_id))
    done = wait_for_job(store, job_id, lambda j: j.state in ("succeeded", "failed"), timeout=240)
    assert done.state == "succeeded", done.log_tail()
    rows = _rows(project, run_id)
    assert len(rows) == 2 * per_label and len({text for _, text in rows}) == 2 * per_label  # 0 lost, 0 twice
    assert sum(label == "positive" for label, _ in rows) == per_label


def test_a_job_killed_before_taking_its_lock_is_not_queued_and_resumes(project, home, fake):
    store = JobStore(project.settings.jobs_dir)
    job = submit(project, "generate", _config(fake, "marc-early", per_label=10))
    launched = json.loads((job.dir / "launch.json").read_text())
    os.kill(launched["pid"], signal.SIGKILL)  # at once: Python has not even imported japagen yet
    dead = wait_for_job(store, job.id, lambda j: j.state != "queued", timeout=10)
    assert dead.state == "interrupted" and not (job.dir / "pid.json").exists()  # it never took the lock
    waited = _cli(home, "job", "wait", job.id)  # ends at once instead of waiting forever
    assert waited.returncode == 1 and f"job {job.id} interrupted" in waited.stderr
    _resume_and_check(project, store, job.id, "marc-early", 10)


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGKILL])
def test_a_job_whose_work_dies_by_a_signal_is_failed_with_the_signal_and_its_step(project, fake, sig):
    store = JobStore(project.settings.jobs_dir)
    job = submit(project, "generate", _config(fake, f"marc-{sig.name.lower()}", per_label=150))
    running = wait_for_job(store, job.id, lambda j: len(list(j.parts_dir.glob("part-*.parquet"))) >= 1, timeout=120)
    assert running.state == "running"
    worker = json.loads((job.dir / "pid.json").read_text())["worker_pid"]
    os.kill(worker, sig)  # what a crash in native code (or the OOM killer) does to the process at work
    failed = wait_for_job(store, job.id, lambda j: j.state in ENDED, timeout=60)
    assert failed.state == "failed", failed.log_tail()
    message = failed.result["message"]
    assert failed.result["signal"] == sig.name and f"died of {sig.name} (signal {int(sig)})" in message
    assert "while on: " in message and failed.result["last_step"] in message and failed.result["last_step"]
    assert failed.progress["state"] == "failed"
    if sig == signal.SIGKILL:  # resumable like any failure: every example exactly once
        _resume_and_check(project, store, job.id, "marc-sigkill", 150)


def test_a_zero_byte_part_is_set_aside_and_redone(project, fake):
    store = JobStore(project.settings.jobs_dir)
    job = submit(project, "generate", _config(fake, "marc-empty-part", per_label=150))
    wait_for_job(store, job.id, lambda j: len(list(j.parts_dir.glob("part-*.parquet"))) >= 2, timeout=120)
    os.killpg(json.loads((job.dir / "pid.json").read_text())["pid"], signal.SIGKILL)
    wait_for_job(store, job.id, lambda j: j.state == "interrupted")
    parts = sorted(job.parts_dir.glob("part-*.parquet"))
    parts[0].write_bytes(b"")  # what a power cut leaves of a part renamed before its data reached the disk
    parts[1].write_bytes(parts[1].read_bytes()[:100])  # and one cut short
    (job.parts_dir / f".{parts[1].name}.4242.tmp").write_bytes(b"half")  # a temporary file of the killed attempt
    _resume_and_check(project, store, job.id, "marc-empty-part", 150)
    aside = sorted(p.name for p in job.parts_dir.glob("*.corrupt"))
    assert aside == [f"{parts[0].name}.corrupt", f"{parts[1].name}.corrupt"]
    assert parts[0].stat().st_size > 0 and parts[1].stat().st_size > 100  # redone
    assert "set aside" in store.get(job.id).log_tail(400)
    assert not list(job.parts_dir.glob(".*.tmp"))


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*")
            if p.is_file()}  # fmt: skip


def test_read_only_mode_runs_and_resumes_no_job(project, home, fake):
    store = JobStore(project.settings.jobs_dir)
    job = submit(project, "generate", _config(fake, "marc-ro", per_label=5))
    assert wait_for_job(store, job.id, lambda j: j.state in ENDED, timeout=120).state == "succeeded"
    failed = store.create("generate", asdict(_config(fake, "marc-ro-2", per_label=5)), label="marc_ja")
    (failed.dir / "result.json").write_text('{"state": "failed", "message": "for the test"}')
    before = _digests(home)
    for args in (("job", "run", str(job.dir)), ("job", "run", str(failed.dir)), ("job", "resume", failed.id)):
        out = _cli(home, *args, JAPAGEN_READ_ONLY="1")
        assert out.returncode == 1, out
        assert out.stderr.startswith("error: japagen runs read-only") and len(out.stderr.splitlines()) == 1
    assert _digests(home) == before
    assert store.get(job.id).state == "succeeded" and store.get(failed.id).state == "failed"
