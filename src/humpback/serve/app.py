"""An OpenAI-compatible HTTP server over local HF models: FastAPI routes served by uvicorn, the model
calls made by one micro-batching worker per model (serve.batcher), so concurrent requests share forward
passes while the event loop keeps accepting new ones.

Endpoints: POST /v1/chat/completions and /v1/completions (with logprobs), GET /v1/models, GET /health,
GET /humpback/stats (request, batch and injected-fault counters, for tests and monitoring). Streaming
is not offered. A model is addressed by its served name or by its folder path. Request bodies are
checked by pydantic models (ChatRequest, CompletionRequest; unknown fields are ignored, as OpenAI's
clients send extras) and every error uses OpenAI's JSON error shape, naming the offending param.

A POST is handled in this order, each step answering with its own error: read the JSON body (400, 413),
check the key (401), meet the next injected fault (serve.faults: a delay, an error status, or a broken
200 body), validate the body (400), find the model (404), run it (500 if that fails). Headers are never
logged: they hold the key.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, Optional, Union

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from humpback.inference.openai_engine import is_loopback_host
from humpback.serve.batcher import DEFAULT_MAX_WAIT_MS, MicroBatcher
from humpback.serve.faults import FaultInjector, malformed_body

log = logging.getLogger("humpback.serve")
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_TOP_LOGPROBS = 20
GRACEFUL_SHUTDOWN_S = 10  # in-flight requests get this long to finish once the server is told to stop


class RequestError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", param: Optional[str] = None,
                 headers: Optional[dict[str, str]] = None):
        super().__init__(message)
        self.status, self.kind, self.param, self.headers = status, kind, param, headers


# ---- request bodies ----------------------------------------------------------------------------
class _Sampling(BaseModel):
    """Decoding fields both endpoints take. Strict: a bool or a string is not a number, a float is not an integer."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(strict=True)
    max_tokens: Optional[int] = Field(None, ge=1, le=1 << 20, strict=True)
    max_completion_tokens: Optional[int] = Field(None, ge=1, le=1 << 20, strict=True)
    temperature: Optional[float] = Field(None, ge=0.0, le=2.0, strict=True)
    top_p: Optional[float] = Field(None, ge=0.0, le=1.0, strict=True)
    n: Optional[int] = Field(None, ge=1, le=16, strict=True)
    seed: Optional[int] = Field(None, ge=-(1 << 63), le=(1 << 63) - 1, strict=True)
    stop: Union[str, list[str], None] = None
    stream: Optional[bool] = None

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_list(cls, value: Any) -> Any:
        stops = [value] if isinstance(value, str) else [] if value is None else value
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops) or len(stops) > 4:
            raise ValueError("stop must be a string or a list of at most 4 strings")
        return stops

    @field_validator("stream")
    @classmethod
    def _no_stream(cls, value: Optional[bool]) -> Optional[bool]:
        if value:
            raise ValueError("stream=true is not supported by humpback-serve")
        return value

    def params(self, default_max_tokens: int) -> dict[str, Any]:
        """The decoding arguments of `HFRunner.complete`."""
        max_tokens = self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens
        return {"max_tokens": max_tokens or default_max_tokens,
                "temperature": 1.0 if self.temperature is None else float(self.temperature),
                "top_p": 1.0 if self.top_p is None else float(self.top_p),
                "seed": self.seed, "stop": list(self.stop or [])}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool fields ...: passed on to the chat template

    role: Optional[str] = None
    content: str = Field(strict=True)


class ChatRequest(_Sampling):
    messages: list[ChatMessage]
    logprobs: Optional[bool] = None
    top_logprobs: Optional[int] = Field(None, ge=0, le=MAX_TOP_LOGPROBS, strict=True)

    @field_validator("messages", mode="before")
    @classmethod
    def _messages(cls, value: Any) -> Any:
        if not isinstance(value, list) or not value or not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in value):
            raise ValueError("messages must be a non-empty list of {role, content} objects with string content")
        return value


class CompletionRequest(_Sampling):
    prompt: Union[str, list[str]]
    logprobs: Optional[int] = Field(None, ge=0, le=MAX_TOP_LOGPROBS, strict=True)  # this many alternatives per token
    echo: Optional[bool] = None

    @field_validator("prompt", mode="before")
    @classmethod
    def _prompts(cls, value: Any) -> Any:
        prompts = [value] if isinstance(value, str) else value
        if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
            raise ValueError("prompt must be a string or a non-empty list of strings (token ids are not supported)")
        return prompts

    @field_validator("echo")
    @classmethod
    def _no_echo(cls, value: Optional[bool]) -> Optional[bool]:
        if value:
            raise ValueError("echo=true is not supported by humpback-serve")
        return value


