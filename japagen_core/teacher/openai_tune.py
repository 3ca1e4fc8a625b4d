"""Fine-tuning a teacher through the OpenAI API (or any server with its files and fine_tuning endpoints).

The flow, run inside a job process:

    1. upload the training file         client.files.create(file=..., purpose="fine-tune")
    2. start a fine-tuning job          client.fine_tuning.jobs.create(model, training_file, method=...)
    3. follow it                        client.fine_tuning.jobs.retrieve / list_events, every few seconds
    4. cancel on request                client.fine_tuning.jobs.cancel (the job's CANCEL file)

The uploaded file id and the remote job id are written to ``remote.json`` in the job folder as soon as
they exist, so a job that is killed and resumed follows the same remote job instead of paying twice.
The API key is handed to the SDK only; it is never written anywhere.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from japagen_core.generation.llm import endpoint
from japagen_core.jobs.store import write_json_atomic
from japagen_core.teacher.trainfile import TeacherError

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)
REMOTE_STATE = "remote.json"
TERMINAL = ("succeeded", "failed", "cancelled")
DEFAULT_BASE_MODEL = "gpt-4o-mini-2024-07-18"
_SUFFIX = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_CHECK_EVERY = 0.2  # seconds between looks at the CANCEL file while waiting for the next poll


@dataclass(frozen=True)
class OpenAITuning:
    """How the remote job runs. ``n_epochs`` is explicit (not "auto") so the cost shown before launch holds."""

    n_epochs: int = 3
    suffix: str | None = "japagen"
    seed: int = 0
    poll_seconds: float = 10.0
    timeout: float = 120.0
    max_retries: int = 5

    def __post_init__(self):
        problems = []
        if not 1 <= self.n_epochs <= 50:
            problems.append(f"n_epochs {self.n_epochs!r} must be between 1 and 50")
        if self.suffix is not None and not _SUFFIX.match(self.suffix):
            problems.append(f"suffix {self.suffix!r} must be 1-40 letters, digits, '-' or '_'")
        if not 0 < self.poll_seconds <= 600:
            problems.append(f"poll_seconds {self.poll_seconds!r} must be in (0, 600]")
        if self.timeout <= 0 or self.max_retries < 0:
            problems.append("timeout must be positive and max_retries >= 0")
        if problems:
            raise TeacherError("OpenAI fine-tuning settings: " + "; ".join(problems))


def _call(what: str, where: str, fn: Callable[[], Any]) -> Any:
    """Run one SDK call (the SDK retries 408/409/429/5xx); a failure becomes a TeacherError naming it."""
    import openai  # loads only in a tuning job, not with the pages and the CLI

    try:
        return fn()
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise TeacherError(f"{what}: the server at {where} refused the API key ({exc.status_code})") from None
    except openai.NotFoundError as exc:
        raise TeacherError(f"{what}: not found at {where} ({_message(exc)})") from None
    except openai.BadRequestError as exc:
        raise TeacherError(f"{what} was refused: {_message(exc)}") from None
    except openai.APITimeoutError:
        raise TeacherError(f"{what}: no answer from {where} after retries") from None
    except openai.APIConnectionError as exc:
        raise TeacherError(f"{what}: cannot reach {where} ({exc})") from None
    except openai.APIStatusError as exc:
        raise TeacherError(f"{what}: server error {exc.status_code} after retries ({_message(exc)})") from None


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    return str(error.get("message") or exc.message)[:300]


class FineTuningFlow:
    """One teacher's remote fine-tuning, from upload to the resulting model."""

    def __init__(
        self,
        *,
        base_model: str,
        base_url: str | None,
        api_key: str,
        settings: OpenAITuning,
        state_dir: Path,
        teacher_id: str,
        report: Callable[[dict[str, Any]], None] = lambda snapshot: None,
        cancelled: Callable[[], bool] = lambda: False,
        on_created: Callable[[str], None] = lambda remote_id: None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        import openai

        self.base_model, self.settings, self.teacher_id = base_model, settings, teacher_id
        self.client = openai.OpenAI(api_key=api_key, base_url=endpoint(base_url), timeout=settings.timeout,
                                    max_retries=settings.max_retries)  # fmt: skip
        self.where = str(self.client.base_url)
        self.state_path = state_dir / REMOTE_STATE
        self.report, self.cancelled, self.on_created, self.sleep = report, cancelled, on_created, sleep
        self.events: list[dict[str, Any]] = []
        self._seen: set[str] = set()
        self.progress: dict[str, Any] = {}

    def state(self) -> dict[str, Any]:
        """What was created remotely so far (file id, remote job id): a resumed job reuses it."""
        try:
            return json.loads(self.state_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}

    def _save_state(self, **values: Any) -> None:
        write_json_atomic(self.state_path, {**self.state(), **values})

    # -- the steps -------------------------------------------------------------------------------

    def upload(self, data: bytes) -> str:
        state = self.state()
        if state.get("file_id"):
            return state["file_id"]
        name = f"japagen-teacher-{self.teacher_id}.jsonl"
        upload = lambda: self.client.files.create(file=(name, data, "application/jsonl"), purpose="fine-tune")  # noqa: E731
        uploaded = _call("uploading the training file", self.where, upload)
        self._save_state(file_id=uploaded.id)
        log.info("uploaded the training file (%d bytes) as %s", len(data), uploaded.id)
        return uploaded.id

    def create(self, file_id: str) -> str:
        """Start the remote job; a resumed job follows its earlier one unless that one failed or was cancelled."""
        previous = self.state().get("remote_job_id")
        if previous:
            job = _call("following the fine-tuning job", self.where,
                        lambda: self.client.fine_tuning.jobs.retrieve(previous))  # fmt: skip
            if job.status not in ("failed", "cancelled"):
                log.info("resuming: following fine-tuning job %s (%s) again", previous, job.status)
                return previous
            log.info("fine-tuning job %s %s: starting a new one", previous, job.status)
        s = self.settings
        kwargs: dict[str, Any] = {
            "model": self.base_model,
            "training_file": file_id,
            "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": s.n_epochs}}},
            "seed": s.seed,
            "metadata": {"japagen_teacher": self.teacher_id},
        }
        if s.suffix:
            kwargs["suffix"] = s.suffix
        job = _call(f"starting fine-tuning of {self.base_model}", self.where,
                    lambda: self.client.fine_tuning.jobs.create(**kwargs))  # fmt: skip
        self._save_state(remote_job_id=job.id)
        self.on_created(job.id)
        log.info("fine-tuning job %s started on %s", job.id, self.base_model)
        return job.id

    def poll(self, remote_id: str):
        job = _call("following the fine-tuning job", self.where,
                    lambda: self.client.fine_tuning.jobs.retrieve(remote_id))  # fmt: skip
        page = _call("reading the fine-tuning events", self.where,
                     lambda: self.client.fine_tuning.jobs.list_events(remote_id, limit=100))  # fmt: skip
        for event in reversed(page.data):  # the API lists the newest first
            if event.id in self._seen:
                continue
            self._seen.add(event.id)
            record = {"time": event.created_at, "level": event.level, "message": event.message,
                      "type": event.type, "data": event.data}  # fmt: skip
            self.events.append(record)
            log.info("event: [%s] %s", event.level, event.message)
            data = event.data if isinstance(event.data, dict) else {}
            if event.type == "metrics" and "step" in data:
                self.progress.update(done=int(data["step"]), target=int(data.get("total_steps") or 0) or None,
                                     loss=data.get("train_loss"))  # fmt: skip
        return job

    def cancel(self, remote_id: str):
        log.info("cancel requested: cancelling fine-tuning job %s", remote_id)
        job = _call("cancelling the fine-tuning job", self.where,
                    lambda: self.client.fine_tuning.jobs.cancel(remote_id))  # fmt: skip
        return job

    # -- the whole flow ----------------------------------------------------------------------------

    def run(self, data: bytes, *, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Upload, start and follow; returns the outcome (succeeded or cancelled), TeacherError when it failed."""
        extra = extra or {}
        self._report("uploading the training file", extra)
        file_id = self.upload(data)
        if self.cancelled():
            return {"state": "cancelled", "file_id": file_id, "remote_job_id": None}
        remote_id = self.create(file_id)
        extra = {**extra, "remote_job_id": remote_id}
        while True:
            job = self.poll(remote_id)
            latest = self.events[-1]["message"] if self.events else ""
            self._report(f"{job.status}: {latest}" if latest else job.status, {**extra, "remote_status": job.status})
            if job.status in TERMINAL:
                break
            if self._wait_or_cancel():
                job = self.cancel(remote_id)
                job = self.poll(remote_id) if job.status not in TERMINAL else job
                if job.status != "succeeded":
                    self._report("cancelled", {**extra, "remote_status": job.status})
                    return {"state": "cancelled", "file_id": file_id, "remote_job_id": remote_id}
                break  # it finished before the cancel reached it: keep the model
        outcome = {"file_id": file_id, "remote_job_id": remote_id, "trained_tokens": job.trained_tokens,
                   "status": job.status}  # fmt: skip
        if job.status == "succeeded" and job.fine_tuned_model:
            return {**outcome, "state": "succeeded", "model": job.fine_tuned_model}
        if job.status == "cancelled":
            return {**outcome, "state": "cancelled"}
        reason = job.error.message if job.error and job.error.message else "no reason given"
        code = f" ({job.error.code})" if job.error and job.error.code else ""
        raise TeacherError(f"fine-tuning job {remote_id} {job.status}{code}: {reason}")

    def _wait_or_cancel(self) -> bool:
        """Wait until the next poll; True as soon as a cancel is requested."""
        deadline = time.monotonic() + self.settings.poll_seconds
        while True:
            if self.cancelled():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sleep(min(_CHECK_EVERY, left))

    def _report(self, message: str, extra: dict[str, Any]) -> None:
        events = [{k: e[k] for k in ("time", "level", "message")} for e in self.events[-30:]]
        self.report({"state": "running", "unit": "steps", "done": 0, "target": 0, **extra, **self.progress,
                     "message": message, "events": events})  # fmt: skip
