"""The check before a training job: a model's config, weights and tokenizer in a local folder or the Hugging
Face cache, found (or their absence explained) from files alone, quickly and without a network."""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from japagen_core.settings import PROJECT_ROOT
from japagen_core.training.weights import check_model_available

MISSING = "no-such-org/no-such-bert"


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the tests never reach a hub; the product code does not need this


def _cache_with(cache: Path, name: str, source: Path, *, leave_out: tuple[str, ...] = ()) -> Path:
    """A Hugging Face cache laid out as ``hf download`` leaves it: refs/main -> snapshots/<sha>/files."""
    repo = cache / f"models--{name.replace('/', '--')}"
    sha = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / sha
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)
    for file in source.iterdir():
        if file.name not in leave_out:
            shutil.copy(file, snapshot / file.name)
    return snapshot


def test_a_local_folder_with_a_saved_model_passes(tiny_model):
    assert check_model_available(str(tiny_model)) is None
    assert {"config.json", "model.safetensors", "vocab.txt"} <= {p.name for p in tiny_model.iterdir()}


def test_a_missing_model_name_says_how_to_provide_it_at_once(tmp_path):
    started = time.monotonic()
    problem = check_model_available(MISSING, cache_dir=tmp_path / "empty-cache")
    assert time.monotonic() - started < 2
    assert f"model {MISSING!r} is not on this machine" in problem
    assert f"`hf download {MISSING}`" in problem
    assert f"`hf download {MISSING} --local-dir ./models/no-such-bert`" in problem
    assert "--model ./models/no-such-bert" in problem and "$HF_HOME" in problem


def test_a_model_in_the_hugging_face_cache_passes_and_a_partial_one_is_named(tmp_path, tiny_model):
    cache = tmp_path / "hub"
    _cache_with(cache, "org/tiny-bert", tiny_model)
    assert check_model_available("org/tiny-bert", cache_dir=cache) is None
    _cache_with(cache, "org/no-weights", tiny_model, leave_out=("model.safetensors",))
    problem = check_model_available("org/no-weights", cache_dir=cache)
    assert "holds only part of 'org/no-weights': no weights" in problem and "config.json" not in problem.split(":")[1]
    assert "`hf download org/no-weights`" in problem


def test_folders_that_lack_a_part_name_it(tmp_path, tiny_model):
    assert "does not exist" in check_model_available(str(tmp_path / "nope"))
    for left_out, named in [("config.json", "no config.json"), ("model.safetensors", "no weights"),
                            ("vocab.txt", "no tokenizer")]:  # fmt: skip
        folder = tmp_path / f"without-{left_out}"
        shutil.copytree(tiny_model, folder, ignore=shutil.ignore_patterns(left_out))
        problem = check_model_available(str(folder))
        assert problem.startswith(f"model folder {str(folder)!r} has {named}") and " and no " not in problem, problem
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no config.json and no weights" in check_model_available(str(empty))
    assert "neither a folder on this machine nor a Hugging Face model name" in check_model_available("a b")


def test_sharded_weights_need_every_shard(tmp_path, tiny_model):
    folder = tmp_path / "sharded"
    shutil.copytree(tiny_model, folder, ignore=shutil.ignore_patterns("model.safetensors"))
    index = {"metadata": {}, "weight_map": {"a.weight": "model-00001-of-00002.safetensors",
                                            "b.weight": "model-00002-of-00002.safetensors"}}  # fmt: skip
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    (folder / "model-00001-of-00002.safetensors").write_bytes(b"x")
    assert "no weights" in check_model_available(str(folder))
    (folder / "model-00002-of-00002.safetensors").write_bytes(b"x")
    assert check_model_available(str(folder)) is None


