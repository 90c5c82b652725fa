"""Judge over an OpenAI-compatible chat API (the official `openai` client; any base_url).

Requests run on a bounded thread pool; 429 / 5xx / timeouts / dropped connections are retried with
exponential backoff (inference.openai_engine.call_with_retries), and each retry is counted.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Iterator, Optional

from humpback.evaluation.judges.accounting import JudgeStats
from humpback.evaluation.judges.prompted import ChatParams, ChatReply, PromptedJudge, TransportError
from humpback.inference.openai_engine import call_with_retries, is_retryable, make_client


class OpenAIChatTransport:
    def __init__(self, model: str, base_url: Optional[str] = None, api_key_env: str = "OPENAI_API_KEY", timeout_s: float = 60.0,
                 max_retries: int = 6, backoff_s: float = 1.0, max_backoff_s: float = 60.0, max_concurrency: int = 4,
                 extra_body: Optional[dict[str, Any]] = None, stats: Optional[JudgeStats] = None):
        if not model:
            raise ValueError("judge.model is required for judge.kind=api (the model name the server knows)")
        self.client = make_client(base_url, api_key_env, timeout_s)
        self.model = model
        self.max_retries = max_retries
        self.backoff = (backoff_s, max_backoff_s)
        self.max_concurrency = max(1, max_concurrency)
        self.extra_body = dict(extra_body or {})
        self.stats = stats or JudgeStats()

    def chat(self, messages: list[dict[str, str]], params: ChatParams) -> ChatReply:
        kw: dict[str, Any] = {"model": self.model, "messages": messages, "max_tokens": params.max_tokens, "temperature": params.temperature}
        if params.top_logprobs > 0:
            kw.update(logprobs=True, top_logprobs=params.top_logprobs)
        if self.extra_body:
            kw["extra_body"] = self.extra_body
        start = time.perf_counter()
        resp = call_with_retries(lambda: self.client.chat.completions.create(**kw), self.max_retries, *self.backoff,
                                 on_retry=lambda err: self.stats.add(retries=1))
        seconds = time.perf_counter() - start
        choice = resp.choices[0]
        top = None
        content = choice.logprobs.content if choice.logprobs is not None else None
        if content:
            top = [(alt.token, float(alt.logprob)) for alt in content[0].top_logprobs or []]
        usage = resp.usage
        return ChatReply(text=choice.message.content or "", top_logprobs=top, prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                         completion_tokens=getattr(usage, "completion_tokens", 0) or 0, seconds=seconds)

    def _chat_or_error(self, messages: list[dict[str, str]], params: ChatParams) -> ChatReply | TransportError:
        try:
            return self.chat(messages, params)
        except Exception as err:
            if is_retryable(err):  # retries used up: report it, keep the other requests going
                return TransportError(f"{type(err).__name__}: {err}")
            raise

    def chat_many(self, conversations: list[list[dict[str, str]]], params: ChatParams) -> Iterator[tuple[int, ChatReply | TransportError]]:
        pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="judge")
        try:
            futures = {pool.submit(self._chat_or_error, conv, params): i for i, conv in enumerate(conversations)}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        finally:  # an error that is not retryable (auth, bad request) stops the rest at once
            pool.shutdown(wait=True, cancel_futures=True)


def make_api_judge(cfg: Any) -> PromptedJudge:
    stats = JudgeStats()
    transport = OpenAIChatTransport(cfg.model, cfg.base_url, cfg.api_key_env, cfg.timeout_s, cfg.max_retries, cfg.backoff_s,
                                    cfg.max_backoff_s, cfg.max_concurrency, dict(cfg.extra or {}), stats)
    return PromptedJudge(cfg.name, transport, cfg.prompt_format, cfg.max_tokens, cfg.temperature, cfg.top_logprobs,
                         cfg.price_per_1k_prompt_tokens, cfg.price_per_1k_completion_tokens, stats)