def _validation_error(errors: list[Any]) -> RequestError:
    """A pydantic error as OpenAI reports one: 400, the top-level field as param, its path in the message."""
    first = errors[0] if errors else {}
    loc = [p for p in first.get("loc", ()) if p != "body"]
    param = str(loc[0]) if loc else None
    msg = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    path = ".".join(str(p) for p in loc)
    return RequestError(400, f"{path}: {msg}" if path else msg, param=param)


def check_bind(host: str, api_key: Optional[str], insecure: bool = False) -> None:
    """Refuse to serve beyond this machine with no key: anyone who can reach the port could use the models."""
    if not api_key and not insecure and not is_loopback_host(host):
        raise ValueError(f"refusing to listen on {host or 'every interface'} without an API key: set one with --api-key-env VAR, "
                         "or pass --insecure to serve without one")


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket for host:port, bound now so the real port is known before serving starts."""
    if not host:  # every IPv4 interface, as http.server took ""
        family, address = socket.AF_INET, ("", port)
    else:
        family, _, _, _, address = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)[0]
    sock = socket.create_server(address[:2], family=family, backlog=2048)
    sock.setblocking(False)
    return sock


class _Uvicorn(uvicorn.Server):
    def capture_signals(self):  # type: ignore[override] - HumpbackServer.serve_forever handles signals itself
        return _nothing()


@contextmanager
def _nothing() -> Iterator[None]:
    yield


class HumpbackServer:
    """The server for `backends` ({served name: HFRunner-like}), bound at construction (port 0: any free
    port, `.url` tells which). Serve once, with `serve_forever()` (blocking) or `serve_in_thread`."""

    def __init__(self, backends: dict[str, Any], host: str = "127.0.0.1", port: int = 0,
                 faults: Optional[FaultInjector] = None, api_key: Optional[str] = None, insecure: bool = False,
                 max_wait_ms: float = DEFAULT_MAX_WAIT_MS):
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
        self.batchers = {name: MicroBatcher(backend, max_wait_ms, name) for name, backend in self.backends.items()}
        self.stopping = threading.Event()
        self.counters = {"requests": 0, "completions": 0, "errors": 0}
        self._counter_lock = threading.Lock()
        self._started = threading.Event()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._wake: Optional[asyncio.Event] = None  # set on shutdown: wakes requests sleeping on an injected delay
        self._error: Optional[BaseException] = None
        self.socket = _listen(host, port)
        self.app = build_app(self)
        config = uvicorn.Config(self.app, lifespan="off", log_config=None, access_log=False,
                                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
        self._uvicorn = _Uvicorn(config)

    # ---- state ---------------------------------------------------------------------------------
    @property
    def server_address(self) -> tuple[str, int]:
        host, port = self.socket.getsockname()[:2]
        return host, port

    @property
    def url(self) -> str:
        host, port = self.server_address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"

    def count(self, name: str) -> None:
        with self._counter_lock:
            self.counters[name] += 1

    def stats(self) -> dict[str, Any]:
        """requests, completions, errors; batches (forward batches run), batched_prompts (prompts in
        them), batched_requests (requests they served); injected (faults by kind)."""
        batches = {"batches": 0, "batched_prompts": 0, "batched_requests": 0}
        for batcher in self.batchers.values():
            for k, v in batcher.stats().items():
                batches[k] += v
        with self._counter_lock:
            return {**self.counters, **batches, "injected": dict(self.faults.injected)}

    def backend_for(self, model: Any) -> tuple[str, Any]:
        if not isinstance(model, str) or not model:
            raise RequestError(400, "model is required", param="model")
        name = self.aliases.get(model)
        if name is None and ("/" in model or "\\" in model):
            name = self.aliases.get(str(Path(model).expanduser().resolve()))
        if name is None:
            raise RequestError(404, f"the model {model!r} is not served here (served: {sorted(self.backends)})", "invalid_request_error", "model")
        return name, self.backends[name]

    # ---- serving -------------------------------------------------------------------------------
    def serve_forever(self, ready: Optional[Callable[[], None]] = None, handle_signals: bool = True) -> None:
        """Serve until `shutdown()` (or, from the main thread with `handle_signals`, SIGINT/SIGTERM: a
        second one forces the exit). `ready()` is called once the server accepts requests."""
        main = threading.current_thread() is threading.main_thread()
        previous = {}
        if handle_signals and main:
            previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            asyncio.run(self._serve(ready))
        except BaseException as e:
            self._error = e
            raise
        finally:
            self._started.set()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame: Any) -> None:
        if self.stopping.is_set():
            self._uvicorn.force_exit = True
        self.shutdown()

    async def _serve(self, ready: Optional[Callable[[], None]]) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if self.stopping.is_set():
            self._wake.set()
        for batcher in self.batchers.values():
            batcher.start()
        try:
            task = asyncio.create_task(self._uvicorn.serve(sockets=[self.socket]))
            while not self._uvicorn.started and not task.done():
                await asyncio.sleep(0.005)
            if self._uvicorn.started:
                self._started.set()
                if ready is not None:
                    ready()
            await task
        finally:
            for batcher in self.batchers.values():
                batcher.stop()

    def wait_started(self, timeout: float = 30.0) -> None:
        if not self._started.wait(timeout):
            raise TimeoutError(f"humpback-serve did not start within {timeout:g}s")
        if self._error is not None or not self._uvicorn.started:
            raise RuntimeError("humpback-serve failed to start") from self._error

    def shutdown(self) -> None:
        """Stop serving (from any thread; returns at once): wakes requests sleeping on an injected delay,
        lets in-flight ones finish, then stops the model workers."""
        self.stopping.set()
        self._uvicorn.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop closed meanwhile: nothing is sleeping
                pass

    def server_close(self) -> None:
        self.socket.close()

    async def delay(self, seconds: float) -> bool:
        """Sleep `seconds` without holding up other requests; True when cut short by a shutdown."""
        assert self._wake is not None
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
            return True
        except asyncio.TimeoutError:
            return False

    async def complete(self, name: str, texts: list[str], **params: Any) -> list[Any]:
        """`backend.complete(texts, **params)`, through the model's micro-batcher."""
        return await asyncio.wrap_future(self.batchers[name].submit(texts, **params))


