"""The local backend: a causal LM run in-process with transformers, behind the same ChatClient protocol.

``LocalChatClient.complete(messages, n=...)`` renders the chat with the tokenizer's chat template and
samples ``n`` answers with the run's parameters (temperature, top-p, max tokens, and the OpenAI-style
frequency penalty as a logits processor). The Runner sends many calls at once; the client queues them
and one worker generates them in batches of up to ``batch_size`` sequences (prompts left-padded, each
call's prompt repeated n times), in a thread so the job's event loop keeps checking for a cancel.
On a GPU it runs in bf16 (fp16 where bf16 is missing); on the CPU in fp32.

A LoRA adapter (``teacher.local_tune``) is loaded on top of the base model with peft and merged.
Every example records the base model, the adapter folder and the adapter's sha256 in its provenance.

The alternative for large models is a server: vLLM or Ollama speak the OpenAI API, so the default
``openai`` backend with a base URL uses them (see README). torch and transformers are imported only when
a model is loaded, so checking a run's settings (``LocalConfig``) stays cheap in the app.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from japagen_core.errors import JapagenError
from japagen_core.generation.llm import Completion, FatalLLMError, LLMConfig, LLMError, Message
from japagen_core.training.weights import load_tokenizer_and_model

log = logging.getLogger(__name__)
DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "bfloat16", "float16")
ADAPTER_WEIGHTS = "adapter_model.safetensors"


@dataclass(frozen=True)
class LocalConfig:
    """Settings of the local backend (stored in the run's job.json as ``RunConfig.local``)."""

    adapter: str | None = None  # a LoRA adapter folder (adapter_config.json + weights)
    batch_size: int = 16  # sequences per generate() call
    device: str = "auto"  # auto: cuda when present, else cpu
    dtype: str = "auto"  # auto: bf16 (or fp16) on a GPU, fp32 on the CPU
    merge_adapter: bool = True  # merge LoRA into the weights once: faster generation

    def __post_init__(self):
        problems = []
        if not 1 <= self.batch_size <= 4096:
            problems.append(f"batch_size {self.batch_size!r} must be between 1 and 4096")
        if self.device.split(":")[0] not in DEVICES:
            problems.append(f"device {self.device!r} must be one of {list(DEVICES)} (cuda:N for one GPU)")
        if self.dtype not in DTYPES:
            problems.append(f"dtype {self.dtype!r} must be one of {list(DTYPES)}")
        if self.adapter is not None and not (Path(self.adapter) / "adapter_config.json").is_file():
            problems.append(f"adapter {self.adapter!r} is not a LoRA adapter folder (no adapter_config.json)")
        if problems:
            raise JapagenError("local backend: " + "; ".join(problems))


def check_model_name(model: str) -> None:
    """A folder must exist and hold a config; anything else is taken as a Hub name (checked when loaded)."""
    looks_like_path = model.startswith((".", "/", "~")) or model.count("/") >= 2
    folder = Path(model).expanduser()
    if (looks_like_path or folder.exists()) and not (folder / "config.json").is_file():
        raise JapagenError(f"local model {model!r}: no such model folder (it needs config.json and weights)")


def adapter_sha(folder: str | Path) -> str:
    """sha256 of an adapter's weights file: which adapter made an example, even if the folder is replaced."""
    digest = hashlib.sha256()
    with (Path(folder) / ADAPTER_WEIGHTS).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pick_device(device: str = "auto") -> str:
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def pick_dtype(dtype: str, device: str):
    """The torch dtype to load weights in."""
    import torch

    if dtype != "auto":
        return getattr(torch, dtype)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def load_causal_lm(model: str, *, device: str, dtype, adapter: str | None = None,
                   merge: bool = True):  # fmt: skip
    """(tokenizer, model) ready to generate; a FatalLLMError says how to provide weights that are missing."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        tokenizer, lm = load_tokenizer_and_model(model, AutoModelForCausalLM, dtype=dtype)
    except (OSError, ValueError, ImportError) as exc:
        raise FatalLLMError("load", _weights_help(model, exc)) from None
    if adapter is not None:
        from peft import PeftModel  # only runs that use an adapter need peft loaded

        lm = PeftModel.from_pretrained(lm, adapter)
        if merge:
            lm = lm.merge_and_unload()
    if not getattr(tokenizer, "chat_template", None):
        raise FatalLLMError("load", f"{model}: the tokenizer has no chat template; use an instruct/chat model")
    tokenizer.padding_side = "left"  # generation continues each prompt from its last token
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, lm.to(device).eval()


def _weights_help(name: str, exc: BaseException) -> str:
    reason = " ".join(str(exc).split())[:300]
    return (
        f"cannot load the local model {name!r} ({type(exc).__name__}: {reason}). Give a folder with its config, "
        f"weights and tokenizer (e.g. `huggingface-cli download {name} --local-dir ./models/{name.rsplit('/', 1)[-1]}` "
        "on a machine with internet), or a Hub name that is in the local Hugging Face cache."
    )


class FrequencyPenalty:
    """OpenAI's frequency penalty as a logits processor: each token's logit minus ``penalty`` x its count
    in the answer so far."""

    def __init__(self, penalty: float, prompt_length: int):
        self.penalty, self.prompt_length = penalty, prompt_length

    def __call__(self, input_ids, scores):
        import torch

        answer = input_ids[:, self.prompt_length :]
        if answer.shape[1] == 0:
            return scores
        counts = torch.zeros_like(scores).scatter_add_(1, answer, torch.ones_like(answer, dtype=scores.dtype))
        return scores - self.penalty * counts


class _StopFlag:
    """A stopping criterion: ends a generate() call at the next token once the client is closed (a cancelled job)."""

    def __init__(self, flag: threading.Event):
        self.flag = flag

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        return torch.full((input_ids.shape[0],), self.flag.is_set(), dtype=torch.bool, device=input_ids.device)


@dataclass
class _Call:
    prompt: str
    n: int
    future: asyncio.Future
    answers: list[tuple[int, str, int]]  # (choice index, text, completion tokens)
    prompt_tokens: int = 0


class LocalChatClient:
    """ChatClient over a local causal LM (and optional LoRA adapter)."""

    def __init__(self, llm: LLMConfig, local: LocalConfig, *, seed: int = 0):
        import torch

        self.config, self.local = llm, local
        self.device = pick_device(local.device)
        self.dtype = pick_dtype(local.dtype, self.device)
        self.tokenizer, self.model = load_causal_lm(llm.model, device=self.device, dtype=self.dtype,
                                                    adapter=local.adapter, merge=local.merge_adapter)  # fmt: skip
        torch.manual_seed(seed)
        self.adapter_sha = adapter_sha(local.adapter) if local.adapter else None
        self._queue: asyncio.Queue[_Call] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: asyncio.Task | None = None
        self._stop = threading.Event()
        self._ids = itertools.count(1)
        self.calls = 0
        log.info("local model %s on %s (%s)%s", llm.model, self.device, str(self.dtype).removeprefix("torch."),
                 f" with adapter {local.adapter}" if local.adapter else "")  # fmt: skip

    @property
    def provenance(self) -> dict[str, Any]:
        """What every example made by this client records besides the run's settings."""
        return {
            "backend": "local",
            "local_model": self.config.model,
            "adapter": self.local.adapter,
            "adapter_sha": self.adapter_sha,
            "device": self.device,
            "dtype": str(self.dtype).removeprefix("torch."),
        }

    def render(self, messages: list[Message]) -> str:
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    async def complete(self, messages: list[Message], *, n: int) -> Completion:
        if self._stop.is_set():
            raise FatalLLMError("closed", "the local model was closed")
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop:  # the first call, or a new event loop (a benchmark)
            self._queue, self._loop = asyncio.Queue(), loop
            self._worker = asyncio.create_task(self._work())
        self.calls += 1
        call = _Call(self.render(messages), n, loop.create_future(), [])
        await self._queue.put(call)
        return await call.future

    async def _work(self) -> None:
        """Take every queued call, generate their sequences in batches, answer each call when its n are done."""
        assert self._queue is not None
        while True:
            calls = [await self._queue.get()]
            while not self._queue.empty():
                calls.append(self._queue.get_nowait())
            rows = [(call, k) for call in calls for k in range(call.n)]
            for start in range(0, len(rows), self.local.batch_size):
                batch = rows[start : start + self.local.batch_size]
                try:
                    outputs = await asyncio.to_thread(self.generate, [call.prompt for call, _ in batch])
                except Exception as exc:  # a CUDA OOM or the like: fail these calls, keep the worker alive
                    for call, _ in batch:
                        if not call.future.done():
                            call.future.set_exception(_as_llm_error(exc))
                    continue
                for (call, k), (text, prompt_tokens, completion_tokens) in zip(batch, outputs, strict=True):
                    call.prompt_tokens = prompt_tokens
                    call.answers.append((k, text, completion_tokens))
                    if len(call.answers) == call.n and not call.future.done():
                        answers = sorted(call.answers)
                        call.future.set_result(Completion(
                            texts=[text for _, text, _ in answers], request_id=f"local-{next(self._ids)}",
                            prompt_tokens=call.prompt_tokens, completion_tokens=sum(c for *_, c in answers),
                        ))  # fmt: skip

    def generate(self, prompts: list[str]) -> list[tuple[str, int, int]]:
        """Sample one answer per prompt in one batch: (text, prompt tokens, completion tokens) each."""
        import torch
        from transformers import LogitsProcessorList, StoppingCriteriaList

        c = self.config
        encoded = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        encoded = encoded.to(self.device)
        width = encoded["input_ids"].shape[1]
        processors = LogitsProcessorList([FrequencyPenalty(c.frequency_penalty, width)] if c.frequency_penalty else [])
        sampling = {"do_sample": True, "temperature": c.temperature, "top_p": c.top_p, "top_k": 0}
        with torch.inference_mode():
            output = self.model.generate(
                **encoded,
                **(sampling if c.temperature > 0 else {"do_sample": False}),
                max_new_tokens=c.max_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
                logits_processor=processors,
                stopping_criteria=StoppingCriteriaList([_StopFlag(self._stop)]),
            )
        answers = output[:, width:].tolist()
        prompt_lengths = encoded["attention_mask"].sum(dim=1).tolist()
        stops = _stop_ids(self.tokenizer, self.model)
        results = []
        for tokens, prompt_tokens in zip(answers, prompt_lengths, strict=True):
            end = next((i for i, t in enumerate(tokens) if t in stops), len(tokens))
            text = self.tokenizer.decode(tokens[:end], skip_special_tokens=True)
            results.append((text.strip(), int(prompt_tokens), end + (end < len(tokens))))
        return results

    async def close(self) -> None:
        self._stop.set()  # a generate() in flight ends at its next token
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)


def _stop_ids(tokenizer, model) -> set[int]:
    ids = model.generation_config.eos_token_id
    ids = set(ids if isinstance(ids, list) else [ids]) - {None}
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


def _as_llm_error(exc: Exception) -> LLMError:
    return LLMError("local_error", f"local generation failed: {type(exc).__name__}: {str(exc)[:200]}")
