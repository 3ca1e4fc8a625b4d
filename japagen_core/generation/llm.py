"""The LLM boundary: a small chat protocol and its OpenAI-compatible implementation.

``OpenAIChatClient`` talks to OpenAI, vLLM, Ollama or llama.cpp through ``AsyncOpenAI(base_url=...)``.
The SDK retries 408/409/429/5xx with backoff and honours Retry-After; on top of that the client bounds
concurrency (a semaphore) and requests per minute, and counts tokens. The API key comes from the
environment or ``.streamlit/secrets.toml``; it is handed to the SDK and never stored or logged.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import time
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import httpx2
import openai

from japagen_core.errors import JapagenError

Message = dict[str, str]
# The paper's sampling settings (temperature 1.2, top-p 1.0, frequency penalty 0.02, 500 max tokens,
# five examples per call).
PAPER_DEFAULTS = {"temperature": 1.2, "top_p": 1.0, "frequency_penalty": 0.02, "max_tokens": 500, "n": 5}
# USD per million (input, output) tokens, for the cost estimate; unknown models cost "unknown".
PRICES = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-3.5-turbo": (0.50, 1.50),
}


class LLMError(JapagenError):
    """A call failed after the SDK's retries; the unit is recorded as failed and the run goes on."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


class FatalLLMError(LLMError):
    """A failure no retry can fix (bad key, unknown model): the job stops at once."""


@dataclass(frozen=True)
class LLMConfig:
    """What to call and how. ``base_url`` None means OpenAI itself."""

    model: str = "gpt-4o-mini"
    base_url: str | None = None
    temperature: float = PAPER_DEFAULTS["temperature"]
    top_p: float = PAPER_DEFAULTS["top_p"]
    frequency_penalty: float = PAPER_DEFAULTS["frequency_penalty"]
    max_tokens: int = PAPER_DEFAULTS["max_tokens"]
    n: int = PAPER_DEFAULTS["n"]
    concurrency: int = 8
    requests_per_minute: int = 0  # 0: no limit
    timeout: float = 60.0
    max_retries: int = 5
    token_param: str = "auto"  # "auto": max_completion_tokens for OpenAI, max_tokens for other servers
    allow_insecure_http: bool = False  # the user confirmed sending the key over plain http to another host

    def __post_init__(self):
        checks = [
            (0 <= self.temperature <= 2, "temperature must be between 0 and 2"),
            (0 < self.top_p <= 1, "top_p must be in (0, 1]"),
            (-2 <= self.frequency_penalty <= 2, "frequency_penalty must be between -2 and 2"),
            (self.max_tokens > 0, "max_tokens must be positive"),
            (1 <= self.n <= 128, "n must be between 1 and 128"),
            (1 <= self.concurrency <= 1024, "concurrency must be between 1 and 1024"),
            (self.requests_per_minute >= 0, "requests_per_minute must be >= 0"),
            (self.token_param in ("auto", "max_tokens", "max_completion_tokens"), "bad token_param"),
            (bool(self.model.strip()), "model must not be empty"),
            (self.base_url is None or _url_problem(self.base_url) is None, _url_problem(self.base_url or "")),
        ]
        for ok, message in checks:
            if not ok:
                raise JapagenError(f"LLM settings: {message} (got {asdict(self)})")

    def params(self) -> dict:
        """The sampling parameters recorded with every example."""
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "frequency_penalty": self.frequency_penalty,
            "max_tokens": self.max_tokens,
            "n": self.n,
        }


@dataclass(frozen=True)
class Completion:
    texts: list[str]
    request_id: str | None
    prompt_tokens: int
    completion_tokens: int


class ChatClient(Protocol):
    async def complete(self, messages: list[Message], *, n: int) -> Completion: ...


