"""LoRA fine-tuning (peft) of a local causal LM on a teacher's chat-format training file.

Each conversation is rendered with the model's own chat template; the loss is on the answer only (the
prompt's labels are -100), the way a chat model learns to reply. The adapter is saved with peft
(``adapter_config.json`` + ``adapter_model.safetensors``) into a temporary folder that is renamed into
place at the end, so a half-written adapter is never loaded. The local generation backend loads it on
top of the same base model.

A short loop in three parts (as in accelerate's nlp_example): encode, train, save. It reports progress
after every step and checks the job's CANCEL file before each one. On a GPU it trains in bf16 autocast
when the GPU has it. This module imports torch and peft: import it only in a job process or a test.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging as hf_logging

from japagen_core.generation.local import adapter_sha, pick_device
from japagen_core.teacher.lora_config import LoraTuning
from japagen_core.teacher.trainfile import TeacherError

log = logging.getLogger(__name__)
TEACHER_FILE = "teacher.json"  # in the adapter folder: base model, data sha, settings, loss


class TuningCancelled(Exception):
    """The job's CANCEL file appeared during LoRA tuning."""


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]
    answer_tokens: int = field(init=False)

    def __post_init__(self):
        self.answer_tokens = sum(1 for t in self.labels if t != -100)


# --- 1. encode ------------------------------------------------------------------------------------


def encode(tokenizer, records: list[dict[str, Any]], *, max_length: int) -> list[Example]:
    """Token ids of each conversation, labels only on the answer (and its end-of-turn tokens)."""
    examples, dropped = [], 0
    for record in records:
        messages = record["messages"]
        prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=False)
        full = tokenizer.apply_chat_template(messages, tokenize=False)
        if full.startswith(prompt):  # the template's own end-of-turn after the answer is learnt too
            answer = full[len(prompt) :]
        else:  # an unusual template: the answer, then end of sequence
            answer = messages[-1]["content"] + (tokenizer.eos_token or "")
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
        ids = (prompt_ids + answer_ids)[:max_length]
        labels = ([-100] * len(prompt_ids) + answer_ids)[:max_length]
        example = Example(ids, labels)
        if example.answer_tokens == 0:
            dropped += 1  # the prompt alone fills max_length: nothing to learn from it
            continue
        examples.append(example)
    if dropped:
        log.warning("%d conversation(s) left out: their prompt is longer than max_length", dropped)
    if not examples:
        raise TeacherError(f"no conversation fits in max_length {max_length}: raise it")
    return examples


def _batch(examples: list[Example], pad_id: int, device: str) -> dict[str, torch.Tensor]:
    width = max(len(e.input_ids) for e in examples)
    ids = [e.input_ids + [pad_id] * (width - len(e.input_ids)) for e in examples]
    labels = [e.labels + [-100] * (width - len(e.labels)) for e in examples]
    mask = [[1] * len(e.input_ids) + [0] * (width - len(e.input_ids)) for e in examples]
    return {
        "input_ids": torch.tensor(ids, device=device),
        "labels": torch.tensor(labels, device=device),
        "attention_mask": torch.tensor(mask, device=device),
    }


# --- 2. train -------------------------------------------------------------------------------------


def _bf16(device: str) -> bool:
    return device.startswith("cuda") and torch.cuda.is_bf16_supported()


def load_for_tuning(base_model: str, settings: LoraTuning, device: str):
    """Tokenizer and the base model with LoRA layers: the base in bf16 on a GPU that has it (peft keeps
    the adapter weights in fp32), else fp32."""
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(base_model)
        dtype = torch.bfloat16 if _bf16(device) else torch.float32
        model = AutoModelForCausalLM.from_pretrained(base_model, dtype=dtype)
    except (OSError, ValueError, ImportError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise TeacherError(
            f"cannot load the local model {base_model!r} ({type(exc).__name__}: {reason}); give a folder with "
            "its config, weights and tokenizer, or a Hub name in the local Hugging Face cache"
        ) from None
    if not getattr(tokenizer, "chat_template", None):
        raise TeacherError(f"{base_model}: the tokenizer has no chat template; use an instruct/chat model")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    lora = LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                      target_modules=list(settings.target_modules) if settings.target_modules else None,
                      task_type="CAUSAL_LM")  # fmt: skip
    try:
        model = get_peft_model(model, lora)
    except ValueError as exc:  # no default target modules for this architecture
        raise TeacherError(f"LoRA on {base_model}: {exc}; name the layers with target_modules") from None
    return tokenizer, model.to(device)


