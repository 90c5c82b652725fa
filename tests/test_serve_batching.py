"""humpback-serve's micro-batcher and its FastAPI front: concurrent requests share forward passes without
changing an answer, seeded samples are never merged, validation errors come back in OpenAI's shape, and an
injected delay holds up neither other requests nor the shutdown. Loopback only; every server stops in its test."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from humpback.serve import FaultConfig, FaultInjector, HumpbackServer, MicroBatcher, serve_in_thread


def post(url: str, payload: dict[str, Any], timeout: float = 20.0) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def completion(prompt: str, **extra: Any) -> dict[str, Any]:
    return {"model": "judge", "prompt": prompt, "max_tokens": 4, **extra}


class Gated:
    """The test backend, except that a call whose first prompt is "GATE" holds the worker until released,
    so the requests sent meanwhile are all waiting when it next gathers a batch. Records each call's prompts."""

    def __init__(self, inner: Any, fail: bool = False):
        self.inner, self.fail = inner, fail
        self.gate, self.entered = threading.Event(), threading.Event()
        self.calls: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:  # batch_size, model_dir, render_chat ...
        return getattr(self.inner, name)

    def complete(self, texts: list[str], **kwargs: Any) -> list[Any]:
        if texts[0] == "GATE":
            self.entered.set()
            assert self.gate.wait(20)
        self.calls.append(list(texts))
        if self.fail and texts[0] != "GATE":
            raise RuntimeError("the model fell over")
        return self.inner.complete(texts, **kwargs)


def hold_worker(server: HumpbackServer, gated: Gated, pool: ThreadPoolExecutor) -> Any:
    """Send the GATE request and return its future once the worker is stuck in it."""
    held = pool.submit(post, f"{server.url}/completions", completion("GATE", temperature=0))
    assert gated.entered.wait(20)
    return held


def wait_pending(server: HumpbackServer, n: int) -> None:
    deadline = time.monotonic() + 20
    while server.batchers["judge"].pending < n:
        assert time.monotonic() < deadline, f"only {server.batchers['judge'].pending} of {n} requests queued"
        time.sleep(0.01)


PROMPTS = ["a", "bb", "What is the capital of Vellmora?", "ccc dd", "e", "The capital is Oskbridge", "ff gg hh", "i"]


def test_concurrent_greedy_requests_share_forward_batches(backend) -> None:
    direct = {p: backend.complete([p], max_tokens=4, temperature=0, logprobs=True)[0] for p in PROMPTS}
    with serve_in_thread(HumpbackServer({"judge": backend}, max_wait_ms=100)) as server:
        with ThreadPoolExecutor(len(PROMPTS)) as pool:
            answers = list(pool.map(lambda p: post(f"{server.url}/completions", completion(p, temperature=0, logprobs=0)), PROMPTS))
        stats = server.stats()
    assert all(status == 200 for status, _ in answers)
    assert stats["batched_requests"] == 8 and stats["batched_prompts"] == 8 and stats["batches"] < 8
    for p, (_, body) in zip(PROMPTS, answers):
        choice = body["choices"][0]
        assert choice["text"] == direct[p].text and choice["finish_reason"] == direct[p].finish_reason
        assert choice["logprobs"]["token_logprobs"] == pytest.approx(direct[p].token_logprobs, abs=1e-5)
        assert body["usage"]["prompt_tokens"] == direct[p].prompt_tokens


def test_waiting_requests_merge_up_to_the_batch_size(backend) -> None:
    gated = Gated(backend)  # batch_size 4
    with serve_in_thread(HumpbackServer({"judge": gated}, max_wait_ms=0)) as server, ThreadPoolExecutor(9) as pool:
        held = hold_worker(server, gated, pool)
        futures = [pool.submit(post, f"{server.url}/completions", completion(p, temperature=0)) for p in PROMPTS[:7]]
        wait_pending(server, 7)
        gated.gate.set()
        answers = [f.result() for f in futures]
        assert held.result()[0] == 200
        stats = server.stats()
    assert [len(c) for c in gated.calls] == [1, 4, 3]  # GATE alone, then 7 waiting requests in two batches
    assert stats["batches"] == 3 and stats["batched_requests"] == 8
    assert [body["choices"][0]["text"] for _, body in answers] == [backend.complete([p], max_tokens=4, temperature=0)[0].text
                                                                   for p in PROMPTS[:7]]


