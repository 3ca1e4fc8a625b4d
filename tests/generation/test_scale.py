"""Paper scale: the calls, tokens, cost and time a run will take, shown before anything starts."""

import json
import math

import pytest

from japagen_core.cli import main
from japagen_core.errors import JapagenError
from japagen_core.generation.llm import LLMConfig, cost_usd
from japagen_core.generation.run import RunConfig, plan
from japagen_core.generation.scale import PAPER_PER_LABEL, count_calls, estimate_run, paper_sampling
from japagen_core.jobs import JobStore


@pytest.mark.parametrize("task_name", ["marc_ja", "jnli", "jsts", "livedoor"])
@pytest.mark.parametrize(("per_label", "n"), [(1, 5), (49, 5), (50, 5), (123, 5), (120, 7), (25_000, 5)])
@pytest.mark.parametrize("protocol", ["paired", "contrastive"])
def test_call_count_follows_the_runs_plan(project, task_name, per_label, n, protocol):
    """Against the plan's units: ceil(count / n) calls each; pair tasks add one stage-2 call per pair."""
    task = project.registry[task_name]
    cfg = RunConfig(
        mode="generate", task=task_name, run_id="x", llm={"n": n}, per_label=per_label, pair_protocol=protocol
    )
    units = plan(task, cfg)
    calls = sum(math.ceil(u.count / n) for u in units)
    if task.is_pair:
        calls += per_label * len(task.labels)
    assert count_calls(task, per_label, n, pair_protocol=protocol)[0] == calls


def test_paper_scale_costs_half_through_the_batch_api(project):
    task = project.registry["marc_ja"]
    llm = LLMConfig(model="gpt-4o-mini")
    sync = estimate_run(task, PAPER_PER_LABEL, llm, batch=False, prompt_chars=100)
    batch = estimate_run(task, PAPER_PER_LABEL, llm, batch=True, prompt_chars=100)
    assert sync.examples == batch.examples == 50_000 and sync.calls == batch.calls == 10_000
    assert sync.prompt_tokens == 1_000_000 and sync.completion_tokens == 50_000 * 120
    assert sync.cost_usd == pytest.approx(cost_usd("gpt-4o-mini", 1_000_000, 6_000_000))
    assert batch.cost_usd == pytest.approx(sync.cost_usd / 2) and batch.cost_usd_sync == pytest.approx(sync.cost_usd)
    assert batch.cost_usd_upper == pytest.approx(cost_usd("gpt-4o-mini", 1_000_000, 50_000 * 500) / 2)
    assert sync.hours == pytest.approx(10_000 * 6.0 / 8 / 3600) and batch.hours == 24
    assert estimate_run(project.registry["jnli"], 10, llm, batch=True, prompt_chars=1).rounds == 2
    capped = estimate_run(task, 1000, LLMConfig(concurrency=100, requests_per_minute=60), batch=False, prompt_chars=1)
    assert capped.hours == pytest.approx(capped.calls / 60 / 60)  # the rpm cap, not the concurrency
    assert estimate_run(task, 10, LLMConfig(model="my-local"), batch=False, prompt_chars=1).cost_usd is None
    assert paper_sampling(LLMConfig()) == [] and paper_sampling(LLMConfig(n=1)) == ["n 1 (paper: 5)"]
    with pytest.raises(JapagenError, match="at least 1"):
        count_calls(task, 0, 5)


def test_the_cli_shows_the_estimate_and_starts_only_when_told(home, capsys):
    store_dir = home / "jobs"
    assert main(["generate", "--task", "jnli", "--setting", "kadg", "--paper-scale", "--batch"]) == 0
    out = capsys.readouterr().out
    assert "25,000 per label" in out and "examples: 75,000" in out and "API calls: 90,000 via Batch API" in out
    assert "the same synchronously: $" in out and "time: up to 48 h" in out and "add --yes" in out
    assert not JobStore(store_dir).list()  # nothing started
    assert main(["generate", "--task", "marc_ja", "--per-label", "10", "--estimate", "--model", "m"]) == 0
    out = capsys.readouterr().out
    assert "API calls: 4 via synchronous calls" in out and "unknown (no price for m)" in out
    assert main(["generate", "--task", "marc_ja", "--paper-scale", "--temperature", "1.0"]) == 1
    assert "--paper-scale uses the paper's sampling, but temperature 1.0 (paper: 1.2)" in capsys.readouterr().err
    assert main(["generate", "--task", "marc_ja"]) == 1
    assert "--per-label is required" in capsys.readouterr().err
    assert main(["generate", "--task", "marc_ja", "--per-label", "5", "--batch", "--backend", "local"]) == 1
    assert "needs the openai backend" in capsys.readouterr().err
    assert not JobStore(store_dir).list()


def test_a_batch_run_started_from_the_cli_records_its_settings(home, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(JobStore, "start", lambda self, job, env=None: 0)  # the job itself is tested in test_batch
    args = ["generate", "--task", "marc_ja", "--per-label", "5", "--batch", "--batch-poll-seconds", "2"]
    assert main(args) == 0
    [job] = JobStore(home / "jobs").list()
    assert job.config["batch"]["poll_seconds"] == 2 and job.config["batch"]["retry_rounds"] == 3
    assert "sk-test" not in json.dumps(job.config)
