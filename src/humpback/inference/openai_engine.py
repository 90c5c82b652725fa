"""Engine over any OpenAI-compatible server (`humpback-serve`, vLLM's server, a hosted API), with the
same interface as the HF runner (inference.hf_runner). Also home of the client setup and retry policy the API judge shares.

The key comes only from the environment (OPENAI_API_KEY or another named variable); a loopback server
needs none.
"""

from __future__ import annotations

import logging
import math
import ipaddress
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional, TypeVar
from urllib.parse import urlparse

import openai

from humpback.inference.config import DecodeConfig
from humpback.models.templates import turn_markers

log = logging.getLogger("humpback")
T = TypeVar("T")
# APIResponseValidationError: a 200 whose body is no usable reply (garbage, cut off) - a hiccup like a 5xx
RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError, openai.APIConnectionError,
             openai.APIResponseValidationError)


def is_loopback_host(host: str) -> bool:
    """Only this machine can reach `host` (127.0.0.0/8, ::1, localhost): the client and the server's one rule."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # another name (or "" = every interface): may be reachable from outside
        return False


def is_loopback(base_url: Optional[str]) -> bool:
    return bool(base_url) and is_loopback_host(urlparse(base_url).hostname or "")


def api_key_from_env(env_var: str, base_url: Optional[str]) -> str:
    """The key from `env_var`; a loopback server without one gets a placeholder (it checks nothing)."""
    key = os.environ.get(env_var)
    if key:
        return key
    if is_loopback(base_url):
        return "no-key-needed-on-loopback"
    raise RuntimeError(f"the API key is read from the environment variable {env_var}, which is not set "
                       f"(endpoint: {base_url or 'the client default'})")


def make_client(base_url: Optional[str], api_key_env: str = "OPENAI_API_KEY", timeout_s: float = 60.0) -> openai.OpenAI:
    """An OpenAI client that never retries on its own: `call_with_retries` does, and counts."""
    return openai.OpenAI(api_key=api_key_from_env(api_key_env, base_url), base_url=base_url or None, timeout=timeout_s, max_retries=0)


def is_retryable(err: BaseException) -> bool:
    if isinstance(err, RETRYABLE):
        return True
    return isinstance(err, openai.APIStatusError) and err.status_code in (408, 409)


def _retry_after(err: BaseException) -> Optional[float]:
    response = getattr(err, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def call_with_retries(fn: Callable[[], T], max_retries: int, backoff_s: float = 1.0, max_backoff_s: float = 60.0,
                      on_retry: Optional[Callable[[BaseException], None]] = None, sleep: Callable[[float], None] = time.sleep) -> T:
    """Call `fn`; on 429 / 5xx / 408 / 409 / timeout / connection errors / malformed replies wait (exponential
    backoff with jitter, at least the server's Retry-After, at most max_backoff_s) and try again, up to
    max_retries times; other errors (bad request, auth, unknown model) are raised at once."""
    for attempt in range(max_retries + 1):
        try:
            return fn()
        except Exception as err:
            if attempt >= max_retries or not is_retryable(err):
                raise
            wait = min(max_backoff_s, backoff_s * 2**attempt) * random.uniform(0.5, 1.0)
            wait = min(max_backoff_s, max(wait, _retry_after(err) or 0.0))
            if on_retry is not None:
                on_retry(err)
            log.debug("retrying after %s in %.2fs (attempt %d of %d)", type(err).__name__, wait, attempt + 1, max_retries)
            sleep(wait)
    raise AssertionError("unreachable")


class OpenAIEngine:
    """generate() and next_token_probs() through `/v1/completions`, one batch of prompts per request, the
    batches laid out and seeded as the in-process runner does (`hf_runner.length_batches`, seed + offset),
    so a deterministic server returns what the runner would. With several `base_url`s (data parallel) the
    batches are dealt out over them in turn."""

    def __init__(self, base_url: Optional[str] | list[str], model: str, batch_size: int = 16, api_key_env: str = "OPENAI_API_KEY",
                 timeout_s: float = 600.0, max_retries: int = 6, max_concurrency: int = 4, top_logprobs: int = 20,
                 template: str = "inst", tokenizer: Any = None):
        urls = base_url if isinstance(base_url, list) else [base_url]
        self.clients = [make_client(url, api_key_env, timeout_s) for url in urls]
        self.model = model
        self.batch_size = max(1, batch_size)
        self.max_retries = max_retries
        self.max_concurrency = max(1, max_concurrency)
        self.top_logprobs = top_logprobs  # OpenAI's hosted completions allow 5; humpback-serve and vLLM 20
        self.template, self.tokenizer = template, tokenizer

    def _complete(self, n: int, prompts: list[str], **kw: Any) -> Any:
        client = self.clients[n % len(self.clients)]
        return call_with_retries(lambda: client.completions.create(model=self.model, prompt=prompts, **kw), self.max_retries)

    def _map(self, jobs: list[T], fn: Callable[[int, T], Any]) -> list[Any]:
        with ThreadPoolExecutor(self.max_concurrency * len(self.clients)) as pool:
            return list(pool.map(fn, range(len(jobs)), jobs))

    def format(self, message: str) -> str:
        """The model's prompt template (the model card's, else the config's: `hf_runner.template_for`)."""
        from humpback.models.templates import format_prompt

        return format_prompt(message, self.template, self.tokenizer)

    def generate(self, prompts: list[str], decode: DecodeConfig, seed: int = 0) -> list[str]:
        from humpback.inference.hf_runner import length_batches

        sample = decode.temperature > 0
        stop = turn_markers(self.template)

        def batch(n: int, job: tuple[int, list[int]]) -> list[str]:
            start, idx = job
            resp = self._complete(n, [prompts[i] for i in idx], max_tokens=decode.max_new_tokens, temperature=decode.temperature,
                                  top_p=decode.top_p if sample else 1.0, seed=seed + start, **({"stop": stop} if stop else {}))
            texts = [""] * len(idx)
            for choice in resp.choices:
                texts[choice.index] = choice.text.strip()
            return texts

        jobs = length_batches(prompts, self.batch_size)
        out = [""] * len(prompts)
        for (_, idx), texts in zip(jobs, self._map(jobs, batch)):
            for i, text in zip(idx, texts):
                out[i] = text
        return out

    def next_token_probs(self, prompts: list[str], candidates: list[str]) -> list[list[float]]:
        """P(candidate | prompt) for the first generated token, renormalised over the candidates, read from
        the server's top log-probabilities; NaNs when no candidate is among them (no guess)."""
        k = min(max(self.top_logprobs, len(candidates)), 20)

        def batch(n: int, chunk: list[str]) -> list[list[float]]:
            resp = self._complete(n, chunk, max_tokens=1, temperature=0.0, logprobs=k)
            rows: list[list[float]] = [[math.nan] * len(candidates) for _ in chunk]
            for choice in resp.choices:
                top = (choice.logprobs.top_logprobs or [{}])[0] if choice.logprobs else {}
                mass = [sum(math.exp(lp) for tok, lp in (top or {}).items() if tok.strip() == c.strip()) for c in candidates]
                total = sum(mass)
                if total > 0:
                    rows[choice.index] = [m / total for m in mass]
            return rows

        chunks = [prompts[b : b + self.batch_size] for b in range(0, len(prompts), self.batch_size)]
        return [row for part in self._map(chunks, batch) for row in part]