def _url_problem(url: str) -> str | None:
    """Why a base URL cannot be used, or None. Keys belong in OPENAI_API_KEY, never in a URL (it is stored)."""
    try:
        parts = urlparse(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return f"base URL {url!r} is not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"base URL {url!r} must look like http://host:port/v1"
    if parts.username or parts.password or parts.query:
        return "base URL must not carry credentials or a query: put the key in OPENAI_API_KEY"
    return None


def is_local(base_url: str | None) -> bool:
    host = urlparse(base_url).hostname if base_url else None
    return host in ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def sends_key_in_clear(base_url: str | None) -> bool:
    """Whether a request to ``base_url`` would carry the API key unencrypted to another machine."""
    if not base_url:
        return False  # OpenAI itself, over https
    parts = urlparse(base_url)
    if parts.scheme != "http" or is_local(base_url):
        return False
    try:
        return not ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:  # a host name
        return True


def resolve_api_key(
    base_url: str | None, *, allow_insecure_http: bool = False, environ=None, secrets_path: Path | None = None
) -> str:
    """The key from OPENAI_API_KEY, else ``.streamlit/secrets.toml``; local servers get a dummy.

    A plain-http URL on another machine would let anyone on the way read the key: refused unless the user
    confirmed it (``allow_insecure_http``: the CLI's --allow-insecure-http, a checkbox in the app)."""
    if sends_key_in_clear(base_url) and not allow_insecure_http:
        raise JapagenError(
            f"base URL {base_url!r} is plain http to another machine: the API key would travel unencrypted. "
            "Use https, or confirm with --allow-insecure-http (in the app: the checkbox under the base URL)"
        )
    env = os.environ if environ is None else environ
    if env.get("OPENAI_API_KEY"):
        return env["OPENAI_API_KEY"]
    if secrets_path is not None and secrets_path.exists():
        try:
            secrets = tomllib.loads(secrets_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise JapagenError(f"{secrets_path}: not valid TOML ({exc})") from None
        key = secrets.get("OPENAI_API_KEY") or (secrets.get("openai") or {}).get("api_key")
        if key:
            return str(key)
    if is_local(base_url):
        return "sk-local-no-key-needed"  # OpenAI-compatible local servers ignore it, the SDK needs one
    raise JapagenError(
        "no API key: set OPENAI_API_KEY in the environment or in .streamlit/secrets.toml "
        "(any value works for a local vLLM / Ollama / llama.cpp server, which you select with a base URL)"
    )


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    price = PRICES.get(model) or next((p for m, p in PRICES.items() if model.startswith(m + "-")), None)
    if price is None:
        return None
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000


class _RateLimiter:
    """Spaces request starts so that at most ``per_minute`` begin in any minute (0: no limit)."""

    def __init__(self, per_minute: int):
        self._interval = 60.0 / per_minute if per_minute else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self._interval:
            return
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
        if delay > 0:
            await asyncio.sleep(delay)


class OpenAIChatClient:
    """ChatClient over the OpenAI chat-completions API (any compatible server)."""

    def __init__(self, config: LLMConfig, api_key: str):
        self.config = config
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=config.base_url or None,
            timeout=config.timeout,
            max_retries=config.max_retries,
        )
        self._semaphore = asyncio.Semaphore(config.concurrency)
        self._rate = _RateLimiter(config.requests_per_minute)
        self._fatal: FatalLLMError | None = None  # once the key is refused, no further call is sent
        self.calls = 0

    def _token_param(self) -> str:
        if self.config.token_param != "auto":
            return self.config.token_param
        return "max_completion_tokens" if self.config.base_url is None else "max_tokens"

    async def complete(self, messages: list[Message], *, n: int) -> Completion:
        c = self.config
        kwargs = {
            "model": c.model,
            "messages": messages,
            "n": n,
            "temperature": c.temperature,
            "top_p": c.top_p,
            "frequency_penalty": c.frequency_penalty,
            self._token_param(): c.max_tokens,
        }
        for attempt in range(c.max_retries + 1):
            if self._fatal is not None:
                raise self._fatal
            try:
                return await self._complete_once(kwargs)
            except FatalLLMError as exc:
                self._fatal = exc
                raise
            except LLMError as exc:  # the SDK retries HTTP errors; a garbled 200 answer is retried here
                if exc.reason != "bad_response" or attempt == c.max_retries:
                    raise
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
        raise AssertionError("unreachable")

    async def _complete_once(self, kwargs: dict) -> Completion:
        c = self.config
        async with self._semaphore:
            if self._fatal is not None:  # refused while this call waited for a slot
                raise self._fatal
            await self._rate.wait()
            self.calls += 1
            try:
                # The SDK's generic request method: its retries, Retry-After, auth and timeouts, without
                # the typed-params transform and response models (~3 ms of CPU per call, which capped
                # throughput at high concurrency). The body is the chat-completions JSON as documented.
                response = await self._client.post("/chat/completions", body=kwargs, cast_to=httpx2.Response)
                data = json.loads(response.content)
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise FatalLLMError("auth", f"the LLM server refused the API key ({exc.status_code})") from None
            except openai.NotFoundError:
                where = self._client.base_url
                raise FatalLLMError("not_found", f"model {c.model!r} or endpoint not found at {where}") from None
            except openai.BadRequestError as exc:
                raise LLMError("bad_request", f"bad request: {_short(exc)}") from None
            except openai.RateLimitError:
                raise LLMError("rate_limited", "still rate-limited (429) after retries") from None
            except openai.APITimeoutError:
                raise LLMError("timeout", f"no answer within {c.timeout:.0f} s after retries") from None
            except openai.APIConnectionError as exc:
                raise LLMError("connection", f"cannot reach {self._client.base_url}: {_short(exc)}") from None
            except openai.APIStatusError as exc:
                raise LLMError(f"http_{exc.status_code}", f"server error {exc.status_code} after retries") from None
            except (openai.APIError, ValueError) as exc:  # malformed JSON and other unreadable answers
                raise LLMError("bad_response", f"unreadable answer: {_short(exc)}") from None
        return _completion(data, response.headers.get("x-request-id"))

    async def close(self) -> None:
        await self._client.close()


def _completion(data: object, request_id: str | None) -> Completion:
    """Read a chat-completions answer; anything that is not one is a bad_response."""
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list):
        raise LLMError("bad_response", f"the answer has no choices: {str(data)[:200]}")
    texts = []
    for choice in choices:
        message = choice.get("message") if isinstance(choice, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        texts.append(content if isinstance(content, str) else "")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return Completion(
        texts=texts,
        request_id=request_id or (data.get("id") if isinstance(data.get("id"), str) else None),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
    )


def _short(exc: Exception) -> str:
    return str(exc).replace("\n", " ")[:200]
