"""Benchmark: examples per second of the local backend, batched vs one prompt at a time.

Sends the same calls (MARC-ja zero-shot prompts, n answers each, as the Runner sends them) through
``LocalChatClient`` twice: with a batch size of 1 (one sequence per generate() call, the baseline) and
with the batch size given (left-padded batches). Prints examples/s of both and the ratio. By default the
model is the tests' tiny random Llama (built in a temp folder, no download); ``--model`` takes a real
local model folder, e.g. on a GPU machine.

    .venv/bin/python bench/local_generation.py [--calls 24] [--n 5] [--max-tokens 32] [--batch-size 32] [--threads 1]
    .venv/bin/python bench/local_generation.py --model /models/Qwen2.5-0.5B-Instruct --batch-size 64
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from japagen_core.generation.llm import LLMConfig  # noqa: E402
from japagen_core.generation.local import LocalChatClient, LocalConfig  # noqa: E402
from japagen_core.generation.prompts import load_spec  # noqa: E402
from japagen_core.tasks import load_registry  # noqa: E402
from tests.teacher.tiny_lm import build_tiny_causal_lm  # noqa: E402


def conversations(calls: int) -> list[list[dict[str, str]]]:
    prompts = ROOT / "prompts"
    task = load_registry(prompts)["marc_ja"]
    spec = load_spec(prompts, task)
    return [spec.single_messages(task.label_names[i % 2], setting="zero-shot") for i in range(calls)]


def rate(client: LocalChatClient, messages: list[list[dict[str, str]]], n: int) -> tuple[float, int, int]:
    """(examples per second, examples, completion tokens) of all calls sent at once, as a run does."""

    async def go():
        return await asyncio.gather(*(client.complete(m, n=n) for m in messages))

    started = time.perf_counter()
    completions = asyncio.run(go())
    elapsed = time.perf_counter() - started
    examples = sum(len(c.texts) for c in completions)
    return examples / elapsed, examples, sum(c.completion_tokens for c in completions)


def measure(model: str, batch_size: int, args) -> tuple[float, int, int, str]:
    """The best of ``args.repeat`` timings (the machine may be shared: the best is the least disturbed)."""
    llm = LLMConfig(model=model, max_tokens=args.max_tokens, temperature=1.0, n=args.n)
    client = LocalChatClient(llm, LocalConfig(batch_size=batch_size, device=args.device), seed=0)
    rate(client, conversations(2), 1)  # warm-up: first-call allocations, kernels
    best = max((rate(client, conversations(args.calls), args.n) for _ in range(args.repeat)), key=lambda r: r[0])
    return (*best, f"{client.device}/{client.provenance['dtype']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a local model folder (default: the tiny random test model)")
    parser.add_argument("--calls", type=int, default=24)
    parser.add_argument("--n", type=int, default=5, help="answers per call")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeat", type=int, default=3, help="timings per setting; the best is printed")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(build_tiny_causal_lm(Path(tmp) / "tiny"))
        name = args.model or "tiny random Llama (hidden 32, 2 layers)"
        one, examples, tokens_one, where = measure(model, 1, args)
        many, _, tokens_many, _ = measure(model, args.batch_size, args)
    print(f"local backend, {name} on {where}: {args.calls} calls x n={args.n} = {examples} examples, "
          f"max {args.max_tokens} tokens")  # fmt: skip
    print(f"  one sequence at a time: {one:8.1f} examples/s ({tokens_one:,} tokens)")
    print(f"  batches of {args.batch_size:<4}        : {many:8.1f} examples/s ({tokens_many:,} tokens)")
    print(f"  ratio batched / one at a time: {many / one:.1f}x")


if __name__ == "__main__":
    main()
