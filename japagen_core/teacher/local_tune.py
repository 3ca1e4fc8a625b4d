"""LoRA fine-tuning (peft) of a local causal LM on a teacher's chat-format training file.

Each conversation is rendered with the model's own chat template; the loss is on the answer only (the
prompt's labels are -100), the way a chat model learns to reply. The adapter is saved with peft
(``adapter_config.json`` + ``adapter_model.safetensors``) into a temporary folder that is renamed into
place at the end, so a half-written adapter is never loaded. The local generation backend loads it on
top of the same base model.

Three parts (as in accelerate's nlp_example): encode, train, save. Training is the transformers Trainer,
as for the student (``training.finetune``), with the same callbacks (``training.callbacks``): the job's
CANCEL file stops it at the end of a step, and every step reports a ``Progress`` in steps (the loss in
its extras). On a GPU it trains in bf16 when the GPU has it. This module imports torch and peft:
import it only in a job process or a test.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, Trainer, TrainingArguments, set_seed
from transformers.utils import logging as hf_logging

from japagen_core.generation.local import adapter_sha, pick_device
from japagen_core.jobs.progress import Progress
from japagen_core.teacher.lora_config import LoraTuning
from japagen_core.teacher.trainfile import TeacherError
from japagen_core.training.callbacks import CancelCallback, ProgressCallback
from japagen_core.training.weights import load_tokenizer_and_model

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


def collate(features: list[dict[str, list[int]]], *, pad_id: int) -> dict[str, torch.Tensor]:
    """A batch padded to its longest conversation: pad ids, no attention and no loss on the padding."""
    width = max(len(f["input_ids"]) for f in features)
    ids = [f["input_ids"] + [pad_id] * (width - len(f["input_ids"])) for f in features]
    labels = [f["labels"] + [-100] * (width - len(f["labels"])) for f in features]
    mask = [[1] * len(f["input_ids"]) + [0] * (width - len(f["input_ids"])) for f in features]
    return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}


# --- 2. train -------------------------------------------------------------------------------------


def _bf16(device: str) -> bool:
    return device.startswith("cuda") and torch.cuda.is_bf16_supported()


def load_for_tuning(base_model: str, settings: LoraTuning, device: str):
    """Tokenizer and the base model with LoRA layers: the base in bf16 on a GPU that has it (peft keeps
    the adapter weights in fp32), else fp32."""
    hf_logging.disable_progress_bar()
    try:
        dtype = torch.bfloat16 if _bf16(device) else torch.float32
        tokenizer, model = load_tokenizer_and_model(base_model, AutoModelForCausalLM, dtype=dtype)
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


def expected_steps(examples: int, settings: LoraTuning) -> int:
    """The optimizer steps the Trainer will take: whole batches per epoch times epochs, or max_steps."""
    if settings.max_steps > 0:
        return settings.max_steps
    return math.ceil(math.ceil(examples / settings.batch_size) * settings.epochs)


def training_arguments(settings: LoraTuning, *, output_dir: Path, device: str, total: int) -> TrainingArguments:
    """AdamW over the LoRA weights with linear warmup and decay, gradients clipped at 1."""
    return TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=settings.batch_size,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        learning_rate=settings.learning_rate,
        warmup_steps=settings.warmup_ratio,  # transformers 5: a float below 1 is a ratio of the total steps
        lr_scheduler_type="linear",
        optim="adamw_torch",
        max_grad_norm=1.0,
        bf16=_bf16(device),
        use_cpu=device == "cpu",
        seed=settings.seed,
        data_seed=settings.seed,
        logging_steps=max(1, min(10, total // 20)),
        logging_first_step=True,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        remove_unused_columns=False,
    )


class _Reporter:
    """Turns the Trainer's steps into ``Progress`` dicts for the job's report callback, at most every 0.5 s
    (and always at the last step)."""

    def __init__(self, report: Callable[[dict[str, Any]], None], steps_per_epoch: int):
        self.report = report
        self.steps_per_epoch = steps_per_epoch
        self.started: float | None = None
        self.last_write = 0.0

    def __call__(self, step: int, total: int, loss: float | None) -> None:
        now = time.monotonic()
        if self.started is None:
            self.started = now - 1e-9
        if step < total and now - self.last_write < 0.5:
            return
        self.last_write = now
        rate = step / max(now - self.started, 1e-9)
        self.send(step, total, loss, rate=rate, eta=round((total - step) / rate) if rate > 0 else None)

    def send(self, step: int, total: int, loss: float | None, *, rate=None, eta=None) -> None:
        epoch = step / max(1, self.steps_per_epoch)
        loss_text = f", loss {loss:.4f}" if loss is not None else ""
        self.report(Progress(state="running", done=step, target=total, unit="steps",
                             rate_per_s=round(rate, 2) if rate is not None else None, eta_s=eta,
                             message=f"LoRA step {step}/{total}, epoch {epoch:.2f}{loss_text}",
                             extras={"loss": loss, "epoch": round(epoch, 4)}).to_json())  # fmt: skip


def train(
    model,
    tokenizer,
    examples: list[Example],
    settings: LoraTuning,
    *,
    device: str,
    scratch: Path,
    report: Callable[[dict[str, Any]], None],
    cancelled: Callable[[], bool],
) -> dict[str, Any]:
    """Train the LoRA weights with the Trainer; returns steps, the last logged loss and the last epoch's
    mean loss. Raises TuningCancelled when the job was cancelled."""
    if device.startswith("cuda:"):  # the Trainer trains on the current CUDA device
        torch.cuda.set_device(torch.device(device))
    per_epoch = math.ceil(len(examples) / settings.batch_size)
    total = expected_steps(len(examples), settings)
    shutil.rmtree(scratch, ignore_errors=True)  # left by an attempt that was killed
    args = training_arguments(settings, output_dir=scratch, device=device, total=total)
    features = [{"input_ids": e.input_ids, "labels": e.labels} for e in examples]
    cancel = CancelCallback(cancelled)
    reporter = _Reporter(report, per_epoch)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=features,
        data_collator=partial(collate, pad_id=tokenizer.pad_token_id),
        processing_class=tokenizer,
        callbacks=[cancel, ProgressCallback(reporter)],
    )
    try:
        output = trainer.train()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    model.eval()
    if cancel.stopped:
        raise TuningCancelled()
    logged = [(entry["epoch"], entry["loss"]) for entry in trainer.state.log_history if "loss" in entry]
    last_epoch = [loss for epoch, loss in logged if epoch > (logged[-1][0] - 1)] if logged else []
    loss = logged[-1][1] if logged else None
    reporter.send(int(output.global_step), total, loss)  # the last step's loss is logged after its report
    return {
        "steps": int(output.global_step),
        "loss": loss,
        "train_loss": float(output.training_loss),
        "last_epoch_loss": sum(last_epoch) / len(last_epoch) if last_epoch else None,
    }


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
    """Encode, train and save a LoRA adapter of ``base_model`` on ``records``; returns what it did. Raises
    TuningCancelled (and leaves no adapter) when ``cancelled`` says so before or during training."""
    device = pick_device(settings.device)
    report(Progress(unit="steps", message=f"loading {base_model} on {device}").to_json())
    set_seed(settings.seed)  # the LoRA weights are drawn when they are added: the same seed, the same adapter
    tokenizer, model = load_for_tuning(base_model, settings, device)
    examples = encode(tokenizer, records, max_length=settings.max_length)
    if cancelled():  # loading a large model takes a while: do not start training after a cancel
        raise TuningCancelled()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("LoRA tuning %s on %s: %d conversations, %d answer tokens, %d trainable parameters", base_model,
             device, len(examples), sum(e.answer_tokens for e in examples), trainable)  # fmt: skip
    scratch = out_dir.with_name(f".trainer-{out_dir.name}")
    outcome = train(model, tokenizer, examples, settings, device=device, scratch=scratch, report=report,
                    cancelled=cancelled)  # fmt: skip
    outcome.update(examples=len(examples), tokens=sum(len(e.input_ids) for e in examples), trainable=trainable,
                   device=device)  # fmt: skip
    sha = save_adapter(model, out_dir, {**info, "base_model": base_model, "lora": asdict(settings), **outcome})
    log.info("saved the adapter to %s (sha256 %s)", out_dir, sha[:12])
    return {**outcome, "adapter_sha": sha}
