"""The LLM boundary: a small chat protocol and its OpenAI-compatible implementation.

``OpenAIChatClient`` talks to OpenAI, vLLM, Ollama or llama.cpp (a base URL) with one httpx2 POST per attempt.
Every attempt has a total deadline (connect + send + the whole answer), transient failures (408/409/429/5xx,
timeouts, lost connections, garbled answers) are retried here with backoff that honours Retry-After, and a
circuit breaker stops the job when the server stops answering altogether. The client also bounds
concurrency (a semaphore) and requests per minute, and counts tokens, retries and timeouts. The API key
comes from the environment or ``.streamlit/secrets.toml``; it goes in the request header, never stored or logged.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import json
import logging
import math
import os
import random
import time
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import httpx2

from japagen_core.errors import JapagenError
from japagen_core.generation.clean import CutText

log = logging.getLogger(__name__)

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
# Deadlines. A call asks for n=5 answers of up to 500 tokens: OpenAI answers in ~10 s, a slow local model
# (~10 tokens/s per sequence, batched) in ~50 s, so 120 s for the whole answer leaves room for a queue on a
# busy server; a retried call is still bounded: (max_retries + 1) x timeout + backoff (<= 8 s per retry).
# The breaker counts timeouts and lost connections in a row across the whole job (any answer, even an
# HTTP error, resets it). With the default 8 calls in flight, a silent server times out 8 calls together
# and the job fails after ~2 min; a refused connection fails it in seconds. With fewer calls in flight a
# streak also trips once it lasts BREAKER_WINDOW_S (at least 2 attempts), so a silent server never holds a
# job for much more than 2 x timeout. Slow models: raise --timeout, not the breaker.
# A server that answers, but only with 429 or 5xx (quota used up: OpenAI's insufficient_quota is a 429; a
# proxy whose backend is down), fails every call after all its retries. As many failed attempts in a row,
# across the job, as this many calls make with all their retries (at least two per call in flight) stop it,
# resumable, instead of a whole pass of failing calls and then its top-ups.
FAILED_CALLS_TO_STOP = 32
DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MAX_CONSECUTIVE_FAILURES = 8
BREAKER_WINDOW_S = 180.0
POOL_CONNECTIONS = 16  # HTTP connections per httpx2 pool (OpenAIChatClient)
RETRY_STATUSES = (408, 409, 429)  # and every 5xx, as the SDK does
BATCH_DISCOUNT = 0.5  # the OpenAI Batch API costs half the synchronous price


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
    timeout: float = DEFAULT_TIMEOUT_S  # total seconds per attempt: connect + send + the whole answer
    max_retries: int = 5
    max_consecutive_failures: int = DEFAULT_MAX_CONSECUTIVE_FAILURES  # the circuit breaker, across the job
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
            (0 < self.timeout <= 3600, "timeout must be between 0 and 3600 seconds"),
            (0 <= self.max_retries <= 20, "max_retries must be between 0 and 20"),
            (self.max_consecutive_failures >= 1, "max_consecutive_failures must be >= 1"),
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


OPENAI_URL = "https://api.openai.com/v1"


def endpoint(base_url: str | None) -> str:
    """The server a run calls: its base URL, or OpenAI itself. OPENAI_BASE_URL is not read (the OpenAI
    SDK would read it): a run's server is the one its settings name, so its provenance, its price and its
    queue say the truth, and a URL from the environment would skip the checks a base URL gets (no key or
    query in it; no key sent over plain http to another machine)."""
    if not base_url and os.environ.get("OPENAI_BASE_URL"):
        log.warning("OPENAI_BASE_URL is set but not used: a run calls OpenAI unless it names a base URL "
                    "(--base-url, or Base URL on the page)")  # fmt: skip
    return (base_url or OPENAI_URL).rstrip("/")


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


KEY_SOURCES = ("environment", "secrets", "dummy")


def find_api_key(base_url: str | None, *, environ=None, secrets_path: Path | None = None) -> tuple[str, str] | None:
    """Where the key a request to ``base_url`` sends comes from, and the key: ``("environment", key)`` from
    OPENAI_API_KEY, else ``("secrets", key)`` from ``.streamlit/secrets.toml``, else ``("dummy", key)`` for a
    local server; None when there is none. The pages say which one is sent from the first item alone."""
    env = os.environ if environ is None else environ
    if env.get("OPENAI_API_KEY"):
        return "environment", env["OPENAI_API_KEY"]
    if secrets_path is not None and secrets_path.exists():
        try:
            secrets = tomllib.loads(secrets_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise JapagenError(f"{secrets_path}: not valid TOML ({exc})") from None
        key = secrets.get("OPENAI_API_KEY") or (secrets.get("openai") or {}).get("api_key")
        if key:
            return "secrets", str(key)
    if is_local(base_url):
        return "dummy", "sk-local-no-key-needed"  # OpenAI-compatible local servers ignore it, the SDK needs one
    return None


def resolve_api_key(
    base_url: str | None, *, allow_insecure_http: bool = False, environ=None, secrets_path: Path | None = None
) -> str:
    """The key from OPENAI_API_KEY, else ``.streamlit/secrets.toml``; local servers get a dummy only when
    neither is set (a configured key is sent to a local server too).

    A plain-http URL on another machine would let anyone on the way read the key: refused unless the user
    confirmed it (``allow_insecure_http``: the CLI's --allow-insecure-http, a checkbox in the app)."""
    if sends_key_in_clear(base_url) and not allow_insecure_http:
        raise JapagenError(
            f"base URL {base_url!r} is plain http to another machine: the API key would travel unencrypted. "
            "Use https, or confirm with --allow-insecure-http (in the app: the checkbox under the base URL)"
        )
    found = find_api_key(base_url, environ=environ, secrets_path=secrets_path)
    if found is None:
        raise JapagenError(
            "no API key: set OPENAI_API_KEY in the environment or in .streamlit/secrets.toml "
            "(any value works for a local vLLM / Ollama / llama.cpp server, which you select with a base URL)"
        )
    return found[1]


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int, *, batch: bool = False) -> float | None:
    """USD for the tokens at the model's price (``batch``: the Batch API's half price); None when unknown."""
    price = PRICES.get(model) or next((p for m, p in PRICES.items() if model.startswith(m + "-")), None)
    if price is None:
        return None
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000 * (BATCH_DISCOUNT if batch else 1.0)


