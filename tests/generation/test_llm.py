"""The OpenAI-compatible client over real HTTP against the local test server."""

import asyncio
import time

import pytest

from japagen_core.errors import JapagenError
from japagen_core.generation.llm import FatalLLMError, LLMConfig, LLMError, OpenAIChatClient, resolve_api_key

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "キャプションを書いてください。"}]


def _complete(fake, n=3, **config):
    async def go():
        client = OpenAIChatClient(LLMConfig(model="m", base_url=fake.base_url, **config), "sk-test")
        try:
            return await client.complete(MESSAGES, n=n)
        finally:
            await client.close()

    return asyncio.run(go())


def test_n_choices_tokens_and_request_id(fake):
    completion = _complete(fake, n=3)
    assert len(completion.texts) == 3 and all("が" in t for t in completion.texts)
    assert completion.request_id == "req-1" and completion.prompt_tokens == 40
    body = fake.requests[0]["body"]
    assert body["n"] == 3 and body["temperature"] == 1.2 and body["top_p"] == 1.0
    assert body["frequency_penalty"] == 0.02 and body["max_tokens"] == 500  # local servers read max_tokens


def test_openai_itself_gets_max_completion_tokens():
    assert OpenAIChatClient(LLMConfig(), "sk-x")._token_param() == "max_completion_tokens"


@pytest.mark.parametrize("fault", ["429", "500", "bad_json"])
def test_transient_faults_are_retried(fake, fault):
    fake.script = [fault, fault]
    completion = _complete(fake, n=1, max_retries=3)
    assert completion.texts and len(fake.requests) == 3


def test_a_timeout_after_retries_is_a_unit_failure(fake):
    fake.config.timeout_sleep = 1.0
    fake.script = ["timeout"] * 3
    with pytest.raises(LLMError) as error:
        _complete(fake, timeout=0.2, max_retries=1)
    assert error.value.reason == "timeout" and not isinstance(error.value, FatalLLMError)


def test_a_bad_key_fails_at_once_without_retries(fake):
    fake.config.api_key = "sk-right"
    start = time.monotonic()
    with pytest.raises(FatalLLMError, match="refused the API key"):
        _complete(fake, max_retries=5)
    assert len(fake.requests) == 1 and time.monotonic() - start < 2


def test_empty_choices_come_back_empty(fake):
    fake.script = ["empty_choices"]
    assert _complete(fake, n=2).texts == []


def test_the_key_comes_from_env_or_secrets(tmp_path):
    assert resolve_api_key(None, environ={"OPENAI_API_KEY": "sk-env"}) == "sk-env"
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('OPENAI_API_KEY = "sk-file"\n', encoding="utf-8")
    assert resolve_api_key(None, environ={}, secrets_path=secrets) == "sk-file"
    assert resolve_api_key("http://127.0.0.1:8000/v1", environ={}).startswith("sk-local")
    with pytest.raises(JapagenError, match="no API key: set OPENAI_API_KEY"):
        resolve_api_key("https://api.example.com/v1", environ={}, secrets_path=tmp_path / "none.toml")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("localhost:8000/v1", "must look like http://host:port/v1"),
        ("http://[bad", "is not a URL"),
        ("http://user:sk-secret@host/v1", "must not carry credentials"),
        ("https://host/v1?api-key=sk-secret", "must not carry credentials"),
    ],
)
def test_bad_base_urls_are_refused_before_anything_is_stored(url, message):
    with pytest.raises(JapagenError, match=message):
        LLMConfig(base_url=url)
