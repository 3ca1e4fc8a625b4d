"""Benchmark: generation throughput against the local test server, japagen against the bare client loops.

The test server (tests/openai_server.py, its own process) answers every request after ``--latency``
seconds, so the ideal rate at concurrency C is C / latency requests per second. In one process and
interleaved, each repeat runs:
- **japagen**: a real generation run (Runner + the engine's OpenAI client over HTTP, parsing, cleaning,
  Parquet parts, progress), timed from the first request to the last part written;
- **bare httpx loop**: what a user would write by hand, ``httpx2.AsyncClient.post`` under a semaphore,
  JSON decoded, the answers' texts taken out (no storage at all);
- **SDK loop**: the typed ``AsyncOpenAI().chat.completions.create`` under the same semaphore.

Each run sends ``rounds x concurrency`` requests (default 100 x 64: 10 s of ideal time at 100 ms).
Prints the machine load, p50/p95 of the run times and the share of ideal at p50, plus the storage
overhead per example (writing parts while running, ingesting into DuckDB at the end).
Target: japagen >= 80% of ideal at concurrency 64 and 100 ms latency.

    .venv/bin/python bench/generation.py [--latency 0.1] [--rounds 100] [--concurrency 64] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict
from pathlib import Path

import httpx2
import openai

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from japagen_core.generation import run as run_module  # noqa: E402
from japagen_core.generation.llm import LLMConfig, OpenAIChatClient  # noqa: E402
from japagen_core.generation.run import RunConfig, Runner, ingest  # noqa: E402
from japagen_core.project import Project  # noqa: E402
from japagen_core.settings import Settings  # noqa: E402

N = 5  # choices per call, as the paper's runs ask
TARGET = 0.8
MESSAGES = [
    {"role": "system", "content": "あなたは日本語の商品レビューを書く人です。"},
    {"role": "user", "content": "ポジティブな商品レビューを1件書いてください。"},
]


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.openai_server", "--port", str(port), "--latency", str(latency)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    for _ in range(200):
        try:
            urllib.request.urlopen(urllib.request.Request(f"{base}/chat/completions", data=b"{}"), timeout=1)
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            time.sleep(0.1)
    return proc, base


def japagen_run(project: Project, base_url: str, concurrency: int, requests: int, work: Path, tag: str) -> dict:
    per_label = requests * N // 2  # marc_ja has two labels; one request gives N examples
    llm = LLMConfig(model="bench", base_url=base_url, concurrency=concurrency, n=N, timeout=30)
    cfg = RunConfig(mode="generate", task="marc_ja", run_id=f"bench-{tag}", llm=asdict(llm), per_label=per_label)
    parts = work / cfg.run_id
    parts.mkdir()
    write_time = 0.0
    original = Runner._write_part

    def timed_write(self, *args, **kwargs):
        nonlocal write_time
        t = time.perf_counter()
        original(self, *args, **kwargs)
        write_time += time.perf_counter() - t

    async def go():
        client = OpenAIChatClient(llm, "sk-bench")
        try:
            runner = Runner(project, cfg, client, parts)
            start = time.perf_counter()
            state = await runner.run()
            return state, time.perf_counter() - start, client.calls
        finally:
            await client.close()

    Runner._write_part = timed_write
    try:
        state, seconds, calls = asyncio.run(go())
    finally:
        Runner._write_part = original
    t = time.perf_counter()
    summary = ingest(project, cfg, parts, job_id="bench")
    ingest_time = time.perf_counter() - t
    if state != "succeeded" or summary["rows"] != per_label * 2:
        raise SystemExit(f"the japagen run did not complete: {state}, {summary}")
    return {
        "seconds": seconds,
        "requests": calls,
        "write_ms_per_example": write_time * 1000 / summary["rows"],
        "ingest_ms_per_example": ingest_time * 1000 / summary["rows"],
    }


def httpx_run(base_url: str, concurrency: int, requests: int) -> dict:
    """The loop a user writes by hand: POST, decode, take the texts out."""
    body = {"model": "bench", "messages": MESSAGES, "n": N, "temperature": 1.0, "max_tokens": 500}

    async def go():
        limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx2.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
            semaphore = asyncio.Semaphore(concurrency)
            texts: list[str] = []

            async def one():
                async with semaphore:
                    response = await client.post("/chat/completions", json=body, headers={"Authorization": "Bearer x"})
                    response.raise_for_status()
                    texts.extend(c["message"]["content"] for c in response.json()["choices"])

            start = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(requests)))
            return time.perf_counter() - start, len(texts)

    seconds, texts = asyncio.run(go())
    return {"seconds": seconds, "requests": requests, "texts": texts}


def sdk_run(base_url: str, concurrency: int, requests: int) -> dict:
    """The SDK's typed loop: ``chat.completions.create`` with its own retries and response models."""

    async def go():
        client = openai.AsyncOpenAI(api_key="sk-bench", base_url=base_url, timeout=30)
        try:
            semaphore = asyncio.Semaphore(concurrency)
            texts: list[str] = []

            async def one():
                async with semaphore:
                    answer = await client.chat.completions.create(
                        model="bench", messages=MESSAGES, n=N, temperature=1.0, max_tokens=500
                    )
                    texts.extend(c.message.content for c in answer.choices)

            start = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(requests)))
            return time.perf_counter() - start, len(texts)
        finally:
            await client.close()

    seconds, texts = asyncio.run(go())
    return {"seconds": seconds, "requests": requests, "texts": texts}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def stats(runs: list[dict], ideal_rps: float) -> dict:
    seconds = [r["seconds"] for r in runs]
    p50 = statistics.median(seconds)
    rate = runs[0]["requests"] / p50
    return {
        "seconds_p50": round(p50, 2),
        "seconds_p95": round(percentile(seconds, 0.95), 2),
        "requests_per_s_p50": round(rate, 1),
        "of_ideal_p50": round(rate / ideal_rps, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="the test server's seconds per answer")
    parser.add_argument("--rounds", type=int, default=100, help="requests per concurrency slot")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each loop, interleaved")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    requests = args.concurrency * args.rounds
    ideal = args.concurrency / args.latency
    load_before = os.getloadavg()
    proc, base_url = start_server(args.latency)
    runs: dict[str, list[dict]] = {"japagen": [], "httpx": [], "sdk": []}
    try:
        with tempfile.TemporaryDirectory() as home:
            project = Project.open(Settings(home=Path(home), prompts_dir=Settings.from_env().prompts_dir))
            httpx_run(base_url, args.concurrency, args.concurrency)  # warm the server's threads and the OS
            for repeat in range(args.repeats):
                runs["japagen"].append(
                    japagen_run(project, base_url, args.concurrency, requests, Path(home), f"r{repeat}")
                )
                runs["httpx"].append(httpx_run(base_url, args.concurrency, requests))
                runs["sdk"].append(sdk_run(base_url, args.concurrency, requests))
    finally:
        proc.terminate()
        proc.wait()
    summary = {name: stats(r, ideal) for name, r in runs.items()}
    jp = summary["japagen"]
    name = f"generation, concurrency {args.concurrency}, {args.latency * 1000:.0f} ms latency, {requests} requests"
    cases = [
        {
            "name": f"{name}: vs bare httpx loop",
            "japagen": jp,
            "baseline": summary["httpx"],
            "ratio": round(jp["requests_per_s_p50"] / summary["httpx"]["requests_per_s_p50"], 3),
            "target": f">= {TARGET:.0%} of ideal ({ideal:.0f} req/s)",
            "met": jp["of_ideal_p50"] >= TARGET,
        },
        {
            "name": f"{name}: vs SDK chat.completions.create loop",
            "japagen": jp,
            "baseline": summary["sdk"],
            "ratio": round(jp["requests_per_s_p50"] / summary["sdk"]["requests_per_s_p50"], 3),
            "target": f">= {TARGET:.0%} of ideal ({ideal:.0f} req/s)",
            "met": jp["of_ideal_p50"] >= TARGET,
        },
    ]
    write = statistics.median(r["write_ms_per_example"] for r in runs["japagen"])
    ingest_ms = statistics.median(r["ingest_ms_per_example"] for r in runs["japagen"])
    machine = {"cpus": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg()}
    if args.json:
        storage = {"write_ms_per_example": round(write, 4), "ingest_ms_per_example": round(ingest_ms, 4)}
        print(json.dumps({"cases": cases, "machine": machine, "storage": storage}))
        return
    print(f"machine: {machine['cpus']} cpus, load {load_before} before, {machine['load_after']} after")
    print(f"{requests} requests x {args.repeats} repeats per loop, n={N}, ideal {ideal:.0f} req/s")
    print(f"{'loop':10}{'p50 s':>8}{'p95 s':>8}{'req/s':>9}{'of ideal':>10}")
    for loop, s in summary.items():
        print(
            f"{loop:10}{s['seconds_p50']:>8}{s['seconds_p95']:>8}{s['requests_per_s_p50']:>9}{s['of_ideal_p50']:>10.0%}"
        )
    print(
        f"storage overhead per example: {write:.3f} ms writing parts + {ingest_ms:.3f} ms ingesting "
        f"(unit size {run_module.UNIT_EXAMPLES} examples per part)"
    )
    for case in cases:
        print(f"{case['name']}: ratio {case['ratio']}, {'met' if case['met'] else 'NOT met'} ({case['target']})")


if __name__ == "__main__":
    main()