def chat_body(config: LLMConfig, messages: list[Message], n: int) -> dict:
    """The chat-completions request body for ``messages`` (the same for a direct call and a batch line)."""
    return {
        "model": config.model,
        "messages": messages,
        "n": n,
        "temperature": config.temperature,
        "top_p": config.top_p,
        "frequency_penalty": config.frequency_penalty,
        _token_param(config): config.max_tokens,
    }


def _token_param(config: LLMConfig) -> str:
    if config.token_param != "auto":
        return config.token_param
    return "max_completion_tokens" if config.base_url is None else "max_tokens"


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


class _Retry(Exception):
    """An attempt failed in a way another attempt may fix; ``after`` is the server's Retry-After, if any."""

    def __init__(self, error: LLMError, after: float | None = None):
        super().__init__(str(error))
        self.error, self.after = error, after


class OpenAIChatClient:
    """ChatClient over the OpenAI chat-completions API (any compatible server).

    ``stats`` counts attempts, retries, timeouts, connection errors, 429s and 5xx as they happen, for the
    job's progress.
    """

    def __init__(self, config: LLMConfig, api_key: str):
        self.config = config
        # One POST per call straight through httpx2 (the SDK's transport), not through the SDK: its request
        # path (typed options, header merging, auth hooks) costs ~1 ms of CPU per call, as much again as the
        # HTTP exchange itself, and at 600 calls a second on one event loop that CPU is the throughput.
        # What the SDK did here is done below: the base URL (not OPENAI_BASE_URL: see endpoint), bearer auth
        # and organization / project headers, a per-read timeout, and the same status-code mapping. No retries
        # inside a call: each failure must reach the breaker; the total deadline is asyncio.timeout in _attempt.
        self.base_url = endpoint(config.base_url)
        self._url = httpx2.URL(self.base_url + "/chat/completions")  # parsed once, not per call
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "japagen (OpenAI-compatible chat client; httpx2)",
        }
        for header, env in (("OpenAI-Organization", "OPENAI_ORG_ID"), ("OpenAI-Project", "OPENAI_PROJECT_ID")):
            if os.environ.get(env):
                self._headers[header] = os.environ[env]
        self._headers = httpx2.Headers(self._headers)
        # Several small connection pools instead of one: httpx2's pool scans all its connections for every
        # request it places and releases, so 64 connections in one pool cost ~25% more CPU per call than
        # 4 pools of 16. A call takes the least busy pool, which always has a free connection.
        pools = max(1, math.ceil(config.concurrency / POOL_CONNECTIONS))
        size = math.ceil(config.concurrency / pools)
        limits = httpx2.Limits(max_connections=size, max_keepalive_connections=size)
        self._pools = [
            httpx2.AsyncClient(timeout=config.timeout, limits=limits, follow_redirects=True) for _ in range(pools)
        ]
        self._busy = [0] * pools
        self._semaphore = asyncio.Semaphore(config.concurrency)
        self._rate = _RateLimiter(config.requests_per_minute)
        self._fatal: FatalLLMError | None = None  # once the key is refused, no further call is sent
        self._streak = 0  # timeouts and connection errors in a row, across all calls
        self._failing = 0  # attempts in a row answered 429/5xx, across all calls (an answer resets it)
        self._streak_since = 0.0
        self.stats = dict.fromkeys(
            ("attempts", "retries", "timeouts", "connection_errors", "rate_limited", "server_errors"), 0
        )

    @property
    def calls(self) -> int:
        return self.stats["attempts"]

    def _token_param(self) -> str:
        return _token_param(self.config)

    async def complete(
        self, messages: list[Message], *, n: int, on_send: Callable[[], None] | None = None
    ) -> Completion:
        """One call, retried as needed; ``on_send`` runs once, when its first attempt goes on the wire
        (after waiting for a slot and the rate limit), so a caller can journal what is in flight."""
        c = self.config
        body = json.dumps(chat_body(c, messages, n), ensure_ascii=False).encode()
        for attempt in range(c.max_retries + 1):
            try:
                return await self._attempt(body, on_send if attempt == 0 else None)
            except _Retry as retry:
                if attempt == c.max_retries:
                    raise retry.error from None
                self.stats["retries"] += 1
                await asyncio.sleep(_backoff(attempt, retry.after))
        raise AssertionError("unreachable")

    async def _attempt(self, body: bytes, on_send: Callable[[], None] | None) -> Completion:
        c = self.config
        async with self._semaphore:
            if self._fatal is not None:  # refused while this call waited for a slot
                raise self._fatal
            await self._rate.wait()
            if on_send is not None:
                on_send()
            self.stats["attempts"] += 1
            started = time.monotonic()
            try:
                pool = min(range(len(self._pools)), key=self._busy.__getitem__)
                self._busy[pool] += 1
                try:  # the total deadline: a per-read timeout alone lets a byte now and then hold the call
                    async with asyncio.timeout(c.timeout):
                        response = await self._pools[pool].post(self._url, content=body, headers=self._headers)
                finally:
                    self._busy[pool] -= 1
            except (TimeoutError, httpx2.TimeoutException):
                self.stats["timeouts"] += 1
                error = LLMError("timeout", f"no whole answer within {c.timeout:g} s")
                raise self._unanswered(started, error) from None
            except httpx2.TransportError as exc:
                self.stats["connection_errors"] += 1
                error = LLMError("connection", f"cannot reach {self.base_url}: {_short(exc) or type(exc).__name__}")
                raise self._unanswered(started, error) from None
            self._streak = 0  # the server answers, if not always well
            if response.status_code >= 400:
                raise self._status_error(response)
            self._failing = 0
        try:
            return _completion(json.loads(response.content), response.headers.get("x-request-id"))
        except ValueError as exc:  # malformed JSON
            raise _Retry(LLMError("bad_response", f"unreadable answer: {_short(exc)}")) from None
        except LLMError as exc:
            raise _Retry(exc) from None

    def _unanswered(self, started: float, error: LLMError) -> Exception:
        """A timeout or lost connection: retried, unless the breaker trips and the job stops."""
        if self._streak == 0:
            self._streak_since = started
        self._streak += 1
        lasted = time.monotonic() - self._streak_since
        limit = self.config.max_consecutive_failures
        if self._fatal is None and (self._streak >= limit or (self._streak >= 2 and lasted >= BREAKER_WINDOW_S)):
            where = self.config.base_url or self.base_url
            self._fatal = FatalLLMError(
                "not_answering",
                f"the LLM server at {where} is not answering ({self._streak} consecutive timeouts/connection "
                f"errors in {lasted:.0f} s; last: {error})",
            )
        return self._fatal if self._fatal is not None else _Retry(error)

    def _status_error(self, response: httpx2.Response) -> Exception:
        """An HTTP error status as the SDK maps it: 401/403 and 404 end the job, 408/409/429/5xx are retried
        (or as ``x-should-retry`` says), any other 4xx fails the call."""
        code = response.status_code
        detail = f"Error code: {code} - {_short(response.text) if response.content else ''}"
        if code in (401, 403):
            self._fatal = FatalLLMError("auth", f"the LLM server refused the API key ({code})")
            return self._fatal
        if code == 404:
            self._fatal = FatalLLMError("not_found", f"model {self.config.model!r} or endpoint not found at "
                                                     f"{self.base_url}")  # fmt: skip
            return self._fatal
        should = (response.headers.get("x-should-retry") or "").lower()
        if should == "false" or (should != "true" and code not in RETRY_STATUSES and code < 500):
            return LLMError("bad_request" if code == 400 else f"http_{code}", f"bad request ({code}): {detail}")
        if code == 429:
            self.stats["rate_limited"] += 1
            error = LLMError("rate_limited", "still rate-limited (429) after retries")
        else:
            self.stats["server_errors"] += code >= 500
            error = LLMError(f"http_{code}", f"server error {code} after retries")
        self._failing += 1
        # as many failed attempts in a row as FAILED_CALLS_TO_STOP calls make with all their retries
        limit = max(FAILED_CALLS_TO_STOP, 2 * self.config.concurrency) * (self.config.max_retries + 1)
        if self._fatal is None and self._failing >= limit:
            self._fatal = FatalLLMError(
                "server_failing",
                f"the LLM server at {self.base_url} answered {self._failing} attempts in a row with 429 or 5xx "
                f"(last: {code}); resume the job when it answers again",
            )
        return self._fatal if self._fatal is not None else _Retry(error, _retry_after(response.headers))

    async def close(self) -> None:
        for pool in self._pools:
            await pool.aclose()


def _retry_after(headers) -> float | None:
    """The server's Retry-After (ms, seconds or an HTTP date), when it is a sane wait (0-60 s)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            try:
                seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                seconds = -1.0
        if 0 <= seconds <= 60:
            return seconds
    return None


def _backoff(attempt: int, retry_after: float | None) -> float:
    """The wait before retry ``attempt + 1``: the server's Retry-After, else 0.5 s doubling up to 8 s, jittered."""
    if retry_after is not None:
        return retry_after
    return min(0.5 * 2**attempt, 8.0) * (1 - 0.25 * random.random())


def _completion(data: object, request_id: str | None) -> Completion:
    """Read a chat-completions answer; anything that is not one is a bad_response."""
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list):
        raise LLMError("bad_response", f"the answer has no choices: {str(data)[:200]}")
    texts = []
    for choice in choices:
        message = choice.get("message") if isinstance(choice, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        text = content if isinstance(content, str) else ""
        texts.append(CutText(text) if choice.get("finish_reason") == "length" else text)
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return Completion(
        texts=texts,
        request_id=request_id or (data.get("id") if isinstance(data.get("id"), str) else None),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
    )


def _short(exc: Exception) -> str:
    return str(exc).replace("\n", " ")[:200]
