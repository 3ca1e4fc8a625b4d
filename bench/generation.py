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
Prints the machine load (``os.getloadavg()``) before, after and at each repeat, p50/p95 of the run times and
the share of ideal at both, the client's CPU per request (``time.process_time``: what one event loop can
afford is 1 / ideal rate, 1.56 ms at 640 req/s), plus the storage overhead per example (writing parts while
running, ingesting into DuckDB at the end). ``--processes P`` adds a case where the japagen run is split
over P worker processes (an event loop each, C/P concurrency and R/P requests each, timed from a common
start to the last one's end). Target: japagen >= 80% of ideal at concurrency 64 and 100 ms latency.

    .venv/bin/python bench/generation.py [--latency 0.1] [--rounds 100] [--concurrency 64] [--repeats 3]
                                         [--processes 2] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
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
from japagen_core.jobs.parts import PartsFolder  # noqa: E402
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
    original = PartsFolder.write

    def timed_write(self, *args, **kwargs):  # (in the Runner's worker thread: off the event loop)
        nonlocal write_time
        t = time.perf_counter()
        path = original(self, *args, **kwargs)
        write_time += time.perf_counter() - t
        return path

    async def go():
        client = OpenAIChatClient(llm, "sk-bench")
        try:
            runner = Runner(project, cfg, client, parts)
            start, cpu = time.perf_counter(), time.process_time()
            state = await runner.run()
            return state, time.perf_counter() - start, time.process_time() - cpu, client.calls
        finally:
            await client.close()

    PartsFolder.write = timed_write
    try:
        state, seconds, cpu, calls = asyncio.run(go())
    finally:
        PartsFolder.write = original
    t = time.perf_counter()
    summary = ingest(project, cfg, parts, job_id="bench")
    ingest_time = time.perf_counter() - t
    if state != "succeeded" or summary["rows"] != per_label * 2:
        raise SystemExit(f"the japagen run did not complete: {state}, {summary}")
    return {
        "seconds": seconds,
        "requests": calls,
        "cpu_ms_per_request": cpu * 1000 / calls,
        "load_1min": os.getloadavg()[0],
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

    cpu = time.process_time()
    seconds, texts = asyncio.run(go())
    cpu = time.process_time() - cpu
    return {"seconds": seconds, "requests": requests, "texts": texts, "cpu_ms_per_request": cpu * 1000 / requests,
            "load_1min": os.getloadavg()[0]}  # fmt: skip


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

    cpu = time.process_time()
    seconds, texts = asyncio.run(go())
    cpu = time.process_time() - cpu
    return {"seconds": seconds, "requests": requests, "texts": texts, "cpu_ms_per_request": cpu * 1000 / requests,
            "load_1min": os.getloadavg()[0]}  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def stats(runs: list[dict], ideal_rps: float) -> dict:
    seconds = [r["seconds"] for r in runs]
    p50, p95 = statistics.median(seconds), percentile(seconds, 0.95)
    requests = runs[0]["requests"]
    return {
        "seconds_p50": round(p50, 2),
        "seconds_p95": round(p95, 2),
        "requests_per_s_p50": round(requests / p50, 1),
        "of_ideal_p50": round(requests / p50 / ideal_rps, 3),
        "of_ideal_p95": round(requests / p95 / ideal_rps, 3),  # the slow end: the share at the p95 run time
        "of_ideal_runs": [round(requests / s / ideal_rps, 3) for s in seconds],
        "cpu_ms_per_request_p50": round(statistics.median(r["cpu_ms_per_request"] for r in runs), 3)
        if all("cpu_ms_per_request" in r for r in runs)
        else None,
        "load_1min": [round(r["load_1min"], 2) for r in runs],
    }


def _worker(args: tuple) -> dict:
    """One of ``--processes`` workers: its own store and event loop; waits for the common start."""
    base_url, concurrency, requests, tag, ready, start = args
    with tempfile.TemporaryDirectory() as home:
        project = Project.open(Settings(home=Path(home), prompts_dir=Settings.from_env().prompts_dir))
        ready.put(tag)
        start.wait()
        return japagen_run(project, base_url, concurrency, requests, Path(home), tag)


def processes_run(base_url: str, concurrency: int, requests: int, processes: int, tag: str) -> dict:
    """The japagen run split over ``processes`` worker processes (each C/P concurrency, R/P requests)."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(processes) as pool:
        ready, start = manager.Queue(), manager.Event()
        share = [(base_url, concurrency // processes, requests // processes, f"{tag}p{i}", ready, start)
                 for i in range(processes)]  # fmt: skip
        pending = pool.map_async(_worker, share)
        for _ in range(processes):  # the workers import and open their stores before the clock starts
            ready.get(timeout=300)
        t = time.perf_counter()
        start.set()
        results = pending.get()
        seconds = time.perf_counter() - t
    total = sum(r["requests"] for r in results)
    cpu = sum(r["cpu_ms_per_request"] * r["requests"] for r in results) / total
    return {"seconds": seconds, "requests": total, "cpu_ms_per_request": cpu, "load_1min": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="the test server's seconds per answer")
    parser.add_argument("--rounds", type=int, default=100, help="requests per concurrency slot")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each loop, interleaved")
    parser.add_argument("--processes", type=int, default=0, help="also run japagen split over this many processes")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    requests = args.concurrency * args.rounds
    ideal = args.concurrency / args.latency
    load_before = os.getloadavg()
    proc, base_url = start_server(args.latency)
    runs: dict[str, list[dict]] = {"japagen": [], "httpx": [], "sdk": []}
    if args.processes > 1:
        runs[f"japagen x{args.processes}"] = []
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
                if args.processes > 1:
                    runs[f"japagen x{args.processes}"].append(
                        processes_run(base_url, args.concurrency, requests, args.processes, f"r{repeat}")
                    )
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
    if args.processes > 1:
        multi = summary[f"japagen x{args.processes}"]
        cases.append(
            {
                "name": f"{name}: japagen in {args.processes} processes vs bare httpx loop",
                "japagen": multi,
                "baseline": summary["httpx"],
                "ratio": round(multi["requests_per_s_p50"] / summary["httpx"]["requests_per_s_p50"], 3),
                "target": f">= {TARGET:.0%} of ideal ({ideal:.0f} req/s)",
                "met": multi["of_ideal_p50"] >= TARGET,
            }
        )
    write = statistics.median(r["write_ms_per_example"] for r in runs["japagen"])
    ingest_ms = statistics.median(r["ingest_ms_per_example"] for r in runs["japagen"])
    machine = {"cpus": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg()}
    if args.json:
        storage = {"write_ms_per_example": round(write, 4), "ingest_ms_per_example": round(ingest_ms, 4)}
        print(json.dumps({"cases": cases, "machine": machine, "storage": storage}))
        return
    print(f"machine: {machine['cpus']} cpus, load {load_before} before, {machine['load_after']} after")
    print(f"{requests} requests x {args.repeats} repeats per loop, n={N}, ideal {ideal:.0f} req/s")
    print(f"{'loop':12}{'p50 s':>8}{'p95 s':>8}{'req/s':>9}{'ideal p50':>10}{'ideal p95':>10}{'cpu ms/req':>11}  runs")
    for loop, s in summary.items():
        runs_text = " ".join(f"{x:.0%}" for x in s["of_ideal_runs"])
        print(f"{loop:12}{s['seconds_p50']:>8}{s['seconds_p95']:>8}{s['requests_per_s_p50']:>9}"
              f"{s['of_ideal_p50']:>10.0%}{s['of_ideal_p95']:>10.0%}{s['cpu_ms_per_request_p50']:>11}  {runs_text}"
              f"  (load {s['load_1min']})")  # fmt: skip
    print(
        f"storage overhead per example: {write:.3f} ms writing parts + {ingest_ms:.3f} ms ingesting "
        f"(unit size {run_module.UNIT_EXAMPLES} examples per part)"
    )
    for case in cases:
        print(f"{case['name']}: ratio {case['ratio']}, {'met' if case['met'] else 'NOT met'} ({case['target']})")


if __name__ == "__main__":
    main()