def _run_against_a_silent_hub(tmp_path: Path, code: str) -> tuple[subprocess.CompletedProcess, list]:
    """``code`` in a fresh process with HF_HUB_OFFLINE unset, HF_HOME in ``tmp_path`` and the Hub endpoint
    a local socket that accepts connections and never answers: (the process, the connections made)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    connections, stop = [], threading.Event()

    def listen():
        while not stop.is_set():
            try:
                connections.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE")}
    env.update(HF_HOME=str(tmp_path / "hf-home"), HF_ENDPOINT=f"http://127.0.0.1:{server.getsockname()[1]}",
               PYTHONPATH=str(PROJECT_ROOT))  # fmt: skip
    try:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    finally:
        stop.set()
        thread.join()
        server.close()
    return out, connections


def test_the_check_never_opens_a_connection_even_without_hf_hub_offline(tmp_path):
    """A check that asked the Hub would connect (and hang); this one answers from files in well under 2 s."""
    code = (
        "import time; from japagen_core.training.weights import check_model_available as check\n"
        f"started = time.monotonic(); problem = check({MISSING!r}); print(time.monotonic() - started)\n"
        "assert 'is not on this machine' in problem, problem"
    )
    out, connections = _run_against_a_silent_hub(tmp_path, code)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) < 2 and connections == []


def test_a_cached_hub_model_loads_without_asking_the_hub(tmp_path, tiny_model):
    """A training job given a Hub name that is in the cache loads it from there at once, with HF_HUB_OFFLINE
    unset: it never connects to the Hub (which here accepts and never answers, so asking would hang)."""
    _cache_with(tmp_path / "hf-home" / "hub", "org/tiny-bert", tiny_model)
    code = (
        "import time; from japagen_core.tasks import paper_tasks\n"
        "from japagen_core.training.finetune import load_pretrained\n"
        "task = next(t for t in paper_tasks() if t.name == 'jnli')\n"
        "started = time.monotonic(); tokenizer, model = load_pretrained('org/tiny-bert', task)\n"
        "print(time.monotonic() - started); assert model.config.num_labels == 3"
    )
    out, connections = _run_against_a_silent_hub(tmp_path, code)
    assert out.returncode == 0, out.stderr
    assert connections == [] and float(out.stdout.split()[-1]) < 30


def test_a_cached_snapshot_is_used_only_when_the_cache_knows_its_tokenizer_settings(tmp_path, tiny_model,
                                                                                    monkeypatch):  # fmt: skip
    """Loaded from a snapshot folder, a tokenizer_config.json the cache lacks would be skipped where the
    Hub would supply it (tohoku-nlp's BERT would lose MeCab): the folder is handed over only when the
    cache holds that file or records that the Hub has none; else the name, as before."""
    from huggingface_hub import constants

    from japagen_core.training.weights import local_source

    cache = tmp_path / "hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    whole = _cache_with(cache, "org/whole", tiny_model)
    assert (whole / "tokenizer_config.json").is_file() and local_source("org/whole") == str(whole)
    partial = _cache_with(cache, "org/partial", tiny_model, leave_out=("tokenizer_config.json",))
    assert check_model_available("org/partial") is None  # loadable, but not from the folder alone
    assert local_source("org/partial") == "org/partial"
    none_there = partial.parent.parent / ".no_exist" / partial.name  # what from_pretrained leaves for a 404
    none_there.mkdir(parents=True)
    (none_there / "tokenizer_config.json").touch()
    assert local_source("org/partial") == str(partial)


def test_a_model_loaded_from_the_cache_keeps_its_hub_name(tmp_path, tiny_model, monkeypatch):
    """A LoRA adapter records its base model by ``name_or_path``: a folder of this machine's cache there
    would not load anywhere else."""
    from huggingface_hub import constants
    from transformers import AutoModelForSequenceClassification

    from japagen_core.training.weights import load_tokenizer_and_model

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    _cache_with(tmp_path / "hub", "org/tiny-bert", tiny_model)
    tokenizer, model = load_tokenizer_and_model("org/tiny-bert", AutoModelForSequenceClassification, num_labels=3)
    assert tokenizer.name_or_path == model.name_or_path == model.config.name_or_path == "org/tiny-bert"
    tokenizer, model = load_tokenizer_and_model(str(tiny_model), AutoModelForSequenceClassification, num_labels=3)
    assert model.name_or_path == str(tiny_model)  # a folder stays a folder