def train(
    model,
    examples: list[Example],
    settings: LoraTuning,
    *,
    pad_id: int,
    device: str,
    report: Callable[[dict[str, Any]], None],
    cancelled: Callable[[], bool],
) -> dict[str, Any]:
    """AdamW over the LoRA weights with linear warmup and decay; returns steps, last and mean loss."""
    rng = random.Random(settings.seed)
    torch.manual_seed(settings.seed)
    per_epoch = math.ceil(len(examples) / settings.batch_size)
    total = math.ceil(per_epoch * settings.epochs)
    if settings.max_steps > 0:
        total = min(total, settings.max_steps)
    warmup = int(total * settings.warmup_ratio)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup))
    )
    autocast = _bf16(device)
    model.train()
    step, losses, started, last_report = 0, [], time.monotonic(), 0.0
    while step < total:
        order = list(range(len(examples)))
        rng.shuffle(order)
        for start in range(0, len(order), settings.batch_size):
            if step >= total:
                break
            if cancelled():
                raise TuningCancelled()
            batch = _batch([examples[i] for i in order[start : start + settings.batch_size]], pad_id, device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
                loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            losses.append(float(loss.detach()))
            now = time.monotonic()
            if now - last_report >= 0.5 or step == total:
                last_report = now
                rate = step / max(now - started, 1e-9)
                message = f"LoRA step {step}/{total}, epoch {step / per_epoch:.2f}, loss {losses[-1]:.4f}"
                eta = round((total - step) / rate)
                report({"state": "running", "unit": "steps", "ok": step, "target": total, "loss": losses[-1],
                        "rate_per_s": round(rate, 2), "eta_s": eta, "message": message})  # fmt: skip
    model.eval()
    tail = losses[-per_epoch:] if losses else [float("nan")]
    return {"steps": step, "loss": losses[-1] if losses else None, "last_epoch_loss": sum(tail) / len(tail)}


# --- 3. save --------------------------------------------------------------------------------------


def save_adapter(model, out_dir: Path, info: dict[str, Any]) -> str:
    """Write the adapter to a temp folder, then rename it into place; returns the weights' sha256."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    sha = adapter_sha(tmp)
    (tmp / TEACHER_FILE).write_text(json.dumps({**info, "adapter_sha": sha}, ensure_ascii=False, indent=1),
                                    encoding="utf-8")  # fmt: skip
    if out_dir.exists():  # a resumed job tunes again from the start and replaces the old adapter
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return sha


def tune_lora(
    records: list[dict[str, Any]],
    *,
    base_model: str,
    out_dir: Path,
    settings: LoraTuning,
    info: dict[str, Any],
    report: Callable[[dict[str, Any]], None] = lambda snapshot: None,
    cancelled: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Encode, train and save a LoRA adapter of ``base_model`` on ``records``; returns what it did."""
    device = pick_device(settings.device)
    report({"state": "running", "unit": "steps", "ok": 0, "target": 0, "message": f"loading {base_model} on {device}"})
    tokenizer, model = load_for_tuning(base_model, settings, device)
    examples = encode(tokenizer, records, max_length=settings.max_length)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("LoRA tuning %s on %s: %d conversations, %d answer tokens, %d trainable parameters", base_model,
             device, len(examples), sum(e.answer_tokens for e in examples), trainable)  # fmt: skip
    outcome = train(model, examples, settings, pad_id=tokenizer.pad_token_id, device=device, report=report,
                    cancelled=cancelled)  # fmt: skip
    outcome.update(examples=len(examples), tokens=sum(len(e.input_ids) for e in examples), trainable=trainable,
                   device=device)  # fmt: skip
    sha = save_adapter(model, out_dir, {**info, "base_model": base_model, "lora": asdict(settings), **outcome})
    log.info("saved the adapter to %s (sha256 %s)", out_dir, sha[:12])
    return {**outcome, "adapter_sha": sha}
