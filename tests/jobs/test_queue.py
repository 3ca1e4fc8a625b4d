"""Job kinds and the queue, with real job processes and folders: the registry, a kind added in one module,
jobs that wait for a slot in order (queued, with positions), cancel while queued, `jobs --json`, Resume
only where it can help, and real train jobs one after another on one CPU slot."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict

import pytest

from japagen_core.generation.llm import LLMConfig
from japagen_core.generation.run import RunConfig
from japagen_core.jobs import JobError, JobStore, kinds, resources
from japagen_core.jobs.kinds import JobKind, submit
from japagen_core.jobs.progress import Progress
from japagen_core.settings import PROJECT_ROOT
from tests.conftest import wait_for_job
from tests.jobs.sleep_kind import SleepConfig

SLEEP_KIND = "sleep=tests.jobs.sleep_kind:SLEEP"


@pytest.fixture
def one_cpu_slot(monkeypatch):
    """The test kind registered for this process and its job processes; one CPU slot; no GPU."""
    monkeypatch.setenv(kinds.EXTRA_KINDS_ENV, SLEEP_KIND)
    monkeypatch.setenv("JAPAGEN_CPU_SLOTS", "1")
    monkeypatch.setenv("JAPAGEN_GPUS", "0")


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run([sys.executable, "-m", "japagen_core", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    if check:
        assert done.returncode == 0, done.stderr
    return done


def _wait_all(store: JobStore, jobs, until, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = [store.get(j.id) for j in jobs]
        if until(now):
            return now
        time.sleep(0.05)
    raise AssertionError([(j.id, j.state, j.progress, j.log_tail(5)) for j in (store.get(j.id) for j in jobs)])


def _assert_one_at_a_time_in_order(jobs) -> None:
    """Each job held the one CPU slot from acquired_at to released_at: in submit order, never two at once."""
    intervals = []
    for job in jobs:
        queue = json.loads((job.dir / "queue.json").read_text())
        assert queue["pools"] == ["cpu"] and queue["slots"] == {"cpu": 0}
        intervals.append((queue["acquired_at"], queue["released_at"]))
    assert intervals == sorted(intervals)
    for (_, released), (acquired, _) in itertools.pairwise(intervals):
        assert released <= acquired


def test_every_registered_kind_loads_and_an_unknown_one_is_refused():
    for name in kinds.KINDS:
        kind = kinds.get_kind(name)
        assert isinstance(kind, JobKind) and kind.name == name and kind.title
    with pytest.raises(JobError, match=r"unknown job kind 'nope' \(known: analysis, annotate"):
        kinds.get_kind("nope")


def test_a_kind_added_in_one_module_runs_as_a_job(project, one_cpu_slot):
    assert kinds.get_kind("sleep").title == "sleep"
    job = submit(project, "sleep", SleepConfig(steps=3, step_s=0.05))
    done = wait_for_job(project.jobs, job.id, lambda j: j.state in ("succeeded", "failed"))
    assert done.state == "succeeded", done.log_tail()
    progress = Progress.from_json(done.progress)
    assert (progress.done, progress.target, progress.unit, progress.state) == (3, 3, "steps", "succeeded")
    assert kinds.summary(done).text == "slept 3 steps"
    with pytest.raises(Exception, match=r"steps 0 must be between 1 and 10,000"):
        submit(project, "sleep", SleepConfig(steps=0))


def test_three_jobs_on_one_slot_run_one_after_another_and_show_their_positions(project, one_cpu_slot):
    store = project.jobs
    first = submit(project, "sleep", SleepConfig(steps=600, step_s=0.1))  # holds the slot until cancelled
    second = submit(project, "sleep", SleepConfig(steps=3, step_s=0.05))
    third = submit(project, "sleep", SleepConfig(steps=3, step_s=0.05))
    jobs = [first, second, third]
    seen = _wait_all(store, jobs, lambda js: [resources.position(store, j) for j in js] == [None, 1, 2]
                     and all(Progress.from_json(j.progress).state == "queued" for j in js[1:]))  # fmt: skip
    assert [j.state for j in seen] == ["running", "queued", "queued"]
    assert Progress.from_json(seen[2].progress).message == "queued, position 2: waiting for the CPU training slot"

    rows = {row["id"]: row for row in json.loads(_cli("jobs", "--json").stdout)}
    row = rows[third.id]
    assert {"id", "kind", "state", "position", "progress"} <= set(row)
    assert (row["kind"], row["state"], row["position"]) == ("sleep", "queued", 2)
    assert (rows[second.id]["state"], rows[second.id]["position"]) == ("queued", 1)
    assert rows[first.id]["state"] == "running" and rows[first.id]["position"] is None
    assert {"done", "target", "unit", "message", "extras"} <= set(row["progress"])
    listed = _cli("jobs").stdout
    assert "queued, position 2" in listed and "queued, position 1" in listed

    store.cancel(store.get(first.id))
    done = _wait_all(store, jobs, lambda js: all(j.state in ("succeeded", "failed", "cancelled") for j in js))
    assert [j.state for j in done] == ["cancelled", "succeeded", "succeeded"]
    _assert_one_at_a_time_in_order(done)


def test_cancel_while_queued_and_a_waiting_process_that_dies(project, one_cpu_slot):
    store = project.jobs
    running = submit(project, "sleep", SleepConfig(steps=600, step_s=0.1))
    waiting = submit(project, "sleep", SleepConfig(steps=3, step_s=0.05))
    dying = submit(project, "sleep", SleepConfig(steps=3, step_s=0.05))
    jobs = [running, waiting, dying]
    _wait_all(store, jobs, lambda js: [resources.position(store, j) for j in js] == [None, 1, 2]
              and all((j.dir / "queue.json").exists() for j in js))  # every process is up and waits  # fmt: skip

    started = time.monotonic()
    store.cancel(store.get(waiting.id))
    cancelled = store.get(waiting.id)
    assert cancelled.state == "cancelled" and time.monotonic() - started < 5
    assert cancelled.result["message"] == "cancelled while queued"
    assert json.loads((waiting.dir / "queue.json").read_text())["acquired_at"] is None
    assert kinds.resumable(cancelled) is None  # a cancelled job may go back into the queue

    # The job after it moves up; one whose waiting process is killed is interrupted, not queued for ever.
    wait_for_job(store, dying.id, lambda j: resources.position(store, j) == 1)
    os.killpg(int(json.loads((dying.dir / "pid.json").read_text())["pid"]), signal.SIGKILL)
    wait_for_job(store, dying.id, lambda j: j.state == "interrupted")
    assert store.get(running.id).state == "running"
    store.cancel(store.get(running.id))
    assert store.get(running.id).state == "cancelled"

    store.start(store.get(dying.id))  # resumed, it takes the free slot
    finished = wait_for_job(store, dying.id, lambda j: j.state in ("succeeded", "failed"))
    assert finished.state == "succeeded", finished.log_tail()


def test_a_job_that_cannot_succeed_on_resume_is_not_offered_resume(project, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    store = project.jobs
    # An annotation whose source dataset went away after submit: its config check fails in the job.
    llm = asdict(LLMConfig(model="m", base_url="http://127.0.0.1:9/v1"))
    cfg = RunConfig(mode="annotate", task="marc_ja", run_id="gone-run", llm=llm, source_dataset="gone")
    job = store.create("annotate", asdict(cfg), label="marc_ja")
    store.start(job)
    failed = wait_for_job(store, job.id, lambda j: j.state in ("failed", "succeeded"))
    assert failed.state == "failed" and failed.result["resumable"] is False
    assert kinds.resumable(failed) and "gone" in kinds.resumable(failed)

    # A train job that failed because its model cannot be loaded, while the model is still missing.
    missing = tmp_path / "no-such-model"
    train = store.create("train", {"task": "jnli", "train": {"model": str(missing)}, "seeds": [0], "sizes": [None]})
    (train.dir / "result.json").write_text(json.dumps(
        {"state": "failed", "message": f"cannot load the model {str(missing)!r} (OSError: no folder)"}))  # fmt: skip
    assert "still cannot be loaded" in kinds.resumable(store.get(train.id))
    refused = _cli("job", "resume", train.id, check=False)
    assert refused.returncode == 1 and "cannot resume" in refused.stderr and "still cannot be loaded" in refused.stderr
    rows = {row["id"]: row for row in json.loads(_cli("jobs", "--json").stdout)}
    assert rows[train.id]["resumable"] is False and rows[failed.id]["resumable"] is False

    missing.mkdir()  # the weights arrive: Resume can help now
    (missing / "config.json").write_text("{}")
    assert kinds.resumable(store.get(train.id)) is None


def test_three_real_train_jobs_on_one_cpu_slot_run_one_after_another(project, tmp_path, tiny_model, monkeypatch):
    from japagen_core.training.config import TrainConfig
    from japagen_core.training.data import parse_data
    from japagen_core.training.plan import TrainRequest
    from tests.training_data import setup_jnli

    monkeypatch.setenv("JAPAGEN_CPU_SLOTS", "1")
    monkeypatch.setenv("JAPAGEN_GPUS", "0")
    ids = setup_jnli(project, tmp_path)
    train = TrainConfig(model=str(tiny_model), epochs=1, batch_size=8, max_steps=3, save_weights=False)
    request = TrainRequest("jnli", parse_data(f"dataset:{ids['synthetic']}"), seeds=1, train=train)
    store = project.jobs
    jobs = [submit(project, "train", request) for _ in range(3)]
    seen = _wait_all(store, jobs, lambda js: [resources.position(store, j) for j in js] == [None, 1, 2])
    assert [j.state for j in seen] == ["running", "queued", "queued"]
    done = _wait_all(store, jobs, lambda js: all(j.state in ("succeeded", "failed") for j in js), timeout=600)
    assert [j.state for j in done] == ["succeeded"] * 3, [j.log_tail(20) for j in done]
    _assert_one_at_a_time_in_order(done)
    summary = kinds.summary(done[0])
    assert summary.text.startswith("1 model(s) of run ") and " accuracy " in summary.text
    assert [link.kind for link in summary.links] == ["run"]
