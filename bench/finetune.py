"""Benchmark: fine-tuning throughput with dynamic padding (japagen's path) vs padding every batch to 512.

Same model, same JNLI sentence pairs (the real JNLI valid split from ../shared/data/gold when present,
else template pairs of similar length), same Trainer settings as japagen's train jobs (batch 32, AdamW,
bf16/fp16 on a GPU): only the collator differs. The model is randomly initialised from a config (no
download): a small BERT on the CPU (hidden 256, 4 layers), bert-base size (hidden 768, 12 layers,
vocabulary 32,768) on a GPU; the tokenizer is japagen's BertJapaneseTokenizer (MeCab + WordPiece) over a
vocabulary built from the pairs. Prints training examples per second for both and the ratio.
Target: >= 4x on JNLI-length pairs.

    .venv/bin/python bench/finetune.py                 # small on CPU, bert-base on a GPU
    .venv/bin/python bench/finetune.py --size base --steps 30
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import torch  # noqa: E402
from transformers import (  # noqa: E402
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    BertJapaneseTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainerCallback,
)

from japagen_core.tasks import load_registry  # noqa: E402
from japagen_core.training.config import TrainConfig  # noqa: E402
from japagen_core.training.finetune import _device, encode, resolve_precision, training_arguments  # noqa: E402

GOLD = ROOT.parent / "shared" / "data" / "gold" / "jglue" / "jnli-v1.3_valid-v1.3.json"
SIZES = {
    "small": {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024},
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
}
LABELS = {"entailment": 0, "contradiction": 1, "neutral": 2}


def pairs(n: int) -> tuple[pd.DataFrame, str]:
    if GOLD.exists():
        rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines()][:n]
        frame = pd.DataFrame({"text": [r["sentence1"] for r in rows], "text_b": [r["sentence2"] for r in rows],
                              "label": [r["label"] for r in rows]})  # fmt: skip
        return frame, f"JNLI valid ({GOLD.name})"
    subjects, places = ["犬", "猫", "男性", "女性", "子供たち", "電車"], ["公園の芝生", "駅のホーム", "海辺", "台所"]
    text = [f"{subjects[i % 6]}が{places[i % 4]}で遊んでいる様子が写っている。" for i in range(n)]
    text_b = [f"{subjects[(i + 1) % 6]}が{places[i % 4]}にいる。" for i in range(n)]
    return pd.DataFrame(
        {"text": text, "text_b": text_b, "label": [list(LABELS)[i % 3] for i in range(n)]}
    ), "template pairs"


def build_tokenizer(frame: pd.DataFrame, folder: Path, vocab_size: int):
    import fugashi

    tagger = fugashi.Tagger()
    texts = list(frame["text"]) + list(frame["text_b"])
    words = sorted({w.surface for t in texts for w in tagger(t)})
    chars = sorted({c for t in texts for c in t})
    vocab = list(
        dict.fromkeys(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *chars, *[f"##{c}" for c in chars]])
    )
    vocab += [f"[unused{i}]" for i in range(max(0, vocab_size - len(vocab)))]  # a realistic embedding size
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertJapaneseTokenizer(str(folder / "vocab.txt"), word_tokenizer_type="mecab", subword_tokenizer_type="wordpiece",
                          mecab_kwargs={"mecab_dic": "unidic_lite"}).save_pretrained(str(folder))  # fmt: skip
    return AutoTokenizer.from_pretrained(str(folder)), len(vocab)


class _Clock(TrainerCallback):
    """Times steps 2..N (the first step pays for warm-up: allocation, kernel selection)."""

    def __init__(self):
        self.start = None
        self.steps = 0

    def on_step_end(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        if state.global_step == 1:
            self.start = time.perf_counter()
        self.steps = state.global_step
        self.end = time.perf_counter()


def throughput(config: BertConfig, features: list[dict], collator, *, steps: int, batch: int, workdir: Path) -> float:
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    task = load_registry(None)["jnli"]
    cfg = TrainConfig(batch_size=batch, max_steps=steps)
    precision = resolve_precision(cfg, _device())
    args = training_arguments(cfg, task, seed=0, output_dir=workdir, precision=precision, logging_steps=10_000)
    clock = _Clock()
    Trainer(model=model, args=args, train_dataset=features, data_collator=collator, callbacks=[clock]).train()
    return (clock.steps - 1) * batch / (clock.end - clock.start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("auto", *SIZES), default="auto", help="auto: base on a GPU, small on CPU")
    parser.add_argument("--steps", type=int, help="optimizer steps per measurement (default: 6 on CPU, 40 on GPU)")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    device = _device()
    size = args.size if args.size != "auto" else ("base" if device == "cuda" else "small")
    steps = args.steps or (40 if device == "cuda" else 6)
    frame, source = pairs(args.batch_size * steps * 2)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer, vocab = build_tokenizer(frame, Path(tmp), 32_768 if size == "base" else 0)
        task = load_registry(None)["jnli"]
        features = encode(tokenizer, task, frame, max_length=512, labels=[LABELS[x] for x in frame["label"]])
        lengths = pd.Series([len(f["input_ids"]) for f in features])
        config = BertConfig(vocab_size=vocab, max_position_embeddings=512, num_labels=3, **SIZES[size])
        gpu = torch.cuda.get_device_name(0) if device == "cuda" else "no GPU"
        print(f"{source}: {len(features):,} pairs, tokens per pair mean {lengths.mean():.1f}, max {lengths.max()}")
        print(f"model: BERT {size} (hidden {config.hidden_size}, {config.num_hidden_layers} layers, vocab {vocab:,}), "
              f"{device} ({gpu}), {resolve_precision(TrainConfig(), device)}, batch {args.batch_size}, "
              f"{steps} steps each (the first not timed), torch {torch.get_num_threads()} threads")  # fmt: skip
        pad8 = 8 if device == "cuda" else None
        dynamic = throughput(config, features, DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad8),
                             steps=steps, batch=args.batch_size, workdir=Path(tmp) / "a")  # fmt: skip
        padded = throughput(config, features, DataCollatorWithPadding(tokenizer, padding="max_length", max_length=512),
                            steps=steps, batch=args.batch_size, workdir=Path(tmp) / "b")  # fmt: skip
    print(f"{'collator':<28}{'examples/s':>12}")
    print(f"{'dynamic padding (japagen)':<28}{dynamic:>12.1f}")
    print(f"{'padding to 512 (baseline)':<28}{padded:>12.1f}")
    print(f"ratio: {dynamic / padded:.1f}x (target >= 4x)")


if __name__ == "__main__":
    main()
