"""Teacher fine-tuning through the OpenAI API, against the local test server's files and fine-tuning
endpoints: upload, create, follow (retrieve + events), cancel, failure, resume; then generation with the
tuned model, which every example records."""

import json
from dataclasses import asdict

import pytest

from japagen_core.jobs import JobStore
from japagen_core.jobs.progress import Progress
from japagen_core.teacher import registry
from japagen_core.teacher.openai_tune import REMOTE_STATE
from japagen_core.teacher.service import TeacherRequest, list_teachers, run_fields, run_teacher_job, submit_teacher
from japagen_core.teacher.trainfile import TeacherError
from tests.conftest import wait_for_job

SECRET = "sk-test-TEACHER-77e1"


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)


def _request(server, **openai) -> TeacherRequest:
    settings = {"n_epochs": 2, "poll_seconds": 0.01, "max_retries": 2, **openai}
    return TeacherRequest(task="marc_ja", backend="openai", base_model="gpt-4o-mini-2024-07-18",
                          data="gold-fewshot:5", base_url=server.base_url, openai=settings)  # fmt: skip


def _run_here(project, job, cancelled=lambda: False):
    reports = []
    return run_teacher_job(project, job, reports.append, cancelled), reports


def _wait(store: JobStore, job_id: str, until, timeout: float = 60):
    return wait_for_job(store, job_id, until, timeout)


def test_upload_create_follow_and_register(project, marc_gold, ft_server):
    teacher, job = submit_teacher(project, _request(ft_server), start=False)
    assert registry.get_teacher(project, teacher.id).status == "queued"
    result, reports = _run_here(project, job)
    assert result["state"] == "succeeded" and result["model"].startswith("ft:gpt-4o-mini-2024-07-18:")
    [uploaded] = ft_server.files.values()
    assert uploaded["purpose"] == "fine-tune" and uploaded["content"] == (job.dir / "train.jsonl").read_bytes()
    create = next(r for r in ft_server.requests if r["path"] == "/v1/fine_tuning/jobs" and r["method"] == "POST")
    assert create["body"]["method"]["supervised"]["hyperparameters"] == {"n_epochs": 2}
    assert create["body"]["training_file"] == uploaded["id"] and create["body"]["model"] == "gpt-4o-mini-2024-07-18"
    stored = registry.get_teacher(project, teacher.id)
    assert stored.status == "succeeded" and stored.model == result["model"] and stored.remote_job_id == "ftjob-000001"
    assert stored.examples == 10 and stored.meta["trained_tokens"] > 0 and stored.meta["cost_usd_estimate"] > 0
    assert stored.training_file_sha == job.config["training_file_sha"] and stored.snapshot_id is not None
    last = reports[-1]
    assert last["done"] == last["target"] == 3 and last["unit"] == "steps"  # from the metrics events
    assert [e["message"] for e in last["events"]][-1] == "The job has successfully completed"
    assert last["prompt_tokens"] == job.config["summary"]["trained_tokens_estimate"] and last["cost_usd"] > 0
    assert [t.id for t in list_teachers(project, task="marc_ja", usable=True)] == [teacher.id]
    assert run_fields(project, stored)["model"] == stored.model


def test_a_failed_remote_job_fails_the_teacher_with_its_reason(project, marc_gold, ft_server):
    ft_server.config.ft_outcome = "failed"
    teacher, job = submit_teacher(project, _request(ft_server), start=False)
    with pytest.raises(TeacherError, match=r"ftjob-000001 failed \(training_failed\)"):
        _run_here(project, job)
    stored = registry.get_teacher(project, teacher.id)
    assert stored.status == "failed" and "training_failed" in stored.message and not stored.usable
    assert stored.remote_job_id == "ftjob-000001"  # recorded as soon as it was created
    with pytest.raises(TeacherError, match="only a succeeded teacher"):
        run_fields(project, stored)


def test_cancel_cancels_the_remote_job(project, marc_gold, ft_server):
    ft_server.config.ft_polls = 1000
    teacher, job = submit_teacher(project, _request(ft_server), start=False)
    polls = []
    result, _ = _run_here(project, job, cancelled=lambda: polls.append(1) or len(polls) > 3)
    assert result["state"] == "cancelled"
    assert ft_server.ft_jobs["ftjob-000001"]["status"] == "cancelled"
    assert any(r["path"].endswith("/cancel") for r in ft_server.requests)
    assert registry.get_teacher(project, teacher.id).status == "cancelled"


def test_a_refused_key_and_a_refused_model_say_so(project, marc_gold, ft_server, monkeypatch):
    ft_server.config.api_key = SECRET
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    _, job = submit_teacher(project, _request(ft_server), start=False)
    with pytest.raises(TeacherError, match=r"refused the API key \(401\)"):
        _run_here(project, job)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    request = TeacherRequest(**{**asdict(_request(ft_server)), "base_model": "llama-70b"})
    teacher, job = submit_teacher(project, request, start=False)
    with pytest.raises(TeacherError, match="not available for fine-tuning"):
        _run_here(project, job)
    assert "not available" in registry.get_teacher(project, teacher.id).message


def test_a_resumed_job_follows_its_remote_job_instead_of_paying_twice(project, marc_gold, ft_server):
    ft_server.ft_script = ["500"]  # the SDK retries a 5xx by itself
    _, job = submit_teacher(project, _request(ft_server), start=False)
    first, _ = _run_here(project, job)
    state = json.loads((job.dir / REMOTE_STATE).read_text())
    assert state == {"file_id": "file-000001", "remote_job_id": "ftjob-000001"}
    again, _ = _run_here(project, job)
    assert again["model"] == first["model"]
    assert len(ft_server.files) == 1 and len(ft_server.ft_jobs) == 1


def test_cancel_from_the_job_store_stops_the_remote_job(project, marc_gold, ft_server):
    ft_server.config.ft_polls = 100_000
    store = JobStore(project.settings.jobs_dir)
    _, job = submit_teacher(project, _request(ft_server, poll_seconds=0.05))
    _wait(store, job.id, lambda j: Progress.from_json(j.progress).get("remote_status") == "running")
    store.cancel(job)
    done = _wait(store, job.id, lambda j: j.state in ("succeeded", "failed", "cancelled"))
    assert done.state == "cancelled"
    assert ft_server.ft_jobs["ftjob-000001"]["status"] == "cancelled"
    assert [t.status for t in list_teachers(project)] == ["cancelled"]
