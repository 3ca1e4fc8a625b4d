"""Benchmark: a Table 1 cell (five seeds of one model) trained by japagen vs what a user would otherwise run.

baseline  the Hugging Face Trainer as transformers' ``run_glue.py`` runs it by default: every pair padded
          to ``max_seq_length`` 128 (``pad_to_max_length`` is on by default), ``default_data_collator``,
          default ``TrainingArguments`` (fp32, evaluation batch 8) but for what the paper fixes (learning
          rate, epochs, batch size: japagen's ``TrainConfig``), evaluation after training; the seeds one
          after another in one process with torch's default thread count (one per core).
japagen   its real path: ``side_by_side.train_side_by_side`` with the slots ``choose_slots`` picks (the
          functions ``run_training_job`` calls), so each model is ``finetune.train_model``: dynamic
          padding, bf16 on a GPU, predictions on the evaluation rows; the seeds side by side in worker
          processes with explicit torch threads each.

Both train the same randomly initialised BERT (from a ``BertConfig``: no download) on the same pairs:
JNLI valid, then JSTS pairs (label from the score) from ``--gold`` (default ../shared/data/gold), else
template pairs of similar length. The tokenizer is japagen's ``BertJapaneseTokenizer`` over a vocabulary
built from the pairs: MeCab with unidic-lite, else IPADIC, else one token per character (printed).

Measured: examples per second (training examples x epochs / wall time of the whole model: load,
tokenize, train, evaluate) for one model (japagen ``--repeat`` times; the baseline's seeds, p50 and p95)
and the aggregate of an ``--seeds``-seed cell (all models / the cell's wall time). Targets: the cell
>= 3x the baseline's aggregate (GPU: sequential Trainer runs; CPU: run_glue's defaults).

    .venv/bin/python bench/finetune.py --size small --device cpu
    python3 bench/finetune.py --size base --device cuda --json > out.json     # see bench/gpu_finetune.sh
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SIZES = {
    "tiny": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 37},
    "small": {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024},
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
}
LABELS = ["entailment", "contradiction", "neutral"]
RUN_GLUE_MAX_SEQ_LENGTH = 128
TARGET = 3.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=tuple(SIZES), default="small")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--seeds", type=int, default=5, help="models in the cell (default 5: a Table 1 cell)")
    parser.add_argument("--examples", type=int, help="training pairs per model (default: 6,400 on cuda, 320 on cpu)")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--eval-examples", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3, help="japagen one-model runs (p50/p95)")
    parser.add_argument("--gold", type=Path, default=ROOT.parent / "shared" / "data" / "gold")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout (the rest on stderr)")
    parser.add_argument("--out", type=Path, help="also write that JSON object to this file")
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None and ARGS.device == "cpu":
    os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before torch: --device cpu means cpu on a GPU machine too
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # the workers inherit it: no weight-loading reports
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pandas as pd  # noqa: E402
import torch  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertJapaneseTokenizer,
    BertModel,
    Trainer,
    TrainingArguments,
    default_data_collator,
)

from japagen_core.tasks import load_registry  # noqa: E402
from japagen_core.training.config import TrainConfig  # noqa: E402
from japagen_core.training.finetune import resolve_precision  # noqa: E402
from japagen_core.training.side_by_side import (  # noqa: E402
    ModelRun,
    choose_slots,
    longest_batch,
    train_side_by_side,
    usable_cores,
)


def say(*parts) -> None:
    print(*parts, file=sys.stderr if ARGS.json else sys.stdout, flush=True)


# --- data, tokenizer, model ----------------------------------------------------------------------


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def pairs(gold: Path, n: int) -> tuple[pd.DataFrame, str]:
    jnli, jsts = gold / "jglue" / "jnli-v1.3_valid-v1.3.json", gold / "jglue" / "jsts-v1.3_train-v1.3.json"
    rows, sources = [], []
    if jnli.exists():
        rows += [(r["sentence1"], r["sentence2"], r["label"]) for r in _jsonl(jnli)]
        sources.append(jnli.name)
    if len(rows) < n and jsts.exists():
        grade = lambda s: "entailment" if s >= 4 else "contradiction" if s <= 1 else "neutral"  # noqa: E731
        rows += [(r["sentence1"], r["sentence2"], grade(float(r["label"]))) for r in _jsonl(jsts)]
        sources.append(f"{jsts.name} (label from the score)")
    if rows:
        rows = (rows * (n // len(rows) + 1))[:n]
        source = " + ".join(sources) + (" (repeated)" if len(sources) and n > len(set(rows)) else "")
    else:
        subjects = ["犬", "猫", "男性", "女性", "子供たち", "電車"]
        places = ["公園の芝生", "駅のホーム", "海辺", "台所"]
        rows = [(f"{subjects[i % 6]}が{places[i % 4]}で遊んでいる様子が写っている。",
                 f"{subjects[(i + 1) % 6]}が{places[i % 4]}にいる。", LABELS[i % 3]) for i in range(n)]  # fmt: skip
        source = f"template pairs (no gold data under {gold})"
    frame = pd.DataFrame(rows, columns=["text", "text_b", "label"])
    frame.insert(0, "row_idx", range(len(frame)))
    return frame.assign(score=None), source


def word_splitter():
    """MeCab words with the dictionary at hand, or None (one token per character)."""
    try:
        import fugashi
    except ImportError:
        return None, None
    for dic in ("unidic_lite", "ipadic"):
        try:
            module = __import__(dic)
        except ImportError:
            continue
        rc = Path(module.DICDIR) / "mecabrc"
        tagger = fugashi.GenericTagger(f'-d "{module.DICDIR}"' + (f' -r "{rc}"' if rc.exists() else ""))
        return (lambda text, tagger=tagger: [w.surface for w in tagger(text)]), dic
    return None, None


def build_model(frame: pd.DataFrame, folder: Path, size: str) -> tuple[str, int]:
    """A tokenizer over the pairs' words and characters, and a random BERT of ``size``, saved to ``folder``."""
    split, dic = word_splitter()
    texts = list(frame["text"]) + list(frame["text_b"])
    words = sorted({w for t in texts for w in split(t)}) if split else []
    chars = sorted({c for t in texts for c in t})
    vocab = list(dict.fromkeys(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *chars,
                                *[f"##{c}" for c in chars]]))  # fmt: skip
    if size == "base":
        vocab += [f"[unused{i}]" for i in range(max(0, 32_768 - len(vocab)))]  # tohoku v3's embedding size
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    if dic:
        tokenizer = BertJapaneseTokenizer(str(folder / "vocab.txt"), word_tokenizer_type="mecab",
                                          subword_tokenizer_type="wordpiece",
                                          mecab_kwargs={"mecab_dic": dic})  # fmt: skip
        kind = f"MeCab ({dic}) + WordPiece"
    else:
        tokenizer = BertJapaneseTokenizer(str(folder / "vocab.txt"), word_tokenizer_type="basic",
                                          subword_tokenizer_type="character")  # fmt: skip
        kind = "characters (no MeCab here)"
    tokenizer.save_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), max_position_embeddings=512, **SIZES[size])
    BertModel(config).save_pretrained(str(folder))
    return kind, len(vocab)