# ---- the app -----------------------------------------------------------------------------------
def _json_response(status: int, payload: dict[str, Any], headers: Optional[dict[str, str]] = None) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False).encode(), status, headers, media_type="application/json")


async def _read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object, whatever its Content-Type says (urllib sends form encoding by default)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RequestError(413, "request body too large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestError(413, "request body too large")
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks) or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RequestError(400, f"the body is not valid JSON ({e})") from None
    if not isinstance(body, dict):
        raise RequestError(400, "the body must be a JSON object")
    return body


class _CountRequests:
    """Counts every HTTP request (any route, any outcome) and logs its line, never its headers."""

    def __init__(self, app: Any, server: HumpbackServer):
        self.app, self.server = app, server

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.server.count("requests")
            client = scope.get("client") or ("-",)
            log.debug("%s %s %s", client[0], scope.get("method"), scope.get("path"))
        await self.app(scope, receive, send)


def build_app(server: HumpbackServer) -> FastAPI:
    app = FastAPI(title="humpback-serve", docs_url=None, redoc_url=None, openapi_url=None)

    def error(status: int, message: str, kind: str = "invalid_request_error", param: Optional[str] = None,
              headers: Optional[dict[str, str]] = None) -> Response:
        server.count("errors")
        return _json_response(status, {"error": {"message": message, "type": kind, "param": param, "code": status}}, headers)

    def authorise(request: Request) -> None:
        if not server.api_key:
            return
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {server.api_key}".encode()):
            raise RequestError(401, "invalid or missing API key", "authentication_error")

    @app.exception_handler(RequestError)
    async def _request_error(request: Request, e: RequestError) -> Response:
        return error(e.status, str(e), e.kind, e.param, e.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> Response:
        v = _validation_error(list(e.errors()))
        return error(v.status, str(v), v.kind, v.param)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, e: StarletteHTTPException) -> Response:
        if e.status_code in (404, 405):  # an unknown route, or a known one with the wrong method
            return error(404, f"no route {request.url.path}")
        return error(e.status_code, str(e.detail), "invalid_request_error" if e.status_code < 500 else "server_error")

    app.add_middleware(_CountRequests, server=server)

    @app.get("/health")
    async def health() -> Response:
        return _json_response(200, {"status": "ok"})

    @app.get("/v1/models")
    async def models(request: Request) -> Response:
        authorise(request)
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "humpback"} for name in server.backends]
        return _json_response(200, {"object": "list", "data": data})

    @app.get("/humpback/stats")
    async def stats(request: Request) -> Response:
        authorise(request)
        return _json_response(200, server.stats())

    async def serve(request: Request, schema: type[_Sampling], run: Callable[[Any], Awaitable[dict[str, Any]]]) -> Response:
        body = await _read_json(request)  # read whatever happens next, so a kept-alive connection stays in sync
        authorise(request)
        fault = server.faults.next_fault()
        if fault.delay_s > 0 and await server.delay(fault.delay_s):
            return error(503, "humpback-serve is shutting down", "server_error", headers={"Connection": "close"})
        if fault.status is not None:
            kind = "rate_limit_error" if fault.status == 429 else "server_error"
            return error(fault.status, f"injected fault (HTTP {fault.status})", kind, headers=fault.headers)
        try:
            req = schema.model_validate(body)
        except ValidationError as e:
            raise _validation_error(list(e.errors())) from None
        try:
            payload = await run(req)
        except RequestError:
            raise
        except Exception as e:  # a bug or an out-of-memory: report it, keep serving
            log.exception("request failed")
            return error(500, f"{type(e).__name__}: {e}", "server_error")
        if fault.body is not None:  # served, but the 200 reply is broken (counted as injected, not as a completion)
            return Response(malformed_body(fault.body, payload), 200, media_type="application/json")
        server.count("completions")
        return _json_response(200, payload)

    async def chat(req: ChatRequest) -> dict[str, Any]:
        name, backend = server.backend_for(req.model)
        params = req.params(256)
        n = req.n or 1
        top = (req.top_logprobs or 0) if req.logprobs else 0
        prompt = backend.render_chat([m.model_dump(exclude_none=True) for m in req.messages])
        done = await server.complete(name, [prompt] * n, top_logprobs=top, logprobs=bool(req.logprobs), **params)
        choices = []
        for i, c in enumerate(done):
            logprobs = None
            if req.logprobs:
                logprobs = {"content": [
                    {"token": t, "logprob": lp, "bytes": list(t.encode()),
                     "top_logprobs": [{"token": a, "logprob": alp, "bytes": list(a.encode())} for a, alp in (c.top_logprobs[s] if top else [])]}
                    for s, (t, lp) in enumerate(zip(c.tokens, c.token_logprobs))]}
            choices.append({"index": i, "message": {"role": "assistant", "content": c.text}, "logprobs": logprobs, "finish_reason": c.finish_reason})
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()), "model": name,
                "choices": choices, "usage": _usage(done, n_prompts=1)}

    async def completions(req: CompletionRequest) -> dict[str, Any]:
        name, _ = server.backend_for(req.model)
        prompts = list(req.prompt)  # a list by now (the validator)
        params = req.params(16)
        n = req.n or 1
        k = req.logprobs
        done = await server.complete(name, [p for p in prompts for _ in range(n)], top_logprobs=k or 0, logprobs=k is not None, **params)
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

    @app.post("/v1/chat/completions")
    async def chat_route(request: Request) -> Response:
        return await serve(request, ChatRequest, chat)

    @app.post("/v1/completions")
    async def completions_route(request: Request) -> Response:
        return await serve(request, CompletionRequest, completions)

    return app


def _usage(done: list[Any], n_prompts: int) -> dict[str, int]:
    n = max(1, len(done) // max(1, n_prompts))  # each prompt is counted once, however many choices it has
    prompt_tokens = sum(c.prompt_tokens for c in done[::n])
    completion_tokens = sum(c.completion_tokens for c in done)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}


@contextmanager
def serve_in_thread(server: HumpbackServer, start_timeout: float = 30.0) -> Iterator[HumpbackServer]:
    """Serve on a background thread for the duration of the block (it starts accepting before the block
    runs), then stop, join the thread and close the socket."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"handle_signals": False}, name="humpback-serve", daemon=True)
    thread.start()
    try:
        server.wait_started(start_timeout)
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=GRACEFUL_SHUTDOWN_S + 10)
        server.server_close()