def test_seeded_samples_are_never_merged(backend) -> None:
    gated = Gated(backend)
    sample = {"temperature": 1.0, "top_p": 0.95, "max_tokens": 8}
    with serve_in_thread(HumpbackServer({"judge": gated}, max_wait_ms=0)) as server, ThreadPoolExecutor(3) as pool:
        held = hold_worker(server, gated, pool)
        futures = [pool.submit(post, f"{server.url}/completions", completion("a", seed=seed, **sample)) for seed in (11, 12)]
        wait_pending(server, 2)
        gated.gate.set()
        answers = [f.result() for f in futures]
        held.result()
        seeded = server.stats()
        gated.entered.clear()
        gated.gate.clear()
        held = hold_worker(server, gated, pool)  # the same, unseeded: these may merge
        futures = [pool.submit(post, f"{server.url}/completions", completion("a", **sample)) for _ in range(2)]
        wait_pending(server, 2)
        gated.gate.set()
        assert all(f.result()[0] == 200 for f in futures)
        held.result()
        unseeded = server.stats()
    assert seeded["batches"] == 3 and seeded["batched_requests"] == 3  # GATE, then each seeded request alone
    assert unseeded["batches"] - seeded["batches"] == 2 and unseeded["batched_requests"] - seeded["batched_requests"] == 3
    for seed, (status, body) in zip((11, 12), answers):
        want = backend.complete(["a"], max_tokens=8, temperature=1.0, top_p=0.95, seed=seed)[0]
        assert status == 200 and body["choices"][0]["text"] == want.text
    assert answers[0][1]["choices"][0]["text"] != answers[1][1]["choices"][0]["text"]  # the seeds do differ


INVALID = [  # (body, the param the error must name)
    (completion("x", temperature=5), "temperature"),
    ({"model": "judge", "max_tokens": 1}, "prompt"),
    (completion("x", top_p=1.5), "top_p"),
    (completion("x", n=17), "n"),
    (completion("x", max_tokens=0), "max_tokens"),
    (completion("x", max_tokens=2.5), "max_tokens"),
    (completion("x", seed="7"), "seed"),
    (completion("x", stop=["a", "b", "c", "d", "e"]), "stop"),
    (completion("x", echo=True), "echo"),
    ({"prompt": "x"}, "model"),
]


def test_validation_errors_are_openai_shaped_400s(backend) -> None:
    with serve_in_thread(HumpbackServer({"judge": backend})) as server:
        answers = [post(f"{server.url}/completions", payload) for payload, _ in INVALID]
        chat_status, chat = post(f"{server.url}/chat/completions", {"model": "judge", "messages": [{"role": "user"}]})
        stats = server.stats()
    assert stats["errors"] == len(INVALID) + 1 and stats["batches"] == 0  # nothing reached the model
    for (_, param), (status, body) in zip(INVALID, answers):
        assert status == 400 and set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
        assert body["error"]["param"] == param and body["error"]["type"] == "invalid_request_error" and body["error"]["code"] == 400, body
        assert param in body["error"]["message"]
    assert chat_status == 400 and chat["error"]["param"] == "messages"


def test_unknown_fields_are_ignored(backend) -> None:
    with serve_in_thread(HumpbackServer({"judge": backend})) as server:
        status, body = post(f"{server.url}/chat/completions", {"model": "judge", "messages": [{"role": "user", "content": "hi", "name": "u"}],
                                                               "max_completion_tokens": 2, "temperature": 0, "user": "someone",
                                                               "frequency_penalty": 0, "stream": False, "response_format": {"type": "text"}})
    assert status == 200 and body["choices"][0]["message"]["content"] == "MM"


