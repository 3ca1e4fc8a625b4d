"""The PROMPTING baseline against the local OpenAI-compatible test server: zero- and few-shot, unparsable
answers counted, scores for JSTS, resume from parts."""

import asyncio
from dataclasses import asdict, replace

import pytest
from sklearn import metrics as skm

from japagen_core.generation.llm import LLMConfig, OpenAIChatClient
from japagen_core.review.snapshots import read_snapshot
from japagen_core.training.config import TrainingError
from japagen_core.training.prompting import PROMPTING_LLM, PromptingRequest, plan_prompting, run_prompting
from japagen_core.training.store import evaluation_predictions, list_models
from tests.openai_server import FakeOpenAI, ServerConfig
from tests.training_data import setup_jnli, setup_jsts


@pytest.fixture
def fake():
    server = FakeOpenAI(ServerConfig()).start()
    yield server
    server.stop()


def run(project, plan, parts_dir, fake):
    llm = LLMConfig(**plan.llm)

    async def main():
        client = OpenAIChatClient(llm, "sk-test")
        try:
            return await run_prompting(project, asdict(plan), job_id="job-p", parts_dir=parts_dir, client=client,
                                       report=lambda s: None, cancelled=lambda: False)  # fmt: skip
        finally:
            await client.close()

    return asyncio.run(main())


def request(task, fake, **changes):
    llm = asdict(replace(PROMPTING_LLM, model="test-model", base_url=fake.base_url, max_retries=0))
    return PromptingRequest(task=task, llm=llm, **changes)


def test_zero_shot_counts_unparsable_answers_as_wrong(project, tmp_path, fake):
    ids = setup_jnli(project, tmp_path)
    plan = plan_prompting(project, request("jnli", fake, seeds=2))
    assert (plan.setting, plan.eval_dataset, plan.fewshot_snapshot) == ("zero-shot", ids["valid"], None)
    fake.script = ["non_japanese", "non_japanese", "500"]  # two answers in English, one failed call
    parts = tmp_path / "parts"
    parts.mkdir()
    result = run(project, plan, parts, fake)
    assert result["state"] == "succeeded" and len(fake.requests) == 2 * 15 + 0
    gold = read_snapshot(project, plan.eval_snapshot)
    models = list_models(project)
    assert [(m["kind"], m["method"], m["setting"], m["seed"]) for m in models] == [
        ("prompting", "prompting", "zero-shot", 0), ("prompting", "prompting", "zero-shot", 1)]  # fmt: skip
    first = models[0]
    assert first["metrics"]["unparsable"] == 3 and first["metrics"]["failures"] == {"unparsable": 2, "http_500": 1}
    answers = evaluation_predictions(project, first["id"], ids["valid"])
    assert answers["predicted"].isna().sum() == 3 and answers["raw"].str.contains("English").sum() == 2
    predicted = [p if isinstance(p, str) else "(unparsable)" for p in answers["predicted"]]
    assert first["score"] == pytest.approx(skm.accuracy_score(gold["label"], predicted))
    assert models[1]["metrics"]["unparsable"] == 0 and first["base_model"].startswith("test-model @ http://")

    before = len(fake.requests)
    assert run(project, plan, parts, fake)["state"] == "succeeded"  # resumed: every seed is stored already
    assert len(fake.requests) == before


def test_few_shot_puts_k_gold_examples_per_class_before_the_question(project, tmp_path, fake):
    ids = setup_jnli(project, tmp_path)
    plan = plan_prompting(project, request("jnli", fake, shots=2, seeds=1))
    assert plan.setting == "few-shot" and plan.fewshot_dataset == ids["train"]
    parts = tmp_path / "parts"
    parts.mkdir()
    run(project, plan, parts, fake)
    messages = fake.requests[0]["body"]["messages"]
    assert [m["role"] for m in messages] == ["system", *["user", "assistant"] * 6, "user"]
    answers = sorted(m["content"] for m in messages if m["role"] == "assistant")
    assert answers == ["contradiction", "contradiction", "entailment", "entailment", "neutral", "neutral"]
    assert all(r["body"]["messages"][1:-1] == messages[1:-1] for r in fake.requests)  # one draw per seed
    [model] = list_models(project)
    assert model["train_snapshots"] == [plan.fewshot_snapshot] and len(model["config"]["fewshot_rows"]) == 6


def test_jsts_answers_are_grades_scored_by_spearman(project, tmp_path, fake):
    setup_jsts(project, tmp_path)
    plan = plan_prompting(project, request("jsts", fake, seeds=1))
    parts = tmp_path / "parts"
    parts.mkdir()
    run(project, plan, parts, fake)
    [model] = list_models(project)
    answers = evaluation_predictions(project, model["id"], plan.eval_dataset)
    assert model["metric"] == "spearman" and set(answers["score"]) <= {0.0, 1.0, 2.0, 3.0, 4.0, 5.0}
    assert set(answers["predicted"]) <= {"0", "1", "2", "3", "4", "5"}


def test_prompting_requests_are_checked(project, tmp_path, fake):
    ids = setup_jnli(project, tmp_path)
    with pytest.raises(TrainingError, match="fewer"):
        plan_prompting(project, request("jnli", fake, shots=11))
    with pytest.raises(TrainingError, match="few-shot examples would come from the evaluation split"):
        plan_prompting(project, request("jnli", fake, shots=1, fewshot_dataset=ids["valid"], eval_dataset=ids["valid"]))
    with pytest.raises(TrainingError, match="must be a gold dataset"):
        plan_prompting(project, request("jnli", fake, eval_dataset=ids["synthetic"]))


def test_a_corrupt_part_is_set_aside_and_its_chunk_asked_again(project, tmp_path, fake):
    ids = setup_jnli(project, tmp_path)
    plan = plan_prompting(project, request("jnli", fake, seeds=1))
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "s000-part-00000.parquet").write_bytes(b"")  # what a crash of the machine can leave
    reports = []

    async def main():
        client = OpenAIChatClient(LLMConfig(**plan.llm), "sk-test")
        try:
            return await run_prompting(project, asdict(plan), job_id="job-p", parts_dir=parts, client=client,
                                       report=reports.append, cancelled=lambda: False)  # fmt: skip
        finally:
            await client.close()

    assert asyncio.run(main())["state"] == "succeeded"
    assert (parts / "s000-part-00000.parquet.corrupt").exists() and len(fake.requests) == 15
    answers = evaluation_predictions(project, list_models(project)[0]["id"], ids["valid"])
    assert len(answers) == 15
    assert reports[-1]["done"] == reports[-1]["target"] == 15 and reports[-1]["unit"] == "examples"
