"""The OpenAI-compatible client over real HTTP against the local test server."""

import asyncio
import time

import pytest

from japagen_core.errors import JapagenError
from japagen_core.generation.llm import (
    FatalLLMError,
    LLMConfig,
    LLMError,
    OpenAIChatClient,
    find_api_key,
    resolve_api_key,
)

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


def test_the_total_deadline_cuts_an_answer_dripped_one_byte_at_a_time(fake):
    fake.config.drip_interval = 0.2  # each read succeeds well within the timeout; the whole would take minutes
    fake.script = ["drip"]
    client = OpenAIChatClient(LLMConfig(model="m", base_url=fake.base_url, timeout=1.0, max_retries=0), "sk-test")

    async def go():
        try:
            return await client.complete(MESSAGES, n=1)
        finally:
            await client.close()

    start = time.monotonic()
    with pytest.raises(LLMError) as error:
        asyncio.run(go())
    elapsed = time.monotonic() - start
    assert error.value.reason == "timeout" and 1.0 <= elapsed < 1.5, elapsed
    assert client.stats["timeouts"] == 1 and client.stats["attempts"] == 1


def _calls(fake, count: int, **config):
    """``count`` calls at once through one client; each call's result or exception, and the client."""
    client = OpenAIChatClient(LLMConfig(model="m", base_url=fake.base_url, **config), "sk-test")

    async def go():
        try:
            return await asyncio.gather(*(client.complete(MESSAGES, n=1) for _ in range(count)), return_exceptions=True)
        finally:
            await client.close()

    return asyncio.run(go()), client


def test_the_breaker_stops_every_call_when_the_server_never_answers(fake):
    fake.config.fault_rate, fake.config.faults = 1.0, ("hang",)
    start = time.monotonic()
    results, client = _calls(fake, 6, concurrency=3, timeout=0.3, max_retries=5, max_consecutive_failures=4)
    elapsed = time.monotonic() - start
    assert all(isinstance(r, FatalLLMError) and r.reason == "not_answering" for r in results), results
    message = str(results[0])
    assert f"the LLM server at {fake.base_url} is not answering (4 consecutive timeouts/connection errors" in message
    assert "last: no whole answer within 0.3 s" in message
    # two rounds of 0.3 s and a backoff, not 6 calls x 6 attempts x 0.3 s
    assert elapsed < 2.5 and len(fake.requests) <= 6, (elapsed, len(fake.requests))
    assert client.stats["timeouts"] >= 4 and client.stats["retries"] >= 1


def test_any_answer_resets_the_breaker(fake):
    fake.script = ["hang", "hang", None] * 3
    client = OpenAIChatClient(
        LLMConfig(model="m", base_url=fake.base_url, timeout=0.2, max_retries=3, max_consecutive_failures=3), "sk"
    )

    async def go():  # three calls one after the other: 2 timeouts, then an answer, each time
        try:
            return [await client.complete(MESSAGES, n=1) for _ in range(3)]
        finally:
            await client.close()

    assert all(c.texts for c in asyncio.run(go()))  # 6 timeouts, never 3 in a row
    assert client.stats["timeouts"] == 6 and client.stats["retries"] == 6


def test_a_refused_connection_trips_the_breaker_in_seconds():
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = OpenAIChatClient(
        LLMConfig(model="m", base_url=f"http://127.0.0.1:{port}/v1", max_consecutive_failures=3), "sk-test"
    )

    async def go():
        try:
            return await client.complete(MESSAGES, n=1)
        finally:
            await client.close()

    start = time.monotonic()
    with pytest.raises(FatalLLMError, match=r"is not answering \(3 consecutive .*last: cannot reach"):
        asyncio.run(go())
    assert time.monotonic() - start < 5 and client.stats["connection_errors"] == 3


def test_retry_after_is_honoured_when_sane():
    from japagen_core.generation.llm import _backoff, _retry_after

    assert _retry_after({"retry-after": "2"}) == 2.0 and _retry_after({"retry-after-ms": "250"}) == 0.25
    assert _retry_after({"retry-after": "600"}) is None and _retry_after({"retry-after": "soon"}) is None
    assert _retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None  # in the past
    assert _backoff(0, 1.5) == 1.5 and 0.375 <= _backoff(1, None) <= 1.0 and _backoff(10, None) <= 8.0


def test_the_deadline_settings_are_checked():
    for bad in ({"timeout": 0}, {"max_retries": -1}, {"max_consecutive_failures": 0}):
        with pytest.raises(JapagenError, match=next(iter(bad))):
            LLMConfig(**bad)


def test_find_api_key_says_where_the_sent_key_comes_from(tmp_path):
    local = "http://127.0.0.1:8000/v1"
    # a configured key goes to a local server too; the dummy only when none is configured
    assert find_api_key(local, environ={"OPENAI_API_KEY": "sk-env"}) == ("environment", "sk-env")
    assert find_api_key(local, environ={})[0] == "dummy"
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[openai]\napi_key = "sk-file"\n', encoding="utf-8")
    assert find_api_key(None, environ={}, secrets_path=secrets) == ("secrets", "sk-file")
    assert find_api_key("https://api.example.com/v1", environ={}) is None
    for url, environ in ((local, {"OPENAI_API_KEY": "sk-env"}), (local, {}), (None, {"OPENAI_API_KEY": "k"})):
        assert resolve_api_key(url, environ=environ) == find_api_key(url, environ=environ)[1]  # one lookup
