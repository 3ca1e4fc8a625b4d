"""The models of one train job side by side in worker processes: the same metrics as one after
another, progress over all workers, cancel and resume, a worker that dies, and the slot rule."""

import json
import multiprocessing
import os
import signal
import time
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pytest

from japagen_core.training.config import TrainConfig, TrainingError
from japagen_core.training.data import parse_data
from japagen_core.training.plan import TrainRequest, plan_training
from japagen_core.training.store import evaluation_predictions, list_models
from tests.training_data import setup_jnli

finetune = pytest.importorskip("japagen_core.training.finetune")
side_by_side = pytest.importorskip("japagen_core.training.side_by_side")


def small(model, **changes) -> TrainConfig:
    return TrainConfig(**{"model": str(model), "epochs": 1, "batch_size": 8, "save_weights": False, **changes})


def run(project, plan, *, cancelled=lambda: False, report=None):
    reports = []

    def keep(snapshot):
        reports.append(snapshot)
        if report is not None:
            report(snapshot)

    result = finetune.run_training_job(project, asdict(plan), job_id="job-test", report=keep, cancelled=cancelled)
    return result, reports


def by_seed(project, plan) -> dict[int, dict]:
    out = {}
    for model in list_models(project, run_id=plan.run_id):
        predictions = evaluation_predictions(project, model["id"], plan.eval_dataset)
        effective = model["config"]["effective"]
        out[model["seed"]] = {
            "metrics": model["metrics"],
            "train_loss": effective["train_loss"],
            "steps": effective["steps"],
            "torch_threads": effective["torch_threads"],
            "probabilities": list(predictions["probabilities"]),
        }
    return out


def test_seeds_side_by_side_give_the_metrics_of_one_after_another(project, tmp_path, tiny_model, monkeypatch):
    ids = setup_jnli(project, tmp_path)
    request = TrainRequest("jnli", parse_data(f"dataset:{ids['synthetic']}"), seeds=4, train=small(tiny_model))
    monkeypatch.setenv("JAPAGEN_THREADS_PER_MODEL", "1")  # the same summation order in both runs

    monkeypatch.setenv("JAPAGEN_PARALLEL_MODELS", "1")
    one_after_another = plan_training(project, request)
    result, reports = run(project, one_after_another)
    assert result["state"] == "succeeded" and reports[-1]["extras"]["side_by_side"] == 1

    monkeypatch.setenv("JAPAGEN_PARALLEL_MODELS", "2")
    side = plan_training(project, request)
    result, reports = run(project, side)
    assert result["state"] == "succeeded" and len(result["models"]) == 4
    assert result["models"] == [f"{side.run_id}-s{seed}" for seed in range(4)]  # the plan's order

    sequential, parallel = by_seed(project, one_after_another), by_seed(project, side)
    assert sorted(parallel) == [0, 1, 2, 3]
    assert parallel == sequential  # metrics, loss, every probability: bit for bit
    assert len({json.dumps(v["probabilities"]) for v in parallel.values()}) == 4  # seeds differ from each other

    # Progress adds up over the workers: steps of all four models, unit steps, the last report complete.
    last = reports[-1]
    assert last["unit"] == "steps" and last["done"] == last["target"] == 4 * 8
    assert last["extras"]["side_by_side"] == 2 and last["extras"]["threads_per_model"] == 1
    assert last["extras"]["models_done"] == 4
    dones = [r["done"] for r in reports]
    assert dones == sorted(dones) and all(r["target"] == 32 for r in reports)


def test_cancel_stops_every_worker_and_resume_trains_only_the_rest(project, tmp_path, tiny_model, monkeypatch):
    ids = setup_jnli(project, tmp_path)
    monkeypatch.setenv("JAPAGEN_PARALLEL_MODELS", "2")
    monkeypatch.setenv("JAPAGEN_THREADS_PER_MODEL", "1")
    request = TrainRequest("jnli", parse_data(f"dataset:{ids['synthetic']}"), seeds=4,
                           train=small(tiny_model, epochs=3))  # fmt: skip
    plan = plan_training(project, request)
    seen = []
    # Cancel once the first model is stored: the two workers hold the next ones, the last never starts.
    result, _ = run(project, plan, cancelled=lambda: any(r["extras"]["models_done"] >= 1 for r in seen),
                    report=seen.append)  # fmt: skip
    assert result["state"] == "cancelled", result
    stored = {m["id"]: m["created_at"] for m in list_models(project, run_id=plan.run_id)}
    assert 1 <= len(stored) <= 3 and f"{len(stored)} of 4 models finished" in result["message"]
    assert multiprocessing.active_children() == []  # every worker stopped
    assert not list((project.settings.home / "models").glob(".partial-*"))

    result, reports = run(project, plan)
    assert result["state"] == "succeeded" and len(result["models"]) == 4
    again = {m["id"]: m["created_at"] for m in list_models(project, run_id=plan.run_id)}
    assert len(again) == 4 and all(again[k] == v for k, v in stored.items())  # finished ones not retrained
    assert reports[0]["extras"]["models_done"] == len(stored)