def test_an_injected_delay_holds_up_neither_other_requests_nor_the_shutdown(backend) -> None:
    faults = FaultInjector(FaultConfig(slow=1, slow_s=30.0))
    with ThreadPoolExecutor(1) as pool:
        with serve_in_thread(HumpbackServer({"judge": backend}, faults=faults)) as server:
            slow = pool.submit(post, f"{server.url}/completions", completion("x", temperature=0), 60.0)
            deadline = time.monotonic() + 10
            while not faults.injected["slow"]:  # the slow request is asleep
                assert time.monotonic() < deadline
                time.sleep(0.01)
            start = time.monotonic()
            status, body = post(f"{server.url}/completions", completion("y", temperature=0))
            healthy_s = time.monotonic() - start
            assert status == 200 and body["choices"][0]["text"] == "MMMM" and not slow.done()
            stopping = time.monotonic()
        stop_s = time.monotonic() - stopping
        status, body = slow.result(timeout=10)
    assert healthy_s < 5 and stop_s < 5  # neither waited out the 30 s delay
    assert status == 503 and body["error"]["type"] == "server_error"
    assert not any(b.running for b in server.batchers.values())  # the workers stopped with the server


def test_a_failing_model_call_fails_every_merged_request(backend) -> None:
    gated = Gated(backend, fail=True)
    with serve_in_thread(HumpbackServer({"judge": gated}, max_wait_ms=0)) as server, ThreadPoolExecutor(4) as pool:
        held = hold_worker(server, gated, pool)
        futures = [pool.submit(post, f"{server.url}/completions", completion(p, temperature=0)) for p in PROMPTS[:3]]
        wait_pending(server, 3)
        gated.gate.set()
        answers = [f.result() for f in futures]
        assert held.result()[0] == 200
        assert post(f"{server.url}/completions", completion("GATE", temperature=0))[0] == 200  # the worker still serves
    assert [len(c) for c in gated.calls] == [1, 3, 1]
    assert [status for status, _ in answers] == [500] * 3
    assert all("the model fell over" in body["error"]["message"] and body["error"]["type"] == "server_error" for _, body in answers)


class Echo:
    """A backend that needs no model: each completion is its prompt, and every call is recorded."""

    batch_size = 3

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], Any]] = []

    def complete(self, texts: list[str], seed: Any = None, **kwargs: Any) -> list[str]:
        self.calls.append((list(texts), seed))
        return list(texts)


def test_the_batcher_splits_results_and_keeps_oversized_and_incompatible_requests_apart() -> None:
    echo = Echo()
    batcher = MicroBatcher(echo, max_wait_ms=0)
    batcher.start()
    gate = threading.Event()
    original = echo.complete
    echo.complete = lambda texts, **kw: (gate.wait(10), original(texts, **kw))[1]  # hold the first call
    try:
        first = batcher.submit(["hold"], temperature=0)
        while batcher.pending:  # the worker took it
            time.sleep(0.001)
        time.sleep(0.05)
        big = batcher.submit(["b1", "b2", "b3", "b4"], temperature=0)  # more than one batch: alone
        a = batcher.submit(["a1"], temperature=0)
        other = batcher.submit(["o1"], temperature=0, max_tokens=3)  # other settings: not with a
        b = batcher.submit(["a2", "a3"], temperature=0)
        seeded = batcher.submit(["s1"], temperature=0.7, seed=5)
        gate.set()
        results = [f.result(timeout=10) for f in (first, big, a, other, b, seeded)]
    finally:
        batcher.stop()
    assert results == [["hold"], ["b1", "b2", "b3", "b4"], ["a1"], ["o1"], ["a2", "a3"], ["s1"]]
    assert echo.calls == [(["hold"], None), (["b1", "b2", "b3", "b4"], None), (["a1", "a2", "a3"], None), (["o1"], None), (["s1"], 5)]
    assert batcher.stats() == {"batches": 6, "batched_prompts": 10, "batched_requests": 6}  # the 4 prompts took two batches
    assert not batcher.running
    with pytest.raises(RuntimeError, match="not running"):
        batcher.submit(["late"])
