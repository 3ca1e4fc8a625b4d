"""A local OpenAI-compatible chat server for tests, benchmarks and trying japagen without a key.

Real HTTP (stdlib ``ThreadingHTTPServer`` on port 0): canned Japanese answers, and faults on request:
429 with Retry-After, 500, timeouts, malformed JSON, empty choices, ``n`` ignored, non-Japanese text,
401 for a wrong key. Every request is recorded for assertions.

    .venv/bin/python -m tests.openai_server --port 8000 --latency 0.1   # then --base-url http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import argparse
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
FAULTS = ("429", "500", "timeout", "bad_json", "empty_choices", "non_japanese")


@dataclass
class ServerConfig:
    latency: float = 0.0
    api_key: str | None = None  # when set, other keys get 401
    ignore_n: bool = False  # answer one choice whatever n asks
    fault_rate: float = 0.0  # share of requests that fail (evenly spread), cycling through ``faults``
    faults: tuple[str, ...] = ("429", "500", "timeout", "bad_json", "empty_choices")
    timeout_sleep: float = 3.0


@dataclass
class FakeOpenAI:
    config: ServerConfig = field(default_factory=ServerConfig)
    requests: list[dict] = field(default_factory=list)
    script: list[str | None] = field(default_factory=list)  # faults for the next requests, in order

    def __post_init__(self):
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._faults_used = 0
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

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
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
        if fault == "bad_json":
            return _send_raw(handler, 200, b'{"id": "x", "choices": [')
        n = 1 if self.config.ignore_n else int(body.get("n") or 1)
        contents = [] if fault == "empty_choices" else [self._answer(body, number, i, fault) for i in range(n)]
        payload = {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": c}, "finish_reason": "stop"}
                for i, c in enumerate(contents)
            ],
            "usage": {"prompt_tokens": 40, "completion_tokens": 20 * max(1, len(contents)), "total_tokens": 60},
        }
        _send(handler, 200, payload, {"x-request-id": f"req-{number}"})

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


def _send(handler, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
    _send_raw(handler, status, json.dumps(payload, ensure_ascii=False).encode(), headers)


def _send_raw(handler, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description="local OpenAI-compatible test server")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--faults", default=",".join(ServerConfig.faults), help=f"comma-separated, of {FAULTS}")
    parser.add_argument("--ignore-n", action="store_true")
    parser.add_argument("--api-key", help="answer 401 to any other key")
    args = parser.parse_args()
    config = ServerConfig(
        latency=args.latency,
        fault_rate=args.fault_rate,
        faults=tuple(args.faults.split(",")),
        ignore_n=args.ignore_n,
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