# --- the baseline: run_glue's defaults, seeds one after another ----------------------------------


def baseline_model(folder: Path, train: pd.DataFrame, evaluation: pd.DataFrame, cfg: TrainConfig, *, seed: int,
                   workdir: Path) -> dict:  # fmt: skip
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForSequenceClassification.from_pretrained(str(folder), num_labels=len(LABELS))

    def features(frame: pd.DataFrame) -> list[dict]:  # run_glue's preprocess_function with padding="max_length"
        enc = tokenizer(list(frame["text"]), list(frame["text_b"]), padding="max_length",
                        max_length=RUN_GLUE_MAX_SEQ_LENGTH, truncation=True)  # fmt: skip
        rows = [{k: enc[k][i] for k in enc} for i in range(len(frame))]
        for row, label in zip(rows, frame["label"], strict=True):
            row["label"] = LABELS.index(label)
        return rows

    args = TrainingArguments(
        output_dir=str(workdir / f"baseline-{seed}"),
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.epochs,
        per_device_train_batch_size=cfg.batch_size,
        seed=seed,
        report_to="none",  # not a speed setting: keeps the bench from writing TensorBoard logs
        disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=features(train), eval_dataset=features(evaluation),
                      data_collator=default_data_collator, processing_class=tokenizer)  # fmt: skip
    output = trainer.train()
    trainer.evaluate()
    wall = time.perf_counter() - started
    return {"seed": seed, "wall_s": wall, "examples": len(train) * cfg.epochs, "loss": output.training_loss}


