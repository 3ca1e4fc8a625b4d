"""A run's progress: counted from part rows, reported as jobs.progress.Progress with the older flat keys beside."""

import asyncio
import time
from dataclasses import asdict

from japagen_core.generation.llm import LLMConfig, OpenAIChatClient
from japagen_core.generation.progress import REPORT_EVERY_S, RunProgress, progress_line
from japagen_core.generation.run import RunConfig, Runner
from japagen_core.jobs.progress import Progress


def _rows(*specs):
    return [{"status": s, "label": lab, "reason": r} for s, lab, r in specs]


def test_counts_come_from_rows_and_surplus_does_not_count_toward_done():
    p = RunProgress(target=4, per_label_target=2, total_units=3)
    p.add(_rows(("ok", "pos", None), ("ok", "pos", None), ("ok", "pos", None)), resumed=True)
    p.add(_rows(("ok", "neg", None), ("failed", None, "empty"), ("failed", "neg", "not_japanese")))
    assert (p.ok, p.failed, p.done, p.done_units, p.produced_this_attempt) == (4, 2, 3, 2, 1)
    assert p.per_label == {"pos": 3, "neg": 1} and p.failures == {"empty": 1, "not_japanese": 1}


def test_the_snapshot_is_a_progress():
    p = RunProgress(target=10, total_units=2, prompt_tokens=100, completion_tokens=50)
    p.add(_rows(("ok", "pos", None), ("failed", "pos", "timeout")))
    snap = p.snapshot("gpt-4o-mini", "running", "on it", calls={"retries": 2, "timeouts": 1, "cut_off_calls": 0})
    prog = Progress.from_json(snap)
    assert (prog.done, prog.target, prog.unit, prog.failed, prog.retries) == (1, 10, "examples", 1, 2)
    assert prog.extras["per_label"] == {"pos": 1} and prog.extras["timeouts"] == 1 and prog.cost_usd > 0
    assert (prog.extras["done_units"], prog.extras["total_units"]) == (1, 2)
    assert snap == prog.to_json() and "ok" not in snap and "per_label" not in snap  # one shape, no flat copies
    line = progress_line(snap)
    assert line.startswith("1/10 examples, 1 failed (timeout 1)") and "2 retries, 1 timeouts" in line


def test_progress_line_reads_a_progress_json_written_before_the_typed_progress():
    old = {"state": "running", "ok": 7, "target": 20, "failed": 1, "failures": {"empty": 1}, "rate_per_s": 2.5,
           "prompt_tokens": 10, "completion_tokens": 5, "cost_usd": None, "eta_s": 5, "timeouts": 3}  # fmt: skip
    assert progress_line(old) == "7/20 examples, 1 failed (empty 1), 2.5/s, ETA 5 s, 15 tokens; 3 timeouts"


def test_a_run_reports_typed_progress_at_most_every_half_second_but_at_start_and_end(project, fake, tmp_path):
    llm = asdict(LLMConfig(model="fake-model", base_url=fake.base_url, concurrency=8, timeout=5))
    cfg = RunConfig(mode="generate", task="marc_ja", run_id="r-progress", llm=llm, per_label=120)
    reports = []

    async def go():
        client = OpenAIChatClient(LLMConfig(**llm), "sk-test")
        try:
            return await Runner(project, cfg, client, tmp_path, report=reports.append).run()
        finally:
            await client.close()

    started = time.monotonic()
    assert asyncio.run(go()) == "succeeded"
    elapsed = time.monotonic() - started
    first, last = Progress.from_json(reports[0]), Progress.from_json(reports[-1])
    assert (first.done, first.target, first.extras["total_units"]) == (0, 240, 6)
    assert (last.done, last.target, last.extras["done_units"], last.extras["per_label"]) == (
        240, 240, 6, {"positive": 120, "negative": 120})  # fmt: skip
    # forced at start and end; between them at most one per REPORT_EVERY_S, not one per part
    assert len(reports) <= 3 + int(elapsed / REPORT_EVERY_S), (len(reports), elapsed)
