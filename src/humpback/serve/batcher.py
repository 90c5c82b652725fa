"""Micro-batching for humpback-serve: one worker thread per model owns every call into it, and merges
requests that wait at the same time into one `backend.complete` call, so concurrent clients (a judge
with max_concurrency 8, several shards of a sweep) share forward passes instead of queueing one by one.

The worker takes the oldest waiting request, then, for up to `max_wait_ms`, gathers further waiting
requests that are compatible with it, until the batch holds `backend.batch_size` prompts, and splits
the completions back to each request's future. Compatible means the same decoding settings (max_tokens,
temperature, top_p, top_logprobs, logprobs, stop), and merging must not change a sample: a request that
samples (temperature > 0) under a seed always runs alone, so the runner's rule (the batch at offset b
is sampled under seed + b) gives it exactly the sample an in-process call with that seed gets. Greedy
requests, and sampling requests without a seed, merge. A request with more prompts than one batch runs
alone (the runner splits it).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Optional

log = logging.getLogger("humpback.serve")
DEFAULT_MAX_WAIT_MS = 5.0


class BatcherStopped(RuntimeError):
    """The server stopped before this request reached the model."""


@dataclass
class _Job:
    texts: list[str]
    max_tokens: int
    temperature: float
    top_p: float
    seed: Optional[int]
    top_logprobs: int
    stop: tuple[str, ...]
    logprobs: bool
    future: Future = field(default_factory=Future)

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.max_tokens, self.temperature, self.top_p, self.top_logprobs, self.logprobs, self.stop)

    @property
    def seeded_sample(self) -> bool:
        return self.temperature > 0 and self.seed is not None


class MicroBatcher:
    """Queue of completion requests for one backend, served by one worker thread (see the module docstring)."""

    def __init__(self, backend: Any, max_wait_ms: float = DEFAULT_MAX_WAIT_MS, name: str = "model"):
        if max_wait_ms < 0:
            raise ValueError("max_wait_ms must be >= 0")
        self.backend = backend
        self.batch_size = max(1, int(getattr(backend, "batch_size", 1)))
        self.max_wait_s = max_wait_ms / 1000.0
        self.name = name
        self._pending: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        self._stats_lock = threading.Lock()
        self.counters = {"batches": 0, "batched_prompts": 0, "batched_requests": 0}

    # ---- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name=f"humpback-batcher-{self.name}", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking requests, fail the ones still waiting, and join the worker after its current batch."""
        with self._cond:
            self._stopping = True
            left, self._pending = list(self._pending), deque()
            self._cond.notify_all()
        for job in left:
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(BatcherStopped("the server is stopping"))
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopping

    @property
    def pending(self) -> int:
        """Requests waiting for the worker (not counting the batch it is running)."""
        with self._cond:
            return len(self._pending)

    def stats(self) -> dict[str, int]:
        with self._stats_lock:
            return dict(self.counters)

    # ---- requests ------------------------------------------------------------------------------
    def submit(self, texts: list[str], max_tokens: int = 16, temperature: float = 1.0, top_p: float = 1.0,
               seed: Optional[int] = None, top_logprobs: int = 0, stop: Optional[list[str]] = None,
               logprobs: bool = False) -> "Future[list[Any]]":
        """Queue one request (the arguments of `backend.complete`); its future gets one completion per text."""
        job = _Job(list(texts), max_tokens, float(temperature), float(top_p), seed, top_logprobs, tuple(stop or ()),
                   bool(logprobs or top_logprobs > 0))
        with self._cond:
            if self._stopping or self._thread is None:
                raise BatcherStopped("the server is not running")
            self._pending.append(job)
            self._cond.notify_all()
        return job.future

    # ---- worker --------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            group = self._gather()
            if group is None:
                return
            self._serve(group)

    def _take_first(self) -> Optional[_Job]:
        """The oldest waiting request not cancelled by its client; None once stopping. Holds the lock."""
        while True:
            while not self._pending and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            job = self._pending.popleft()
            if job.future.set_running_or_notify_cancel():
                return job

    def _gather(self) -> Optional[list[_Job]]:
        with self._cond:
            first = self._take_first()
            if first is None:
                return None
            group, total = [first], len(first.texts)
            if first.seeded_sample or total >= self.batch_size:
                return group
            deadline = time.monotonic() + self.max_wait_s
            while True:
                for job in list(self._pending):  # oldest first; what does not fit waits for a later batch
                    if total + len(job.texts) > self.batch_size or job.seeded_sample or job.key != first.key:
                        continue
                    self._pending.remove(job)
                    if job.future.set_running_or_notify_cancel():
                        group.append(job)
                        total += len(job.texts)
                left = deadline - time.monotonic()
                if total >= self.batch_size or left <= 0 or self._stopping:
                    return group
                self._cond.wait(left)

    def _serve(self, group: list[_Job]) -> None:
        first = group[0]
        texts = [t for job in group for t in job.texts]
        try:
            done = self.backend.complete(texts, max_tokens=first.max_tokens, temperature=first.temperature, top_p=first.top_p,
                                         seed=first.seed if len(group) == 1 else None,  # merged: greedy or unseeded
                                         top_logprobs=first.top_logprobs, stop=list(first.stop), logprobs=first.logprobs)
            if len(done) != len(texts):
                raise RuntimeError(f"the model returned {len(done)} completions for {len(texts)} prompts")
        except BaseException as e:  # noqa: BLE001 - every merged request hears of it; the worker keeps serving
            log.debug("batch of %d request(s) failed: %s", len(group), e)
            for job in group:
                job.future.set_exception(e)
            if not isinstance(e, Exception):
                raise
            return
        finally:
            with self._stats_lock:
                self.counters["batches"] += math.ceil(len(texts) / self.batch_size)
                self.counters["batched_prompts"] += len(texts)
                self.counters["batched_requests"] += len(group)
        at = 0
        for job in group:
            job.future.set_result(done[at : at + len(job.texts)])
            at += len(job.texts)