# --- japagen: its own path -----------------------------------------------------------------------


def japagen_cell(task, cfg: TrainConfig, train: pd.DataFrame, evaluation: pd.DataFrame, *, seeds: list[int],
                 workdir: Path) -> dict:  # fmt: skip
    runs = [ModelRun(n, len(seeds), f"bench-s{seed}", seed, None, train, workdir / f".partial-{n}-{seed}")
            for n, seed in enumerate(seeds, start=1)]  # fmt: skip
    slots = choose_slots(len(runs), cfg, longest_batch([train], cfg.max_length or task.max_length))
    done = {}
    started = time.perf_counter()
    finished_at = {}

    def on_done(run, trained):
        finished_at[run.seed] = time.perf_counter() - started
        done[run.seed] = trained.info

    state = train_side_by_side(task, cfg, runs, evaluation, slots=slots, on_step=lambda *a: None, on_done=on_done,
                               cancelled=lambda: False)  # fmt: skip
    wall = time.perf_counter() - started
    if state != "succeeded" or len(done) != len(seeds):
        raise SystemExit(f"japagen cell did not finish: {state}, {len(done)} of {len(seeds)} models")
    return {"wall_s": wall, "examples": len(train) * cfg.epochs * len(seeds), "workers": slots.workers,
            "threads_per_model": slots.threads, "slots": slots.reason, "model_wall_s": finished_at,
            "precision": next(iter(done.values()))["precision"],
            "train_only_examples_per_s": [i["train_examples_per_second"] for i in done.values()]}  # fmt: skip


