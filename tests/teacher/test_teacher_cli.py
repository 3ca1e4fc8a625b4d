"""The CLI as a new user types it: teacher-tune (dry run, then a job against the test server), teachers,
generate --teacher, and generate --backend local with a model folder and an adapter."""

import json

import pytest

from japagen_core.cli import main
from japagen_core.jobs import JobStore
from japagen_core.teacher.service import list_teachers


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-cli")


def _provenance(project, dataset_id):
    with project.db.transaction() as con:
        rows = con.execute("SELECT provenance FROM examples WHERE dataset_id = ?", [dataset_id]).fetchall()
    return [json.loads(p) for (p,) in rows]


def test_dry_run_shows_the_file_tokens_and_cost_and_starts_nothing(project, marc_gold, capsys, tmp_path):
    out = tmp_path / "teacher.jsonl"
    args = ["teacher-tune", "--task", "marc_ja", "--data", "gold-fewshot:5", "--epochs", "3", "--dry-run"]
    assert main([*args, "--json", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["examples"] == 10 and summary["epochs"] == 3
    assert summary["cost_usd_estimate"] == pytest.approx(summary["trained_tokens_estimate"] * 3.0 / 1e6)
    assert len(out.read_text().splitlines()) == 10
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "10 conversations" in text and "estimated cost: $" in text and "[assistant]" in text
    assert not list_teachers(project) and not (project.settings.home / "jobs").exists()
    assert main(["teacher-tune", "--task", "marc_ja", "--backend", "local", "--dry-run"]) == 1
    assert "--backend local needs --model" in capsys.readouterr().err


def test_tune_then_generate_with_the_teacher(project, marc_gold, ft_server, capsys):
    tune = ["teacher-tune", "--task", "marc_ja", "--base-url", ft_server.base_url, "--poll-seconds", "0.05", "--wait"]
    assert main(tune) == 0
    out = capsys.readouterr().out
    assert "succeeded: teacher teacher-marc_ja-openai-" in out and "ft:gpt-4o-mini-2024-07-18:" in out
    assert main(["teachers", "--json"]) == 0
    [teacher] = json.loads(capsys.readouterr().out)
    assert teacher["status"] == "succeeded" and teacher["data_spec"] == "gold-fewshot:5"
    generate = ["generate", "--task", "marc_ja", "--per-label", "3", "--teacher", teacher["id"], "--wait"]
    assert main(generate) == 0
    dataset_id = capsys.readouterr().out.split("dataset ")[-1].split(" ")[0]
    provenance = _provenance(project, dataset_id)
    assert len(provenance) == 6 and {(p["model"], p["teacher"]) for p in provenance} == {
        (teacher["model"], teacher["id"])
    }


def test_generate_with_a_local_model_folder_and_adapter(project, tiny_lm, tmp_path, capsys, monkeypatch):
    assert main(["generate", "--task", "marc_ja", "--per-label", "2", "--backend", "openai", "--adapter", "x"]) == 1
    assert "--adapter is for --backend local" in capsys.readouterr().err
    assert main(["generate", "--task", "marc_ja", "--per-label", "2", "--backend", "local", "--model", "./none"]) == 1
    assert "no such model folder" in capsys.readouterr().err
    from japagen_core.teacher.local_tune import LoraTuning, tune_lora

    records = [{"messages": [{"role": "user", "content": "犬"}, {"role": "assistant", "content": "猫"}]}] * 4
    adapter = tmp_path / "adapter"
    tune_lora(records, base_model=str(tiny_lm), out_dir=adapter, settings=LoraTuning(r=2, alpha=4, epochs=1), info={})
    monkeypatch.setattr(JobStore, "start", lambda self, job, env=None: 0)  # (a local run as a job: test_teacher_local)
    args = ["generate", "--task", "marc_ja", "--per-label", "2", "--backend", "local", "--model", str(tiny_lm),
            "--adapter", str(adapter), "--batch-size", "8", "--device", "cpu"]  # fmt: skip
    assert main(args) == 0
    [job] = JobStore(project.settings.jobs_dir).list()
    assert (job.config["backend"], job.config["llm"]["model"], job.config["teacher"]) == ("local", str(tiny_lm), None)
    assert job.config["local"] == {"adapter": str(adapter), "batch_size": 8, "device": "cpu"}