def test_a_worker_that_dies_fails_the_job_naming_its_seed(project, tmp_path, tiny_model, monkeypatch):
    ids = setup_jnli(project, tmp_path)
    monkeypatch.setenv("JAPAGEN_PARALLEL_MODELS", "2")
    monkeypatch.setenv("JAPAGEN_THREADS_PER_MODEL", "1")
    request = TrainRequest("jnli", parse_data(f"dataset:{ids['synthetic']}"), seeds=3,
                           train=small(tiny_model, epochs=200, batch_size=2))  # fmt: skip
    plan = plan_training(project, request)
    killed = []

    def kill_a_worker(snapshot):  # the OOM killer, say: SIGKILL to one worker while it trains
        if not killed and snapshot["extras"]["step"] >= 2:
            victim = multiprocessing.active_children()[0]
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    with pytest.raises(TrainingError, match=r"model [1-3]/3 \(seed [0-2]\) failed: its worker process died of SIGKILL"):
        run(project, plan, report=kill_a_worker)
    assert killed and multiprocessing.active_children() == []
    assert list_models(project, run_id=plan.run_id) == []
    assert not list((project.settings.home / "models").glob(".partial-*"))


def test_slots_share_the_cores_and_follow_the_settings(tiny_model, tmp_path):
    cfg = small(tiny_model)
    cores = side_by_side.usable_cores()
    auto = side_by_side.choose_slots(5, cfg, 128, device="cpu", environ={})
    assert auto.workers == min(5, cores) and auto.threads == max(1, cores // auto.workers)
    assert auto.workers * auto.threads <= max(cores, 1)  # never more threads than cores
    one = side_by_side.choose_slots(5, cfg, 128, device="cpu", environ={"JAPAGEN_PARALLEL_MODELS": "1"})
    assert (one.workers, one.threads) == (1, cores)
    pinned = side_by_side.choose_slots(
        5, cfg, 128, device="cpu", environ={"JAPAGEN_PARALLEL_MODELS": "3", "JAPAGEN_THREADS_PER_MODEL": "1"}
    )
    assert pinned.threads == 1 and pinned.workers == min(3, cores)
    assert side_by_side.choose_slots(1, cfg, 128, device="cpu", environ={}).workers == 1
    with pytest.raises(TrainingError, match="JAPAGEN_PARALLEL_MODELS='two'"):
        side_by_side.choose_slots(5, cfg, 128, device="cpu", environ={"JAPAGEN_PARALLEL_MODELS": "two"})
    # bert-base at batch 32 and 128 tokens: weights, gradients, AdamW moments and activations, ~4-6 GiB
    from transformers import BertConfig

    BertConfig(vocab_size=32_768).save_pretrained(str(tmp_path / "base"))
    base = side_by_side.per_model_bytes(TrainConfig(model=str(tmp_path / "base")), 128)
    assert 3 * side_by_side.GIB < base < 7 * side_by_side.GIB
    long_pairs = side_by_side.longest_batch(
        [pd.DataFrame({"text": ["あ" * 40, None], "text_b": ["い" * 30, "う"]})], 512
    )
    assert long_pairs == 73 and side_by_side.longest_batch([pd.DataFrame({"text": ["あ" * 900]})], 512) == 512
    unknown = side_by_side.per_model_bytes(TrainConfig(model=str(tmp_path / "no-such-folder")), 128)
    assert unknown == 6 * side_by_side.GIB  # an unreadable config: the conservative guess


def test_the_worker_side_imports_no_store(tmp_path):
    """A worker (and the GPU bench) imports side_by_side and finetune only: no DuckDB, MeCab, openai."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]

    code = (
        "import sys\n"
        "for name in ('duckdb', 'fugashi', 'openai', 'cleanlab', 'streamlit'): sys.modules[name] = None\n"
        "import japagen_core.training.side_by_side\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": str(root)})  # fmt: skip
    assert done.returncode == 0, done.stderr


def _group(pgid: int) -> list[int]:
    """The live processes of a process group (a job runs in its own session and group)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def test_cancelling_a_train_job_stops_its_workers(project, tmp_path, tiny_model, monkeypatch):
    from japagen_core.jobs import JobStore
    from japagen_core.jobs.kinds import submit
    from japagen_core.jobs.progress import Progress

    monkeypatch.setenv("JAPAGEN_PARALLEL_MODELS", "2")  # the job process inherits the environment
    monkeypatch.setenv("JAPAGEN_THREADS_PER_MODEL", "1")
    ids = setup_jnli(project, tmp_path)
    request = TrainRequest("jnli", parse_data(f"dataset:{ids['synthetic']}"), seeds=2,
                           train=small(tiny_model, epochs=100_000, batch_size=2))  # fmt: skip
    job = submit(project, "train", request)
    store = JobStore(project.settings.jobs_dir)
    deadline = time.monotonic() + 300  # two workers import torch: slow on a loaded machine
    while len(Progress.from_json(store.get(job.id).progress).extras.get("active") or []) < 2:
        assert time.monotonic() < deadline and store.get(job.id).state in ("queued", "running"), store.get(
            job.id
        ).log_tail()
        time.sleep(0.2)
    pgid = json.loads((job.dir / "launch.json").read_text())["pid"]
    assert len(_group(pgid)) >= 3  # the job's process and its two workers
    store.cancel(job)
    done = store.get(job.id)
    assert done.state == "cancelled" and "0 of 2 models finished" in done.result["message"], done.log_tail()
    deadline = time.monotonic() + 15
    while _group(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _group(pgid) == []
    assert list_models(project) == []
