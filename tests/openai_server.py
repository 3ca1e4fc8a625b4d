"""A local OpenAI-compatible chat server for tests, benchmarks and trying japagen without a key.

Real HTTP (stdlib ``ThreadingHTTPServer`` on port 0): canned Japanese answers, and faults on request:
429 with Retry-After, 500, timeouts, malformed JSON, empty choices, ``n`` ignored, non-Japanese text,
answers cut at the token limit (``length``), 401 for a wrong key, and two ways to stall a client: ``hang`` (accept the request, never answer) and ``drip``
(send the headers, then the body one byte every ``drip_interval`` seconds). Every request is recorded for
assertions, and every chat answer delivered in full is counted in ``answered`` (its usage), which is what a
provider bills.

It also speaks the files and fine-tuning endpoints a teacher uses (``POST /v1/files`` multipart upload,
``POST /v1/fine_tuning/jobs``, ``GET .../jobs/{id}``, ``GET .../jobs/{id}/events``, ``POST .../jobs/{id}/cancel``):
a fine-tuning job moves on one stage per retrieve (validating_files, running with metrics events, then
succeeded with a ``ft:...`` model, or failed as ``ft_outcome`` says; a file that is not chat JSON Lines
fails as OpenAI's would), so a test follows a whole job in a few polls.

And the Batch API (``GET /v1/files``, ``GET /v1/files/{id}/content``, ``POST /v1/batches``, ``GET /v1/batches``,
``GET /v1/batches/{id}``): a batch is in progress for ``batch_delay`` seconds (its request counts grow with the
time), then completes with an output file (one chat completion per line, answered like the chat endpoint)
and an error file holding every ``batch_fail_every``-th line as a failed request. ``batch_lines`` counts the
lines of every created batch per ``custom_id``, so a test can prove that no request line was sent twice.

    .venv/bin/python -m tests.openai_server --port 8000 --latency 0.1   # then --base-url http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import argparse
import email.parser
import itertools
import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SUBJECTS = ["白い犬", "若い女性", "二人の子供", "年配の男性", "黒い猫", "赤い電車", "自転車に乗った人", "大きな馬"]
PLACES = ["公園の芝生", "駅のホーム", "海辺の砂浜", "雪の積もった道", "台所のテーブル", "川沿いの道"]
ACTIONS = ["走っています", "座っています", "遊んでいます", "立ち止まっています", "歩いています"]
FAULTS = ("429", "500", "timeout", "bad_json", "empty_choices", "non_japanese", "hang", "drip", "length")


def _choice(index: int, content: str, *, cut: bool) -> dict:
    """One chat choice; ``cut``: stopped at the token limit, mid-text."""
    if cut:
        return {"index": index, "message": {"role": "assistant", "content": content[: len(content) // 2]},
                "finish_reason": "length"}  # fmt: skip
    return {"index": index, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}


class _Server(ThreadingHTTPServer):
    # The listen backlog: socketserver's default of 5 overflows when 64 clients connect at once, and the
    # dropped SYNs come back as connection errors and retries a real server would never cause.
    request_queue_size = 1024


@dataclass
class ServerConfig:
    latency: float = 0.0
    api_key: str | None = None  # when set, other keys get 401
    ignore_n: bool = False  # answer one choice whatever n asks
    fault_rate: float = 0.0  # share of requests that fail (evenly spread), cycling through ``faults``
    faults: tuple[str, ...] = ("429", "500", "timeout", "bad_json", "empty_choices")
    timeout_sleep: float = 3.0
    drip_interval: float = 2.0  # "drip": seconds between the body's bytes
    ft_polls: int = 3  # retrieves a fine-tuning job spends running (one metrics event each) before it ends
    ft_outcome: str = "succeeded"  # or "failed": how every fine-tuning job ends
    batch_delay: float = 0.5  # seconds a batch stays in progress before it completes
    batch_fail_every: int = 0  # every k-th request line of the batches fails (0: none)


@dataclass
class FakeOpenAI:
    config: ServerConfig = field(default_factory=ServerConfig)
    requests: list[dict] = field(default_factory=list)
    script: list[str | None] = field(default_factory=list)  # faults for the next requests, in order
    ft_script: list[str | None] = field(default_factory=list)  # faults for the next files / fine-tuning requests
    answered: list[dict] = field(default_factory=list)  # chat answers sent in full: number and usage
    files: dict[str, dict] = field(default_factory=dict)  # uploaded files by id, with their bytes
    ft_jobs: dict[str, dict] = field(default_factory=dict)  # fine-tuning jobs by id, as the API returns them
    batches: dict[str, dict] = field(default_factory=dict)  # batches by id, as the API returns them
    batch_lines: dict[str, int] = field(default_factory=dict)  # request lines sent in batches, per custom_id

    def __post_init__(self):
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._faults_used = 0
        self._stopping = threading.Event()  # releases the "hang" requests when the server stops
        self._batch_line_no = 0
        self.server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self, port: int = 0) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms delayed-ACK stall

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                fake._handle(self)

            def do_GET(self):
                fake._handle(self)

        self.server = _Server(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    # -- one request -------------------------------------------------------------------------------

    def _next(self) -> tuple[int, str | None]:
        with self._lock:
            number = next(self._counter)
            fault = None
            if self.script:
                fault = self.script.pop(0)
            elif int(number * self.config.fault_rate) > int(
                (number - 1) * self.config.fault_rate
            ):  # exactly that share
                fault = self.config.faults[self._faults_used % len(self.config.faults)]  # each kind in turn
                self._faults_used += 1
            return number, fault

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        if "/files" in handler.path or "/fine_tuning/" in handler.path or "/batches" in handler.path:
            return self._handle_tuning(handler)
        length = int(handler.headers.get("Content-Length", 0))
        body = json.loads(handler.rfile.read(length) or b"{}")
        number, fault = self._next()
        with self._lock:
            self.requests.append({"number": number, "path": handler.path, "body": body, "fault": fault})
        key = (handler.headers.get("Authorization") or "").removeprefix("Bearer ")
        if self.config.api_key is not None and key != self.config.api_key:
            return _send(
                handler, 401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
            )
        if not handler.path.endswith("/chat/completions"):
            return _send(handler, 404, {"error": {"message": f"no route {handler.path}"}})
        if self.config.latency:
            time.sleep(self.config.latency)
        if fault == "429":
            return _send(handler, 429, {"error": {"message": "rate limited"}}, {"Retry-After": "0.02"})
        if fault == "500":
            return _send(handler, 500, {"error": {"message": "boom"}})
        if fault == "timeout":
            time.sleep(self.config.timeout_sleep)
        if fault == "hang":  # accepted and read, never answered: the connection stays open until the server stops
            self._stopping.wait()
            handler.close_connection = True
            return None
        if fault == "bad_json":
            return _send_raw(handler, 200, b'{"id": "x", "choices": [')
        n = 1 if self.config.ignore_n else int(body.get("n") or 1)
        contents = [] if fault == "empty_choices" else [self._answer(body, number, i, fault) for i in range(n)]
        payload = {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [_choice(i, c, cut=fault == "length") for i, c in enumerate(contents)],
            "usage": {"prompt_tokens": 40, "completion_tokens": 20 * max(1, len(contents)), "total_tokens": 60},
        }
        if fault == "drip":
            return _drip(handler, json.dumps(payload).encode(), self.config.drip_interval, self._stopping)
        if _send(handler, 200, payload, {"x-request-id": f"req-{number}"}):
            with self._lock:
                self.answered.append({"number": number, **payload["usage"]})

    def _answer(self, body: dict, number: int, index: int, fault: str | None) -> str:
        last = (body.get("messages") or [{}])[-1].get("content", "")
        if fault == "non_japanese":
            return "Sorry, I can only answer in English."
        if "選択肢：" in last:  # annotation: pick one of the offered labels, deterministically
            labels = re.search(r"選択肢：([^\n（(]+)", last).group(1).split("、")
            text = "".join(m["content"] for m in body["messages"] if m["role"] == "user")
            return labels[sum(map(ord, text)) % len(labels)].strip()
        rng = random.Random(number * 1000 + index)
        sentence = f"{rng.choice(SUBJECTS)}が{rng.choice(PLACES)}で{rng.choice(ACTIONS)}。（{number}-{index}）"
        if "番号を付けて" in last:  # the numbered-list fallback prompt
            want = int(re.search(r"異なる(\d+)件", last).group(1))
            return "\n".join(f"{k + 1}. 「{sentence[:-1]}{k}）」" for k in range(want))
        return f"1. {sentence}" if index % 3 == 2 else sentence  # some answers come numbered, to be cleaned

    # -- files and fine-tuning -----------------------------------------------------------------------

    def _handle_tuning(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", 0))
        raw = handler.rfile.read(length) if length else b""
        path = handler.path.split("?")[0].rstrip("/")
        with self._lock:
            fault = self.ft_script.pop(0) if self.ft_script else None
            number = next(self._counter)
            self.requests.append({"number": number, "path": path, "method": handler.command, "fault": fault,
                                  "body": {"bytes": len(raw)} if "multipart" in (handler.headers.get("Content-Type") or "")
                                  else json.loads(raw or b"{}")})  # fmt: skip
        key = (handler.headers.get("Authorization") or "").removeprefix("Bearer ")
        if fault == "401" or (self.config.api_key is not None and key != self.config.api_key):
            return _send(
                handler, 401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
            )
        if fault == "429":
            return _send(handler, 429, {"error": {"message": "rate limited"}}, {"Retry-After": "0.02"})
        if fault == "500":
            return _send(handler, 500, {"error": {"message": "boom"}})
        parts = path.split("/")  # ['', 'v1', 'files'] or ['', 'v1', 'fine_tuning', 'jobs', id, 'events']
        with self._lock:
            if handler.command == "POST" and parts[-1] == "files":
                return self._upload(handler, raw)
            if parts[2] == "files" and handler.command == "GET":
                return self._get_file(handler, parts, handler.path)
            if parts[2] == "batches":
                return self._batches(handler, parts, json.loads(raw or b"{}") if handler.command == "POST" else {})
            if parts[2:4] != ["fine_tuning", "jobs"]:
                return _send(handler, 404, {"error": {"message": f"no route {path}"}})
            if handler.command == "POST" and len(parts) == 4:
                return self._create_job(handler, json.loads(raw or b"{}"))
            job = self.ft_jobs.get(parts[4]) if len(parts) > 4 else None
            if job is None:
                return _send(handler, 404, {"error": {"message": f"no fine-tuning job {path}"}})
            if handler.command == "GET" and len(parts) == 5:
                self._advance(job)
                return _send(handler, 200, _public(job))
            if handler.command == "GET" and parts[5] == "events":
                events = list(reversed(job["_events"]))  # newest first, as the API lists them
                return _send(handler, 200, {"object": "list", "data": events, "has_more": False})
            if handler.command == "POST" and parts[5] == "cancel":
                if job["status"] not in ("succeeded", "failed", "cancelled"):
                    job.update(status="cancelled", finished_at=int(time.time()))
                    _event(job, "info", "Fine-tuning job cancelled")
                return _send(handler, 200, _public(job))
        return _send(handler, 404, {"error": {"message": f"no route {path}"}})

    def _upload(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        head = f"Content-Type: {handler.headers.get('Content-Type')}\r\n\r\n".encode()
        message = email.parser.BytesParser().parsebytes(head + raw)
        fields = {p.get_param("name", header="content-disposition"): p for p in message.get_payload()}
        if "file" not in fields or "purpose" not in fields:
            return _send(handler, 400, {"error": {"message": "file and purpose are required"}})
        content = fields["file"].get_payload(decode=True)
        file_id = f"file-{len(self.files) + 1:06d}"
        self.files[file_id] = {
            "id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
            "filename": fields["file"].get_filename(), "purpose": fields["purpose"].get_payload(decode=True).decode(),
            "status": "processed", "content": content,
        }  # fmt: skip
        return _send(handler, 200, {k: v for k, v in self.files[file_id].items() if k != "content"})

    def _get_file(self, handler: BaseHTTPRequestHandler, parts: list[str], raw_path: str) -> None:
        if len(parts) == 3:  # the list, newest first (optionally one purpose)
            purpose = re.search(r"purpose=([a-z_-]+)", raw_path)
            files = [f for f in reversed(self.files.values()) if not purpose or f["purpose"] == purpose.group(1)]
            data = [{k: v for k, v in f.items() if k != "content"} for f in files]
            return _send(handler, 200, {"object": "list", "data": data, "has_more": False})
        file = self.files.get(parts[3])
        if file is None:
            return _send(handler, 404, {"error": {"message": f"no file {parts[3]}"}})
        if len(parts) == 5 and parts[4] == "content":
            return _send_raw(handler, 200, file["content"], {"Content-Type": "application/octet-stream"})
        return _send(handler, 200, {k: v for k, v in file.items() if k != "content"})

    def _batches(self, handler: BaseHTTPRequestHandler, parts: list[str], body: dict) -> None:
        if handler.command == "POST" and len(parts) == 3:
            return self._create_batch(handler, body)
        if handler.command == "GET" and len(parts) == 3:
            data = [_public(b) for b in reversed(self.batches.values())]
            return _send(handler, 200, {"object": "list", "data": data, "has_more": False})
        batch = self.batches.get(parts[3])
        if batch is None:
            return _send(handler, 404, {"error": {"message": f"no batch {parts[3]}"}})
        self._advance_batch(batch)
        return _send(handler, 200, _public(batch))

    def _create_batch(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        file = self.files.get(body.get("input_file_id"))
        if file is None or file["purpose"] != "batch":
            return _send(handler, 400, {"error": {"message": f"invalid input_file_id: {body.get('input_file_id')}"}})
        if body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
            return _send(handler, 400, {"error": {"message": "endpoint or completion_window not supported"}})
        lines = [json.loads(line) for line in file["content"].decode("utf-8").splitlines() if line.strip()]
        for line in lines:
            self.batch_lines[line["custom_id"]] = self.batch_lines.get(line["custom_id"], 0) + 1
        batch_id = f"batch_{len(self.batches) + 1:06d}"
        self.batches[batch_id] = {
            "id": batch_id, "object": "batch", "endpoint": body["endpoint"], "errors": None,
            "input_file_id": file["id"], "completion_window": "24h", "status": "validating",
            "output_file_id": None, "error_file_id": None, "created_at": int(time.time()),
            "in_progress_at": None, "completed_at": None, "metadata": body.get("metadata"),
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            "_lines": lines, "_ready_at": time.monotonic() + self.config.batch_delay, "_started": time.monotonic(),
        }  # fmt: skip
        return _send(handler, 200, _public(self.batches[batch_id]))

    def _advance_batch(self, batch: dict) -> None:
        """In progress until ``batch_delay`` has passed, then completed with its output and error files."""
        if batch["status"] in ("completed", "failed", "expired", "cancelled"):
            return
        lines, now = batch["_lines"], time.monotonic()
        if now < batch["_ready_at"]:
            share = (now - batch["_started"]) / max(batch["_ready_at"] - batch["_started"], 1e-9)
            batch.update(status="in_progress", in_progress_at=batch["in_progress_at"] or int(time.time()))
            batch["request_counts"]["completed"] = int(len(lines) * share)
            return
        outputs, errors = [], []
        for line in lines:
            self._batch_line_no += 1
            number = next(self._counter)
            record = {"id": f"batch_req_{number}", "custom_id": line["custom_id"], "error": None}
            k = self.config.batch_fail_every
            if k and self._batch_line_no % k == 0:
                error = {"message": "The server had an error while processing your request.", "type": "server_error"}
                errors.append({**record, "response": {"status_code": 500, "request_id": f"req-{number}",
                                                      "body": {"error": error}}})  # fmt: skip
                continue
            body = line["body"]
            n = int(body.get("n") or 1)
            contents = [self._answer(body, number, i, None) for i in range(n)]
            completion = {
                "id": f"chatcmpl-{number}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [{"index": i, "message": {"role": "assistant", "content": c}, "finish_reason": "stop"}
                            for i, c in enumerate(contents)],
                "usage": {"prompt_tokens": 40, "completion_tokens": 20 * n, "total_tokens": 40 + 20 * n},
            }  # fmt: skip
            outputs.append(
                {**record, "response": {"status_code": 200, "request_id": f"req-{number}", "body": completion}}
            )
        for kind, records in (("output_file_id", outputs), ("error_file_id", errors)):
            if records:
                content = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
                file_id = f"file-{len(self.files) + 1:06d}"
                self.files[file_id] = {"id": file_id, "object": "file", "bytes": len(content), "status": "processed",
                                       "created_at": int(time.time()), "filename": f"{batch['id']}_{kind}.jsonl",
                                       "purpose": "batch_output", "content": content}  # fmt: skip
                batch[kind] = file_id
        batch.update(status="completed", completed_at=int(time.time()),
                     request_counts={"total": len(lines), "completed": len(outputs), "failed": len(errors)})  # fmt: skip

    def _create_job(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        if body.get("training_file") not in self.files:
            return _send(handler, 400, {"error": {"message": f"invalid training_file: {body.get('training_file')}"}})
        if not str(body.get("model", "")).startswith(("gpt-", "davinci", "babbage")):
            return _send(
                handler, 400, {"error": {"message": f"model {body.get('model')} is not available for fine-tuning"}}
            )
        job_id = f"ftjob-{len(self.ft_jobs) + 1:06d}"
        hyper = ((body.get("method") or {}).get("supervised") or {}).get("hyperparameters") or {}
        job = {
            "id": job_id, "object": "fine_tuning.job", "created_at": int(time.time()), "model": body["model"],
            "training_file": body["training_file"], "validation_file": None, "status": "validating_files",
            "fine_tuned_model": None, "finished_at": None, "error": None, "organization_id": "org-test",
            "result_files": [], "seed": body.get("seed") or 0, "trained_tokens": None,
            "hyperparameters": {"n_epochs": hyper.get("n_epochs", "auto"), "batch_size": "auto",
                                "learning_rate_multiplier": "auto"},
            "method": body.get("method"), "metadata": body.get("metadata"), "suffix": body.get("suffix"),
            "_polls": 0, "_events": [],
        }  # fmt: skip
        _event(job, "info", f"Validating training file: {body['training_file']}")
        self.ft_jobs[job_id] = job
        return _send(handler, 200, _public(job))

    def _advance(self, job: dict) -> None:
        """One stage per retrieve: validating -> running (a metrics event per poll) -> succeeded / failed."""
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return
        job["_polls"] += 1
        content = self.files[job["training_file"]]["content"]
        problem = _training_file_problem(content)
        if problem or (self.config.ft_outcome == "failed" and job["_polls"] >= self.config.ft_polls):
            job.update(status="failed", finished_at=int(time.time()),
                       error={"code": "invalid_training_file" if problem else "training_failed",
                              "message": problem or "the fine-tuning job failed (scripted)", "param": None})  # fmt: skip
            _event(job, "error", job["error"]["message"])
            return
        total = self.config.ft_polls
        if job["status"] == "validating_files":
            job["status"] = "running"
            _event(job, "info", "Fine-tuning job started")
        step = min(job["_polls"], total)
        _event(job, "info", f"Step {step}/{total}: training loss={1.0 / step:.4f}", "metrics",
               {"step": step, "total_steps": total, "train_loss": 1.0 / step})  # fmt: skip
        if job["_polls"] >= total:
            epochs = job["hyperparameters"]["n_epochs"]
            suffix = job.get("suffix") or ""
            job.update(status="succeeded", finished_at=int(time.time()),
                       fine_tuned_model=f"ft:{job['model']}:japagen-test:{suffix}:{job['id'][-6:]}",
                       trained_tokens=len(content.decode("utf-8")) * (epochs if isinstance(epochs, int) else 3))  # fmt: skip
            _event(job, "info", "The job has successfully completed")


def _send(handler, status: int, payload: dict, headers: dict[str, str] | None = None) -> bool:
    return _send_raw(handler, status, json.dumps(payload, ensure_ascii=False).encode(), headers)


def _drip(handler, data: bytes, interval: float, stopping: threading.Event) -> None:
    """A valid answer, one byte every ``interval`` seconds: each read succeeds, the whole takes for ever."""
    try:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.flush()
        for i in range(len(data)):
            if stopping.wait(interval):
                break
            handler.wfile.write(data[i : i + 1])
            handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError):  # the client gave up
        pass
    handler.close_connection = True


def _send_raw(handler, status: int, data: bytes, headers: dict[str, str] | None = None) -> bool:
    """Send one answer; False when the client had gone."""
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
        handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
        return False
    return True


def _public(job: dict) -> dict:
    return {k: v for k, v in job.items() if not k.startswith("_") and k != "suffix"}


def _event(job: dict, level: str, message: str, kind: str = "message", data: dict | None = None) -> None:
    job["_events"].append({
        "id": f"ftevent-{job['id'][-6:]}-{len(job['_events']) + 1:04d}", "object": "fine_tuning.job.event",
        "created_at": int(time.time()), "level": level, "message": message, "type": kind, "data": data or {},
    })  # fmt: skip


def _training_file_problem(content: bytes) -> str | None:
    """What OpenAI would refuse in a chat fine-tuning file (a few of its checks), or None."""
    lines = [line for line in content.decode("utf-8", "replace").splitlines() if line.strip()]
    if len(lines) < 10:
        return f"Training file has {len(lines)} example(s), but must have at least 10 examples"
    for number, line in enumerate(lines, 1):
        try:
            messages = json.loads(line)["messages"]
        except (ValueError, KeyError, TypeError):
            return f"Invalid file format. Line {number}: not a JSON object with messages"
        if not messages or messages[-1].get("role") != "assistant":
            return f"Invalid file format. Line {number}: no assistant message at the end"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description="local OpenAI-compatible test server")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--faults", default=",".join(ServerConfig.faults), help=f"comma-separated, of {FAULTS}")
    parser.add_argument("--drip-interval", type=float, default=ServerConfig.drip_interval, help="drip: s per byte")
    parser.add_argument("--ignore-n", action="store_true")
    parser.add_argument("--api-key", help="answer 401 to any other key")
    args = parser.parse_args()
    config = ServerConfig(
        latency=args.latency,
        fault_rate=args.fault_rate,
        faults=tuple(args.faults.split(",")),
        ignore_n=args.ignore_n,
        drip_interval=args.drip_interval,
        api_key=args.api_key,
    )
    fake = FakeOpenAI(config)
    fake.start(args.port)
    print(f"serving an OpenAI-compatible API at {fake.base_url} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
