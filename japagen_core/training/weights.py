"""Whether a model's config, weights and tokenizer are on this machine, checked before a job is submitted.

A training job (the student, or a local LoRA teacher) that cannot load its model fails only after the
Hub client has retried for about a minute, and leaves the snapshots taken at submit behind. So the app
and the CLI ask first: a model is usable when it is a local folder holding a config, weights and a
tokenizer, or a Hub name whose files are in the local Hugging Face cache. The check only looks at files
(``huggingface_hub.try_to_load_from_cache``): it never opens a network connection, whatever
``HF_HUB_OFFLINE`` says, and takes milliseconds. It does not import torch or transformers.

Files looked for (what ``from_pretrained`` reads): ``config.json``; the weights as
``model.safetensors`` or ``pytorch_model.bin`` (or their sharded ``*.index.json`` and every shard it
names); a tokenizer vocabulary (``tokenizer.json``, ``vocab.txt``, ``tokenizer.model``, ...).
"""

from __future__ import annotations

import json
from pathlib import Path

CONFIG_FILE = "config.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer.model", "vocab.json", "spiece.model",
                   "sentencepiece.bpe.model")  # fmt: skip
# Read when present and skipped when absent. Loaded from a snapshot folder, one the cache lacks is
# skipped where the Hub would have supplied it (without tokenizer_config.json, tohoku-nlp's BERT gets a
# plain BERT tokenizer, no MeCab), so local_source hands over the folder only when the cache holds it
# or knows the Hub has none (what ``from_pretrained`` leaves in the cache; ``hf download`` of a whole
# repo holds it whenever the repo has one).
SETTINGS_FILES = ("tokenizer_config.json",)


def local_source(name_or_path: str) -> str:
    """What to hand ``from_pretrained``: a Hub name whose files are all in the local cache becomes its
    cached snapshot folder; anything else (a folder, a model not here yet) is returned as it is.

    Given a Hub name, ``from_pretrained`` first asks the Hub whether the cached files are current: on a
    machine whose network drops or never answers that hangs until timeouts, even with every file here.
    ``local_files_only=True`` does not cover it (transformers 5.23 still asks for an adapter config
    without it); a folder is read from disk and nothing else.
    """
    name = str(name_or_path).strip()
    if Path(name).expanduser().is_dir() or check_model_available(name) is not None:
        return name
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(name, CONFIG_FILE)
    if not isinstance(found, str) or any(try_to_load_from_cache(name, f) is None for f in SETTINGS_FILES):
        return name  # a settings file the cache knows nothing of: from_pretrained asks the Hub for it
    return str(Path(found).parent)


def load_tokenizer_and_model(name_or_path: str, model_class, **kwargs):
    """(tokenizer, model): ``AutoTokenizer`` and ``model_class.from_pretrained`` of ``local_source``, which
    keep the name they were asked for as their ``name_or_path`` (the model's config too), not a folder
    of this machine's cache: a LoRA adapter records it as its base model (PEFT reads
    ``model.name_or_path``), and an adapter copied elsewhere must find its base there too."""
    from transformers import AutoTokenizer

    name = str(name_or_path).strip()
    source = local_source(name)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = model_class.from_pretrained(source, **kwargs)
    if source != name:
        for loaded in (tokenizer, model, model.config):
            loaded.name_or_path = name
    return tokenizer, model


def looks_like_path(name: str) -> bool:
    """A name that can only be a folder (the rule ``training.plan`` applies when it resolves a model)."""
    return name.startswith((".", "/", "~")) or name.count("/") >= 2


def check_model_available(name_or_path: str, *, cache_dir: str | Path | None = None) -> str | None:
    """None when ``name_or_path`` can be loaded without a network; else one message saying what is missing
    and how to provide it.

    ``name_or_path`` is a local folder or a Hugging Face model name; a name is looked up in the Hugging
    Face cache (``cache_dir``, default the one ``HF_HOME`` / ``HF_HUB_CACHE`` name) at revision ``main``.
    """
    name = str(name_or_path).strip()
    if not name:
        return "no model given: name a Hugging Face model or a local folder"
    folder = Path(name).expanduser()
    if folder.is_dir():
        missing = _missing(lambda filename: (folder / filename) if (folder / filename).is_file() else None)
        if missing:
            return f"model folder {name!r} has no {' and no '.join(missing)}. {_folder_help()}"
        return None
    if looks_like_path(name) or folder.exists():
        return f"model folder {name!r} does not exist. {_folder_help()}"
    return _check_cache(name, cache_dir)


def _check_cache(name: str, cache_dir: str | Path | None) -> str | None:
    from huggingface_hub import constants, try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return (f"model {name!r} is neither a folder on this machine nor a Hugging Face model name "
                f"(like tohoku-nlp/bert-base-japanese-v3). {_folder_help()}")  # fmt: skip
    cache = str(cache_dir) if cache_dir is not None else constants.HF_HUB_CACHE

    def cached(filename: str) -> Path | None:
        found = try_to_load_from_cache(name, filename, cache_dir=cache)
        return Path(found) if isinstance(found, str) else None  # None or _CACHED_NO_EXIST: not here

    missing = _missing(cached)
    if not missing:
        return None
    if len(missing) == 3:
        what = f"model {name!r} is not on this machine (neither a folder nor in the Hugging Face cache {cache})"
    else:
        what = f"the Hugging Face cache ({cache}) holds only part of {name!r}: no {' and no '.join(missing)}"
    return f"{what}. {_download_help(name)}"


def _missing(find) -> list[str]:
    """What of config, weights and tokenizer ``find(filename) -> Path | None`` cannot find."""
    missing = []
    if find(CONFIG_FILE) is None:
        missing.append(CONFIG_FILE)
    if not any(_weights_complete(find, filename) for filename in WEIGHT_FILES):
        missing.append("weights (model.safetensors or pytorch_model.bin, or a complete sharded set)")
    if not any(find(filename) is not None for filename in TOKENIZER_FILES):
        missing.append("tokenizer (tokenizer.json, vocab.txt or tokenizer.model)")
    return missing


def _weights_complete(find, filename: str) -> bool:
    if find(filename) is not None:
        return True
    index = find(f"{filename}.index.json")
    if index is None:
        return False
    try:
        shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
    except (OSError, ValueError, KeyError, AttributeError):
        return False  # an unreadable index: from_pretrained could not load it either
    return bool(shards) and all(find(shard) is not None for shard in shards)


def _folder_help() -> str:
    return ("Give a folder with the model's config.json, weights and tokenizer (e.g. made by "
            "`hf download NAME --local-dir FOLDER`), or a Hugging Face model name whose files are in the local "
            "cache.")  # fmt: skip


def _download_help(name: str) -> str:
    local = f"./models/{name.rsplit('/', 1)[-1]}"
    return (
        "japagen needs it before it submits a job (a job does not download it). Either (1) run "
        f"`hf download {name}` on this machine (it fills the Hugging Face cache; without internet here, run it "
        "where there is internet and copy that cache, ~/.cache/huggingface or $HF_HOME, to this machine), or "
        f"(2) run `hf download {name} --local-dir {local}` (copying the folder here if needed) and give that "
        f"folder as the model: --model {local} on the command line, or the Model field of the Train or "
        "Teachers page."
    )