def pct(values: list[float], q: float) -> float:
    """The q-quantile, interpolated between the two nearest values (p50 of two runs is their mean)."""
    ordered = sorted(values)
    at = q * (len(ordered) - 1)
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def main() -> None:
    args = ARGS
    json_out = None
    if args.json:  # stdout carries the JSON alone: the Trainer's log lines (this process, the workers) go to stderr
        json_out = os.fdopen(os.dup(1), "w")
        os.dup2(2, 1)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no GPU here")
    examples = args.examples or (6_400 if args.device == "cuda" else 320)
    seeds = list(range(args.seeds))
    load_before = os.getloadavg()
    say(f"load average before: {load_before}")
    frame, source = pairs(args.gold, examples + args.eval_examples)
    train, evaluation = frame.iloc[:examples].reset_index(drop=True), frame.iloc[examples:].reset_index(drop=True)
    task = load_registry(None)["jnli"]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        kind, vocab = build_model(frame, folder, args.size)
        cfg = TrainConfig(model=str(folder), epochs=args.epochs, batch_size=32, save_weights=False)
        cores = usable_cores()
        gpu = torch.cuda.get_device_name(0) if args.device == "cuda" else "no GPU"
        encoded = AutoTokenizer.from_pretrained(str(folder))(list(train["text"]), list(train["text_b"]))
        lengths = [len(x) for x in encoded["input_ids"]]
        say(f"data: {source}; {examples:,} training pairs x {args.epochs:g} epoch(s) per model, "
            f"{len(evaluation):,} evaluation pairs; tokens per pair mean {statistics.mean(lengths):.1f}, "
            f"max {max(lengths)}; tokenizer {kind}")  # fmt: skip
        say(f"model: random BERT {args.size} ({SIZES[args.size]['hidden_size']} hidden, "
            f"{SIZES[args.size]['num_hidden_layers']} layers, vocab {vocab:,}); device {args.device} ({gpu}); "
            f"{cores} usable cores; torch {torch.__version__}")  # fmt: skip

        # japagen, one model at a time (the path of a one-seed job: in this process, all cores' threads)
        one = []
        for r in range(args.repeat):
            cell = japagen_cell(task, cfg, train, evaluation, seeds=[0], workdir=Path(tmp) / f"j1-{r}")
            one.append(cell["examples"] / cell["wall_s"])
        say(f"japagen one model: {cell['precision']}, dynamic padding, {cell['threads_per_model']} torch threads "
            f"({cell['slots']}): " + ", ".join(f"{x:.1f}" for x in one) + " examples/s")  # fmt: skip
        japagen_one = {"examples_per_s_p50": pct(one, 0.5), "examples_per_s_p95": pct(one, 0.95), "runs": one,
                       "torch_threads": cell["threads_per_model"], "precision": cell["precision"]}  # fmt: skip

        # baseline: run_glue's defaults, the seeds one after another in this process
        torch.set_num_threads(cores)  # torch's own default (one per core), set explicitly
        say(f"baseline: Trainer with run_glue defaults (pad to {RUN_GLUE_MAX_SEQ_LENGTH}, fp32, eval batch 8), "
            f"seeds one after another, torch threads {torch.get_num_threads()}")  # fmt: skip
        base_runs = [baseline_model(folder, train, evaluation, cfg, seed=s, workdir=Path(tmp)) for s in seeds]
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the cell's slots count the GPU memory free now
        per_model = [b["examples"] / b["wall_s"] for b in base_runs]
        say("baseline per model: " + ", ".join(f"{x:.1f}" for x in per_model) + " examples/s")
        base_wall = sum(b["wall_s"] for b in base_runs)
        baseline_one = {"examples_per_s_p50": pct(per_model, 0.5), "examples_per_s_p95": pct(per_model, 0.95),
                        "runs": per_model, "torch_threads": torch.get_num_threads(), "precision": "fp32"}  # fmt: skip
        baseline_cell = {"examples_per_s": sum(b["examples"] for b in base_runs) / base_wall, "wall_s": base_wall,
                         "models": len(seeds), "torch_threads": torch.get_num_threads()}  # fmt: skip

        # japagen, the cell side by side
        cell = japagen_cell(task, cfg, train, evaluation, seeds=seeds, workdir=Path(tmp) / "cell")
        japagen_cell_result = {"examples_per_s": cell["examples"] / cell["wall_s"], "wall_s": cell["wall_s"],
                               "models": len(seeds), "workers": cell["workers"],
                               "threads_per_model": cell["threads_per_model"], "slots": cell["slots"],
                               "model_done_at_s": cell["model_wall_s"],
                               "train_only_examples_per_s": cell["train_only_examples_per_s"]}  # fmt: skip
        say(f"japagen cell: {cell['slots']}; {japagen_cell_result['examples_per_s']:.1f} examples/s in all, "
            f"{cell['wall_s']:.1f} s")  # fmt: skip
    say(f"load average after: {os.getloadavg()}")
    precision = resolve_precision(TrainConfig(), args.device)
    results = {
        "device": args.device, "gpu": gpu, "size": args.size, "examples_per_model": examples,
        "epochs": args.epochs, "tokenizer": kind, "data": source, "japagen_precision": precision,
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "cases": [
            {"name": "one model", "japagen": japagen_one, "baseline": baseline_one,
             "ratio": japagen_one["examples_per_s_p50"] / baseline_one["examples_per_s_p50"], "target": None,
             "met": None},
            {"name": f"{len(seeds)}-seed cell", "japagen": japagen_cell_result, "baseline": baseline_cell,
             "ratio": japagen_cell_result["examples_per_s"] / baseline_cell["examples_per_s"], "target": TARGET,
             "met": japagen_cell_result["examples_per_s"] / baseline_cell["examples_per_s"] >= TARGET},
        ],
    }  # fmt: skip
    say(f"{'case':<16}{'japagen ex/s':>14}{'baseline ex/s':>15}{'ratio':>8}  target")
    for case in results["cases"]:
        j = case["japagen"].get("examples_per_s", case["japagen"].get("examples_per_s_p50"))
        b = case["baseline"].get("examples_per_s", case["baseline"].get("examples_per_s_p50"))
        target = f">= {case['target']:g}x {'met' if case['met'] else 'NOT met'}" if case["target"] else "-"
        say(f"{case['name']:<16}{j:>14.1f}{b:>15.1f}{case['ratio']:>7.2f}x  {target}")
    if json_out is not None:
        json_out.write(json.dumps(results, default=str) + "\n")
        json_out.flush()
    if args.out:
        args.out.write_text(json.dumps(results, default=str, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
