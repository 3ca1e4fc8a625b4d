"""A tiny, randomly initialised causal LM (Llama, hidden 32, 2 layers) with a character-level Japanese
tokenizer and a chat template, built offline in a folder: what the local backend and LoRA tests run on.

The vocabulary is the Japanese characters of the prompt specs and test texts (plus 。、), so whatever the
random model samples decodes to Japanese text that the cleaner keeps.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PROJECT = Path(__file__).resolve().parents[2]
SPECIALS = ["<pad>", "<unk>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff。、]")


def vocabulary(extra_texts: list[str] = ()) -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((PROJECT / "prompts").glob("*.yaml"))]
    texts.append((PROJECT / "tests" / "openai_server.py").read_text(encoding="utf-8"))
    texts.append((PROJECT / "tests" / "training_data.py").read_text(encoding="utf-8"))
    chars = {c for t in [*texts, *extra_texts] for c in t if _JAPANESE.match(c)}
    return sorted(chars)


def build_tiny_causal_lm(folder: Path, *, hidden: int = 32, layers: int = 2, seed: int = 0) -> Path:
    """Save the tokenizer and a random Llama to ``folder``; returns it."""
    import torch
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate([*SPECIALS, *vocabulary()])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")  # one token per character
    core.decoder = decoders.Fuse()
    core.add_special_tokens(SPECIALS)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", unk_token="<unk>",
                                        eos_token="<|end|>")  # fmt: skip
    tokenizer.chat_template = CHAT_TEMPLATE
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(folder))
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=1024, pad_token_id=vocab["<pad>"], eos_token_id=vocab["<|end|>"],
                         bos_token_id=None, tie_word_embeddings=False)  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(str(folder))
    return folder
