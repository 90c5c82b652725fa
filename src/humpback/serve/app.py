"""An OpenAI-compatible HTTP server over local HF models (standard library http.server, one thread per
connection, the model calls serialised by the backend's lock).

Endpoints: POST /v1/chat/completions and /v1/completions (with logprobs), GET /v1/models, GET /health,
GET /humpback/stats (request counters, for tests and monitoring). Streaming is not offered. A model is
addressed by its served name or by its folder path. Errors use OpenAI's JSON error shape.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, Optional

from humpback.inference.openai_engine import is_loopback_host
from humpback.serve.faults import FaultInjector, malformed_body

log = logging.getLogger("humpback.serve")
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_TOP_LOGPROBS = 20


class RequestError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", param: Optional[str] = None):
        super().__init__(message)
        self.status, self.kind, self.param = status, kind, param


def _number(body: dict[str, Any], name: str, default: Any, lo: float, hi: float, integer: bool = False) -> Any:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise RequestError(400, f"{name} must be {'an integer' if integer else 'a number'}", param=name)
    if not lo <= value <= hi:
        raise RequestError(400, f"{name} must be between {lo:g} and {hi:g}", param=name)
    return value


def _stop(body: dict[str, Any]) -> list[str]:
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop or []
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops) or len(stops) > 4:
        raise RequestError(400, "stop must be a string or a list of at most 4 strings", param="stop")
    return stops


def _sampling(body: dict[str, Any], default_max_tokens: int) -> dict[str, Any]:
    if body.get("stream"):
        raise RequestError(400, "stream=true is not supported by humpback-serve", param="stream")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    return {
        "max_tokens": _number({"max_tokens": max_tokens}, "max_tokens", default_max_tokens, 1, 1 << 20, integer=True),
        "temperature": float(_number(body, "temperature", 1.0, 0.0, 2.0)),
        "top_p": float(_number(body, "top_p", 1.0, 0.0, 1.0)),
        "seed": _number(body, "seed", None, -(1 << 63), (1 << 63) - 1, integer=True),
        "stop": _stop(body),
    }


def check_bind(host: str, api_key: Optional[str], insecure: bool = False) -> None:
    """Refuse to serve beyond this machine with no key: anyone who can reach the port could use the models."""
    if not api_key and not insecure and not is_loopback_host(host):
        raise ValueError(f"refusing to listen on {host or 'every interface'} without an API key: set one with --api-key-env VAR, "
                         "or pass --insecure to serve without one")


class HumpbackServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung client never keeps the process alive

    def __init__(self, backends: dict[str, Any], host: str = "127.0.0.1", port: int = 0,
                 faults: Optional[FaultInjector] = None, api_key: Optional[str] = None, insecure: bool = False):
        if not backends:
            raise ValueError("humpback-serve needs at least one model")
        check_bind(host, api_key, insecure)
        self.backends = dict(backends)
        self.aliases = {name: name for name in backends}
        for name, backend in backends.items():
            folder = getattr(backend, "model_dir", None)
            if folder:
                self.aliases[str(Path(folder).resolve())] = name
        self.faults = faults or FaultInjector()
        self.api_key = api_key
        self.stopping = threading.Event()
        self.counters = {"requests": 0, "completions": 0, "errors": 0}
        self._counter_lock = threading.Lock()
        super().__init__((host, port), Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    def count(self, name: str) -> None:
        with self._counter_lock:
            self.counters[name] += 1

    def stats(self) -> dict[str, Any]:
        with self._counter_lock:
            return {**self.counters, "injected": dict(self.faults.injected)}

    def backend_for(self, model: Any) -> tuple[str, Any]:
        if not isinstance(model, str) or not model:
            raise RequestError(400, "model is required", param="model")
        name = self.aliases.get(model)
        if name is None and ("/" in model or "\\" in model):
            name = self.aliases.get(str(Path(model).expanduser().resolve()))
        if name is None:
            raise RequestError(404, f"the model {model!r} is not served here (served: {sorted(self.backends)})", "invalid_request_error", "model")
        return name, self.backends[name]

    def shutdown(self) -> None:
        self.stopping.set()  # wakes handlers sleeping on an injected delay
        super().shutdown()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HumpbackServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.debug("%s %s", self.address_string(), format % args)  # never the headers (they hold the key)

    # ---- plumbing ------------------------------------------------------------------------------
    def _send(self, status: int, payload: dict[str, Any], headers: Optional[dict[str, str]] = None) -> None:
        self._send_bytes(status, json.dumps(payload, ensure_ascii=False).encode(), headers)

    def _send_bytes(self, status: int, body: bytes, headers: Optional[dict[str, str]] = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its timeout): nothing to do
            self.close_connection = True

    def _error(self, status: int, message: str, kind: str = "invalid_request_error", param: Optional[str] = None,
               headers: Optional[dict[str, str]] = None) -> None:
        self.server.count("errors")
        self._send(status, {"error": {"message": message, "type": kind, "param": param, "code": status}}, headers)

    def _authorised(self) -> bool:
        if not self.server.api_key:
            return True
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.server.api_key}".encode())

    def _read_json(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise RequestError(400, "bad Content-Length") from None
        if length > MAX_BODY_BYTES:
            raise RequestError(413, "request body too large")
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RequestError(400, f"the body is not valid JSON ({e})") from None
        if not isinstance(body, dict):
            raise RequestError(400, "the body must be a JSON object")
        return body

    # ---- routes --------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.count("requests")
        path = self.path.split("?")[0].rstrip("/")
        if path == "/health":
            return self._send(200, {"status": "ok"})
        if not self._authorised():
            return self._error(401, "invalid or missing API key", "authentication_error")
        if path == "/v1/models":
            data = [{"id": name, "object": "model", "created": 0, "owned_by": "humpback"} for name in self.server.backends]
            return self._send(200, {"object": "list", "data": data})
        if path == "/humpback/stats":
            return self._send(200, self.server.stats())
        self._error(404, f"no route {path}")

    def do_POST(self) -> None:  # noqa: N802
        self.server.count("requests")
        path = self.path.split("?")[0].rstrip("/")
        routes = {"/v1/chat/completions": self._chat, "/v1/completions": self._completions}
        try:
            body = self._read_json()  # read it whatever happens next, so a kept-alive connection stays in sync
            if path not in routes:
                raise RequestError(404, f"no route {path}")
            if not self._authorised():
                raise RequestError(401, "invalid or missing API key", "authentication_error")
            fault = self.server.faults.next_fault()
            if fault.delay_s > 0 and self.server.stopping.wait(fault.delay_s):
                self.close_connection = True
                return  # shutting down: drop it
            if fault.status is not None:
                kind = "rate_limit_error" if fault.status == 429 else "server_error"
                return self._error(fault.status, f"injected fault (HTTP {fault.status})", kind, headers=fault.headers)
            payload = routes[path](body)
        except RequestError as e:
            return self._error(e.status, str(e), e.kind, e.param)
        except Exception as e:  # a bug or an out-of-memory: report it, keep serving
            log.exception("request failed")
            return self._error(500, f"{type(e).__name__}: {e}", "server_error")
        if fault.body is not None:  # served, but the 200 reply is broken (counted as injected, not as a completion)
            return self._send_bytes(200, malformed_body(fault.body, payload))
        self.server.count("completions")
        self._send(200, payload)

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        name, backend = self.server.backend_for(body.get("model"))
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
            raise RequestError(400, "messages must be a non-empty list of {role, content} objects with string content", param="messages")
        params = _sampling(body, 256)
        n = _number(body, "n", 1, 1, 16, integer=True)
        top = _number(body, "top_logprobs", 0, 0, MAX_TOP_LOGPROBS, integer=True) if body.get("logprobs") else 0
        prompt = backend.render_chat(messages)
        done = backend.complete([prompt] * n, top_logprobs=top, **params)
        choices = []
        for i, c in enumerate(done):
            logprobs = None
            if body.get("logprobs"):
                logprobs = {"content": [
                    {"token": t, "logprob": lp, "bytes": list(t.encode()),
                     "top_logprobs": [{"token": a, "logprob": alp, "bytes": list(a.encode())} for a, alp in (c.top_logprobs[s] if top else [])]}
                    for s, (t, lp) in enumerate(zip(c.tokens, c.token_logprobs))]}
            choices.append({"index": i, "message": {"role": "assistant", "content": c.text}, "logprobs": logprobs, "finish_reason": c.finish_reason})
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()), "model": name,
                "choices": choices, "usage": _usage(done, n_prompts=1)}

    def _completions(self, body: dict[str, Any]) -> dict[str, Any]:
        name, backend = self.server.backend_for(body.get("model"))
        prompt = body.get("prompt")
        prompts = [prompt] if isinstance(prompt, str) else prompt
        if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
            raise RequestError(400, "prompt must be a string or a non-empty list of strings (token ids are not supported)", param="prompt")
        if body.get("echo"):
            raise RequestError(400, "echo=true is not supported by humpback-serve", param="echo")
        params = _sampling(body, 16)
        n = _number(body, "n", 1, 1, 16, integer=True)
        k = _number(body, "logprobs", None, 0, MAX_TOP_LOGPROBS, integer=True)
        done = backend.complete([p for p in prompts for _ in range(n)], top_logprobs=k or 0, **params)
        choices = []
        for i, c in enumerate(done):
            logprobs = None
            if k is not None:
                offsets, at = [], 0
                for t in c.tokens:
                    offsets.append(at)
                    at += len(t)
                logprobs = {"tokens": c.tokens, "token_logprobs": c.token_logprobs, "text_offset": offsets,
                            "top_logprobs": [dict(alts) for alts in c.top_logprobs] if k else None}
            choices.append({"index": i, "text": c.text, "logprobs": logprobs, "finish_reason": c.finish_reason})
        return {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion", "created": int(time.time()), "model": name,
                "choices": choices, "usage": _usage(done, n_prompts=len(prompts))}


def _usage(done: list[Any], n_prompts: int) -> dict[str, int]:
    n = max(1, len(done) // max(1, n_prompts))  # each prompt is counted once, however many choices it has
    prompt_tokens = sum(c.prompt_tokens for c in done[::n])
    completion_tokens = sum(c.completion_tokens for c in done)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}


@contextmanager
def serve_in_thread(server: HumpbackServer) -> Iterator[HumpbackServer]:
    """Serve on a background thread for the duration of the block, then stop and close the socket."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="humpback-serve", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
