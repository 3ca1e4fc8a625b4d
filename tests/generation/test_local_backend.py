"""The local backend on a tiny random causal LM built in the test (no hub): the ChatClient protocol,
batching, sampling parameters, and a whole run landing with the local model in its provenance."""

import asyncio
import json
import time
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from japagen_core.errors import JapagenError
from japagen_core.generation.llm import FatalLLMError, LLMConfig
from japagen_core.generation.local import FrequencyPenalty, LocalChatClient, LocalConfig, check_model_name
from japagen_core.generation.run import RunConfig, Runner, ingest
from tests.teacher.tiny_lm import build_tiny_causal_lm

SYSTEM = {"role": "system", "content": "あなたは通販サイトの利用者です。"}


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-causal-lm") / "model")


def _client(model: Path, **llm) -> LocalChatClient:
    settings = {"model": str(model), "max_tokens": 12, **llm}
    return LocalChatClient(LLMConfig(**settings), LocalConfig(batch_size=8))


def _ask(client, conversations, n):
    async def go():
        try:
            return await asyncio.gather(*(client.complete(m, n=n) for m in conversations))
        finally:
            await client.close()

    return asyncio.run(go())


def test_n_answers_per_call_with_tokens_and_ids(tiny_lm):
    client = _client(tiny_lm)
    conversations = [[SYSTEM, {"role": "user", "content": f"レビューを{i}件書いてください。"}] for i in range(3)]
    completions = _ask(client, conversations, n=5)
    assert [len(c.texts) for c in completions] == [5, 5, 5]
    assert len({c.request_id for c in completions}) == 3 and all(c.request_id.startswith("local-") for c in completions)
    for c in completions:
        assert c.prompt_tokens == len(
            client.tokenizer(client.render(conversations[0]), add_special_tokens=False)["input_ids"]
        )
        assert 5 <= c.completion_tokens <= 5 * 12
        assert all(isinstance(t, str) for t in c.texts)
    assert client.calls == 3
    assert client.provenance == {"backend": "local", "local_model": str(tiny_lm), "adapter": None, "adapter_sha": None,
                                 "device": "cpu", "dtype": "float32"}  # fmt: skip


def test_batched_generation_equals_one_prompt_at_a_time(tiny_lm):
    """Left padding is right: greedy answers of prompts of different lengths do not depend on the batch."""
    client = _client(tiny_lm, temperature=0.0, frequency_penalty=0.0)
    prompts = [client.render([SYSTEM, {"role": "user", "content": "犬" * k}]) for k in (1, 7, 20, 3)]
    batched = client.generate(prompts)
    alone = [client.generate([p])[0] for p in prompts]
    assert batched == alone
    assert len({p for _, p, _ in batched}) == 4  # really different prompt lengths


def test_frequency_penalty_counts_only_the_answer():
    scores = torch.zeros(1, 5)
    ids = torch.tensor([[1, 1, 2, 3, 3]])  # prompt [1, 1, 2], answer [3, 3]
    out = FrequencyPenalty(0.5, prompt_length=3)(ids, scores)
    assert out.tolist() == [[0.0, 0.0, 0.0, -1.0, 0.0]]
    assert FrequencyPenalty(0.5, prompt_length=5)(ids, scores) is scores


def test_a_closed_client_stops_generating_at_once(tiny_lm):
    client = _client(tiny_lm, max_tokens=400)
    client._stop.set()  # what close() does while a batch is being generated
    started = time.monotonic()
    [(_, _, completion_tokens)] = client.generate([client.render([SYSTEM])])
    assert completion_tokens <= 1 and time.monotonic() - started < 2


def test_settings_and_models_that_cannot_be_used_are_named(tiny_lm, tmp_path):
    with pytest.raises(JapagenError, match="batch_size 0"):
        LocalConfig(batch_size=0)
    with pytest.raises(JapagenError, match="device 'tpu'"):
        LocalConfig(device="tpu")
    with pytest.raises(JapagenError, match="not a LoRA adapter folder"):
        LocalConfig(adapter=str(tmp_path))
    with pytest.raises(JapagenError, match="no such model folder"):
        check_model_name(str(tmp_path / "nothing"))
    check_model_name("Qwen/Qwen2.5-0.5B-Instruct")  # a Hub name: checked when it is loaded
    with pytest.raises(FatalLLMError, match="cannot load the local model"):
        LocalChatClient(LLMConfig(model=str(tmp_path)), LocalConfig())
    bare = tmp_path / "no-template"
    build_tiny_causal_lm(bare)
    config = json.loads((bare / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (bare / "tokenizer_config.json").write_text(json.dumps(config))
    (bare / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(FatalLLMError, match="no chat template"):
        LocalChatClient(LLMConfig(model=str(bare)), LocalConfig())


@pytest.mark.parametrize("task", ["marc_ja", "jnli"])
def test_a_run_with_the_local_backend_lands_with_the_model_in_every_example(project, tmp_path, tiny_lm, task):
    llm = asdict(LLMConfig(model=str(tiny_lm), max_tokens=16, n=3, concurrency=4))
    cfg = RunConfig(mode="generate", task=task, run_id=f"{task}-local", llm=llm, per_label=4, backend="local",
                    local={"batch_size": 16})  # fmt: skip
    cfg.check(project)
    parts = tmp_path / "parts"
    parts.mkdir()

    async def go():
        client = LocalChatClient(LLMConfig(**cfg.llm), LocalConfig(**cfg.local))
        try:
            return await Runner(project, cfg, client, parts).run()
        finally:
            await client.close()

    assert asyncio.run(go()) == "succeeded"
    summary = ingest(project, cfg, parts, job_id="test")
    labels = project.registry[task].label_names
    assert summary["rows"] == 4 * len(labels) and summary["prompt_tokens"] > 0 and summary["cost_usd"] is None
    with project.db.transaction() as con:
        rows = con.execute(
            "SELECT text, text_b, provenance FROM examples WHERE dataset_id = ?", [cfg.run_id]
        ).fetchall()
    for text, text_b, provenance in rows:
        p = json.loads(provenance)
        assert p["backend"] == "local" and p["local_model"] == str(tiny_lm) and p["model"] == str(tiny_lm)
        assert p["adapter"] is None and p["params"]["n"] == 3 and p["teacher"] is None
        assert text and (text_b is not None) == (task == "jnli")
