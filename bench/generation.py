"""Benchmark: generation throughput against the local test server with 100 ms latency.

For concurrency 1, 8, 32 and 64, runs a real generation run (Runner + OpenAI SDK over HTTP to
tests/openai_server.py in its own process) and prints requests per second next to the ideal
(concurrency / latency) and the ratio. Also prints the storage overhead per example: writing the
Parquet parts while running, and ingesting them into DuckDB at the end.
Targets: >= 80% of ideal at concurrency 64; under 1 ms of storage overhead per example.

    .venv/bin/python bench/generation.py [--latency 0.1] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from japagen_core.generation import run as run_module  # noqa: E402
from japagen_core.generation.llm import LLMConfig, OpenAIChatClient  # noqa: E402
from japagen_core.generation.run import RunConfig, Runner, ingest  # noqa: E402
from japagen_core.project import Project  # noqa: E402
from japagen_core.settings import PROJECT_ROOT, Settings  # noqa: E402


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
    for _ in range(100):
        try:
            urllib.request.urlopen(urllib.request.Request(f"{base}/chat/completions", data=b"{}"), timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return proc, base


def one_run(project: Project, base_url: str, concurrency: int, rounds: int, work: Path) -> dict:
    n = 5
    requests = max(concurrency * rounds, 20)
    per_label = requests * n // 2  # marc_ja has two labels; one request gives n examples
    llm = LLMConfig(model="bench", base_url=base_url, concurrency=concurrency, n=n, timeout=30)
    cfg = RunConfig(
        mode="generate", task="marc_ja", run_id=f"bench-c{concurrency}", llm=asdict(llm), per_label=per_label
    )
    parts = work / cfg.run_id
    parts.mkdir()
    write_time = 0.0
    original = Runner._write_part

    def timed_write(self, unit, rows):
        nonlocal write_time
        t = time.perf_counter()
        original(self, unit, rows)
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
    assert state == "succeeded" and summary["rows"] == per_label * 2, summary
    return {
        "concurrency": concurrency,
        "requests": calls,
        "seconds": seconds,
        "examples": summary["rows"],
        "write_ms_per_example": write_time * 1000 / summary["rows"],
        "ingest_ms_per_example": ingest_time * 1000 / summary["rows"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=10, help="requests per concurrency slot")
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 8, 32, 64])
    args = parser.parse_args()
    proc, base_url = start_server(args.latency)
    try:
        with tempfile.TemporaryDirectory() as home:
            project = Project.open(Settings(home=Path(home), prompts_dir=PROJECT_ROOT / "prompts"))
            results = [one_run(project, base_url, c, args.rounds, Path(home)) for c in args.concurrency]
    finally:
        proc.terminate()
    print(f"Generation throughput against the test server ({args.latency * 1000:.0f} ms per request, n=5 per call)")
    print(f"{'concurrency':>12}{'requests':>10}{'req/s':>10}{'ideal req/s':>13}{'of ideal':>10}{'examples/s':>12}")
    for r in results:
        rate = r["requests"] / r["seconds"]
        ideal = r["concurrency"] / args.latency
        print(
            f"{r['concurrency']:>12}{r['requests']:>10}{rate:>10.1f}{ideal:>13.1f}{rate / ideal:>10.0%}"
            f"{r['examples'] / r['seconds']:>12.1f}"
        )
    last = results[-1]
    print(
        f"storage overhead per example: {last['write_ms_per_example']:.3f} ms writing parts while running + "
        f"{last['ingest_ms_per_example']:.3f} ms ingesting into DuckDB = "
        f"{last['write_ms_per_example'] + last['ingest_ms_per_example']:.3f} ms (target < 1 ms)"
    )
    top = last["requests"] / last["seconds"] / (last["concurrency"] / args.latency)
    print(
        f"target >= 80% of ideal at concurrency {last['concurrency']}: {'met' if top >= 0.8 else 'NOT met'} ({top:.0%})"
    )
    print(f"(unit size {run_module.UNIT_EXAMPLES} examples per Parquet part)")


if __name__ == "__main__":
    main()
