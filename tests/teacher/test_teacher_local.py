"""Local teachers: LoRA tuning (peft) of the tiny causal LM on the chat-format file, saved as an adapter
the local backend loads; as background jobs with progress and cancel; then a run generated with it."""

import json

import pytest

from japagen_core.cli import main
from japagen_core.generation.llm import LLMConfig
from japagen_core.generation.local import LocalChatClient, LocalConfig, adapter_sha
from japagen_core.jobs import JobStore
from japagen_core.jobs.progress import Progress
from japagen_core.teacher.local_tune import TEACHER_FILE, LoraTuning, TuningCancelled, encode, tune_lora
from japagen_core.teacher.service import (
    TeacherRequest,
    list_teachers,
    prepare,
    run_fields,
    run_teacher_job,
    submit_teacher,
)
from japagen_core.teacher.trainfile import TeacherError
from tests.conftest import wait_for_job

FAST = {"r": 4, "alpha": 8, "epochs": 3, "learning_rate": 0.02, "batch_size": 4, "max_length": 256}


def _request(tiny_lm, **lora) -> TeacherRequest:
    return TeacherRequest(task="marc_ja", backend="local", base_model=str(tiny_lm), data="gold-fewshot:5",
                          lora={**FAST, **lora})  # fmt: skip


def _wait(store: JobStore, job_id: str, until, timeout: float = 120):
    return wait_for_job(store, job_id, until, timeout)


def test_encode_learns_the_answer_and_its_end_of_turn_only(tiny_lm):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_lm))
    record = {"messages": [{"role": "user", "content": "犬"}, {"role": "assistant", "content": "猫が寝ている。"}]}
    [example] = encode(tokenizer, [record], max_length=64)
    answer = [t for t in example.labels if t != -100]
    assert tokenizer.decode(answer) == "猫が寝ている。<|end|>"
    assert example.labels[: len(example.labels) - len(answer)] == [-100] * (len(example.labels) - len(answer))
    with pytest.raises(TeacherError, match="no conversation fits in max_length 16"):
        encode(
            tokenizer, [{"messages": [{"role": "user", "content": "犬" * 40}, record["messages"][1]]}], max_length=16
        )


def test_lora_tuning_lowers_the_loss_and_saves_an_adapter(project, marc_gold, tiny_lm, tmp_path):
    records = [{"messages": r["messages"]} for r in prepare(project, _request(tiny_lm)).file.records]
    reports = []
    out = tmp_path / "adapter"
    outcome = tune_lora(records, base_model=str(tiny_lm), out_dir=out, settings=LoraTuning(**{**FAST, "epochs": 8}),
                        info={"teacher_id": "t"}, report=reports.append)  # fmt: skip
    steps = [r for r in reports if r.get("ok")]
    assert outcome["steps"] == 24 and steps[-1]["ok"] == steps[-1]["target"] == 24  # ceil(10 / 4) x 8
    assert steps[-1]["loss"] < steps[0]["loss"]
    assert (out / "adapter_config.json").is_file() and outcome["adapter_sha"] == adapter_sha(out)
    saved = json.loads((out / TEACHER_FILE).read_text())
    assert saved["base_model"] == str(tiny_lm) and saved["lora"]["r"] == 4 and saved["adapter_sha"] == adapter_sha(out)
    assert not list(tmp_path.glob(".adapter*"))  # the temp folder was renamed into place
    client = LocalChatClient(LLMConfig(model=str(tiny_lm), max_tokens=8), LocalConfig(adapter=str(out)))
    assert client.provenance["adapter_sha"] == outcome["adapter_sha"]
    assert len(client.generate([client.render(records[0]["messages"][:-1])])) == 1


def test_lora_tuning_stops_when_cancelled(tiny_lm, tmp_path):
    records = [{"messages": [{"role": "user", "content": "犬"}, {"role": "assistant", "content": "猫"}]}] * 8
    checks = []
    with pytest.raises(TuningCancelled):
        tune_lora(records, base_model=str(tiny_lm), out_dir=tmp_path / "a", settings=LoraTuning(**FAST),
                  info={}, cancelled=lambda: checks.append(1) or len(checks) > 2)  # fmt: skip
    assert len(checks) == 3 and not (tmp_path / "a").exists()


def test_bad_lora_settings_and_models_are_refused_before_a_job(project, marc_gold, tiny_lm, tmp_path):
    with pytest.raises(TeacherError, match="r 0"):
        prepare(project, _request(tiny_lm, r=0))
    with pytest.raises(Exception, match="no such model folder"):
        prepare(project, TeacherRequest(task="marc_ja", backend="local", base_model=str(tmp_path / "none")))
    # a local teacher has no 10-example minimum and costs nothing
    small = prepare(project, TeacherRequest(task="marc_ja", backend="local", base_model=str(tiny_lm),
                                            data="gold-fewshot:2", lora=FAST))  # fmt: skip
    assert len(small.file.records) == 4 and small.cost_usd == 0.0


def test_local_teacher_end_to_end_as_jobs(project, marc_gold, tiny_lm, capsys):
    """Tune as a job, see it registered, generate with it (CLI, a job): every example records base + adapter."""
    store = JobStore(project.settings.jobs_dir)
    teacher, job = submit_teacher(project, _request(tiny_lm))
    done = _wait(store, job.id, lambda j: j.state in ("succeeded", "failed", "cancelled"))
    assert done.state == "succeeded", done.log_tail()
    progress = Progress.from_json(done.progress)
    assert progress.done == progress.target == 9 and progress.unit == "steps"
    [ready] = list_teachers(project, task="marc_ja", usable=True)
    assert ready.id == teacher.id and ready.model == f"teachers/{teacher.id}/adapter"
    adapter = project.settings.home / ready.model
    assert ready.meta["adapter_sha"] == adapter_sha(adapter)
    fields = run_fields(project, ready)
    assert fields["backend"] == "local" and fields["local"] == {"adapter": str(adapter)}
    generate = ["generate", "--task", "marc_ja", "--per-label", "3", "--teacher", teacher.id, "--max-tokens", "12",
                "--n", "2", "--wait"]  # fmt: skip
    assert main(generate) == 0
    dataset_id = capsys.readouterr().out.split("dataset ")[-1].split(" ")[0]
    with project.db.transaction() as con:
        provenance = [json.loads(p) for (p,) in con.execute(
            "SELECT provenance FROM examples WHERE dataset_id = ?", [dataset_id]).fetchall()]  # fmt: skip
    assert len(provenance) == 6
    for p in provenance:
        assert (p["teacher"], p["backend"], p["model"]) == (teacher.id, "local", str(tiny_lm))
        assert p["adapter"] == str(adapter) and p["adapter_sha"] == ready.meta["adapter_sha"]


def test_cancel_a_local_tuning_job(project, marc_gold, tiny_lm):
    """The job's body with the CANCEL check answering yes after two steps (as JobStore.cancel makes it; the
    subprocess path is the same as for OpenAI teachers, tested in test_teacher_openai)."""
    teacher, job = submit_teacher(project, _request(tiny_lm, epochs=1000), start=False)
    checks, reports = [], []
    result = run_teacher_job(project, job, reports.append, lambda: checks.append(1) or len(checks) > 2)
    assert result["state"] == "cancelled" and reports[-1]["ok"] >= 1  # it had begun training
    assert [t.status for t in list_teachers(project)] == ["cancelled"]
    assert not (project.settings.home / "teachers" / teacher.id / "adapter").exists()
