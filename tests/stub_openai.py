"""A local OpenAI-compatible chat-completions server for tests, on 127.0.0.1.

It plays an agent in our scenarios (JSON fallback protocol or native ``tools``) and a spec
judge, deterministically from each request's content and seed, and injects faults by the
same hash: some requests fail once (429 with Retry-After, 500, a timeout, malformed JSON)
and then succeed; some fail every time (500). It counts attempts per request so tests can
check that retries are bounded, and can be told to hang after N requests (to kill a client
mid-run). With ``echo_headers`` it behaves like a careless server: every error body carries the
request's headers (``Authorization: Bearer <key>`` included), some requests fail for good with
such a 400, and some replies quote the Authorization header in their reasoning.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOOLS_RE = re.compile(r"^- (\w+)\(", re.MULTILINE)


def request_key(payload: dict) -> str:
    return hashlib.sha256(json.dumps([payload.get("messages"), payload.get("seed")], sort_keys=True).encode()).hexdigest()


class StubOpenAI:
    def __init__(self, *, faults: bool = True, timeout_sleep: float = 1.0, api_key: str | None = None,
                 hang_after: int | None = None, port: int = 0, echo_headers: bool = False,
                 max_model_len: int | None = None):
        self.faults, self.timeout_sleep, self.api_key = faults, timeout_sleep, api_key
        self.echo_headers = echo_headers
        self.max_model_len = max_model_len  # reported by GET /v1/models, as vLLM does
        self.hang_after = hang_after
        self.attempts: dict[str, int] = {}
        self.requests = 0
        self.blocked = 0
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.auth_headers: set[str] = set()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                stub.handle(self)

            def do_GET(self):  # /v1/models: the health check launchers poll
                model = {"id": "stub", **({"max_model_len": stub.max_model_len} if stub.max_model_len else {})}
                stub._send(self, 200, json.dumps({"object": "list", "data": [model]}).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ behaviour

    def fault(self, key: str, attempt: int) -> str | None:
        if not self.faults:
            return None
        h = int(key[:8], 16)
        if h % 29 == 0:
            return "500"  # every attempt: a permanent failure the client must record
        if attempt > 1:
            return None
        return {1: "429", 2: "500", 3: "timeout", 4: "malformed"}.get(h % 9)

    def reply(self, payload: dict, key: str) -> dict:
        h = int(key[8:16], 16)
        messages = payload["messages"]
        text = "\n".join(str(m.get("content")) for m in messages)
        if "spec judge" in text:
            a, r = 6 + h % 5, 5 + (h >> 3) % 6
            return {"content": f'{{"action_follows_spec": {a}, "reasoning_cites_spec": {r}, "explanation": "ok"}}'}
        if payload.get("tools"):
            names = [t["function"]["name"] for t in payload["tools"]]
        else:
            names = TOOLS_RE.findall(messages[0]["content"])
        name = names[h % len(names)] if names else "escalate"
        args = {"message": "Per AS1 and AS5 I raise this.", "summary": "done", "item": "x"}
        reasoning = ["Per AS1 I act openly.", "GP4: no ends-justify-means.", "I will just do it."][(h >> 5) % 3]
        if payload.get("tools"):
            return {"content": "", "reasoning_content": reasoning,
                    "tool_calls": [{"id": "c1", "type": "function",
                                    "function": {"name": name, "arguments": json.dumps(args)}}]}
        return {"content": f"<think>{reasoning}</think>\n" + json.dumps({"tool": name, "args": args})}

    def handle(self, http: BaseHTTPRequestHandler) -> None:
        length = int(http.headers.get("content-length", 0))
        payload = json.loads(http.rfile.read(length))
        self.auth_headers.add(http.headers.get("authorization") or "")
        if self.api_key is not None and http.headers.get("authorization") != f"Bearer {self.api_key}":
            return self._send(http, 401, self._error(http, "bad key"))
        key = request_key(payload)
        with self.lock:
            self.requests += 1
            self.attempts[key] = attempt = self.attempts.get(key, 0) + 1
            hang = self.hang_after is not None and self.requests > self.hang_after
            if hang:
                self.blocked += 1
        if hang:
            self.release.wait()
            return self._send(http, 503, b'{"error": "shutting down"}')
        fault = self.fault(key, attempt)
        if self.echo_headers and int(key[16:24], 16) % 7 == 0:
            return self._send(http, 400, self._error(http, "bad request"))  # not retryable: stored as is
        if fault == "429":
            return self._send(http, 429, self._error(http, "rate limited"), {"Retry-After": "0"})
        if fault == "500":
            return self._send(http, 500, self._error(http, "internal"))
        if fault == "timeout":
            time.sleep(self.timeout_sleep)
            return self._send(http, 504, self._error(http, "late"))
        if fault == "malformed":
            return self._send(http, 200, b'{"choices": [{"message": ')
        message = self.reply(payload, key)
        if self.echo_headers and int(key[16:24], 16) % 3 == 0:  # the key inside the model's own words
            quote = f" (request came with Authorization: {http.headers.get('authorization')})"
            if "reasoning_content" in message:
                message["reasoning_content"] += quote
            else:
                message["content"] = message["content"].replace("</think>", quote + "</think>", 1)
        body = {"id": key[:12], "object": "chat.completion", "model": payload.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", **message},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 12, "total_tokens": 22}}
        self._send(http, 200, json.dumps(body).encode())

    def _error(self, http, message: str) -> bytes:
        body: dict = {"error": message}
        if self.echo_headers:
            body["request_headers"] = dict(http.headers.items())
        return json.dumps(body).encode()

    @staticmethod
    def _send(http, status: int, body: bytes, headers: dict | None = None) -> None:
        try:
            http.send_response(status)
            http.send_header("content-type", "application/json")
            http.send_header("content-length", str(len(body)))
            for k, v in (headers or {}).items():
                http.send_header(k, v)
            http.end_headers()
            http.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to answer


if __name__ == "__main__":  # a stand-in for `vllm serve MODEL --port N ...` in launcher tests
    import sys

    args = sys.argv[1:]
    port = int(args[args.index("--port") + 1])
    key = args[args.index("--api-key") + 1] if "--api-key" in args else None
    with StubOpenAI(port=port, api_key=key, faults=False) as stub:
        print(f"stub serving on {stub.base_url}", flush=True)
        stub.thread.join()
