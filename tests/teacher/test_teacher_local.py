"""Local teachers: LoRA tuning (peft) of the tiny causal LM on the chat-format file, saved as an adapter
the local backend loads; as background jobs with progress and cancel; then a run generated with it."""

import json
import time

import pytest

from japagen_core.cli import main
from japagen_core.generation.llm import LLMConfig
from japagen_core.generation.local import LocalChatClient, LocalConfig, adapter_sha
from japagen_core.jobs import JobStore
from japagen_core.jobs.progress import Progress
from japagen_core.review.snapshots import list_snapshots
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
    progress = [Progress.from_json(r) for r in reports]
    assert [p.to_json() | {"updated_at": ""} for p in progress] == [r | {"updated_at": ""} for r in reports]  # typed
    steps = [p for p in progress if p.done]
    assert outcome["steps"] == 24 and steps[-1].done == steps[-1].target == 24  # ceil(10 / 4) x 8
    assert {p.unit for p in progress} == {"steps"} and [p.done for p in steps] == sorted(p.done for p in steps)
    losses = [p.extras["loss"] for p in steps if p.extras["loss"] is not None]
    assert len(losses) >= 2 and outcome["loss"] == losses[-1]
    # One batch's loss against another's is noise (4 examples: run alone it rose, in the full run it fell);
    # the answers' mean loss over the whole file, in eval mode, is what tuning lowers.
    assert _answer_loss(tiny_lm, out, records) < _answer_loss(tiny_lm, None, records) - 0.05
    assert (out / "adapter_config.json").is_file() and outcome["adapter_sha"] == adapter_sha(out)
    saved = json.loads((out / TEACHER_FILE).read_text())
    assert saved["base_model"] == str(tiny_lm) and saved["lora"]["r"] == 4 and saved["adapter_sha"] == adapter_sha(out)
    assert not list(tmp_path.glob(".*"))  # the temp folder was renamed into place; the Trainer's scratch is gone
    client = LocalChatClient(LLMConfig(model=str(tiny_lm), max_tokens=8), LocalConfig(adapter=str(out)))
    assert client.provenance["adapter_sha"] == outcome["adapter_sha"]
    assert len(client.generate([client.render(records[0]["messages"][:-1])])) == 1
    assert _adapter_changes_the_logits(tiny_lm, out, records[0]["messages"][0]["content"])


def _answer_loss(base, adapter, records) -> float:
    """The mean loss of the answers (what tuning trains on) over ``records``, without dropout."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(base))
    if adapter is not None:
        model = PeftModel.from_pretrained(model, str(adapter))
    model.eval()
    examples = encode(AutoTokenizer.from_pretrained(str(base)), records, max_length=FAST["max_length"])
    with torch.no_grad():
        losses = [model(input_ids=torch.tensor([e.input_ids]), labels=torch.tensor([e.labels])).loss.item()
                  for e in examples]  # fmt: skip
    return sum(losses) / len(losses)


def _adapter_changes_the_logits(base, adapter, text: str) -> bool:
    """peft starts LoRA's B at zero (the adapter adds nothing): a trained, saved adapter changes the logits."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ids = AutoTokenizer.from_pretrained(str(base))(text, return_tensors="pt")["input_ids"]
    model = AutoModelForCausalLM.from_pretrained(str(base)).eval()
    with torch.no_grad():
        before = model(ids).logits
        after = PeftModel.from_pretrained(model, str(adapter)).eval()(ids).logits
    return not torch.allclose(before, after, atol=1e-4)


def test_the_same_seed_gives_the_same_adapter(tiny_lm, tmp_path):
    records = [{"messages": [{"role": "user", "content": "犬"}, {"role": "assistant", "content": "猫"}]}] * 4

    def sha(name: str, seed: int) -> str:
        settings = LoraTuning(**{**FAST, "max_steps": 2, "seed": seed})
        return tune_lora(records, base_model=str(tiny_lm), out_dir=tmp_path / name, settings=settings, info={})[
            "adapter_sha"
        ]

    shas = [sha("a", 0), sha("b", 0), sha("c", 1)]
    assert shas[0] == shas[1] != shas[2]


def test_lora_tuning_stops_when_cancelled(tiny_lm, tmp_path):
    records = [{"messages": [{"role": "user", "content": "犬"}, {"role": "assistant", "content": "猫"}]}] * 8
    checks = []
    with pytest.raises(TuningCancelled):
        tune_lora(records, base_model=str(tiny_lm), out_dir=tmp_path / "a", settings=LoraTuning(**FAST),
                  info={}, cancelled=lambda: checks.append(1) or len(checks) > 2)  # fmt: skip
    assert len(checks) == 3 and not list(tmp_path.iterdir())  # no adapter, no Trainer scratch folder


def test_bad_lora_settings_and_models_are_refused_before_a_job(project, marc_gold, tiny_lm, tmp_path):
    with pytest.raises(TeacherError, match="r 0"):
        prepare(project, _request(tiny_lm, r=0))
    with pytest.raises(Exception, match="no such model folder"):
        prepare(project, TeacherRequest(task="marc_ja", backend="local", base_model=str(tmp_path / "none")))
    # a base model that is not on this machine: said at submit, before a snapshot, a teacher or a job
    with pytest.raises(TeacherError, match=r"'no-such-org/no-such-lm' is not on this machine.*hf download"):
        submit_teacher(project, TeacherRequest(task="marc_ja", backend="local", base_model="no-such-org/no-such-lm",
                                               data="gold-fewshot:2", lora=FAST))  # fmt: skip
    assert list_teachers(project) == [] and list_snapshots(project) == []
    assert JobStore(project.settings.jobs_dir).list() == []
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
    assert progress.done == progress.target == 9 and progress.unit == "steps" and progress.extras["loss"] > 0
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
    assert result["state"] == "cancelled" and reports[-1]["done"] >= 1  # it had begun training
    assert [t.status for t in list_teachers(project)] == ["cancelled"]
    assert not (project.settings.home / "teachers" / teacher.id / "adapter").exists()


def test_cancel_from_the_job_store_stops_the_trainer_in_the_job_process(project, marc_gold, tiny_lm):
    """JobStore.cancel writes CANCEL; the Trainer's CancelCallback in the job process stops at the step's end,
    the job ends cancelled with the steps it did, and no adapter is left."""
    store = JobStore(project.settings.jobs_dir)
    teacher, job = submit_teacher(project, _request(tiny_lm, epochs=1000))
    running = _wait(store, job.id, lambda j: Progress.from_json(j.progress).done >= 2)
    assert Progress.from_json(running.progress).target == 3000  # ceil(10 / 4) x 1000
    asked = time.monotonic()
    store.cancel(job, grace=60)  # the callback stops it well within the grace: no signal needed
    assert time.monotonic() - asked < 30
    done = _wait(store, job.id, lambda j: j.state in ("succeeded", "failed", "cancelled"))
    progress = Progress.from_json(done.progress)
    assert done.state == "cancelled" and 2 <= progress.done < 3000, done.log_tail()
    assert "Traceback" not in done.log_tail() and "SIGTERM" not in done.log_tail()
    assert [t.status for t in list_teachers(project)] == ["cancelled"]
    assert not (project.settings.home / "teachers" / teacher.id / "adapter").exists()
