"""Judge over an OpenAI-compatible chat API (the official `openai` client; any base_url).

Requests run on a bounded thread pool; 429 / 5xx / timeouts / dropped connections and 200 replies that
are no usable chat completion (not JSON, cut off, no choices, neither text nor logprobs) are retried
with exponential backoff (inference.openai_engine.call_with_retries), and each retry is counted. The
client's own retry is off: it runs before the body is read, so it cannot retry a broken body.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Iterator, Optional

import openai

from humpback.evaluation.judges.accounting import JudgeStats
from humpback.evaluation.judges.prompted import ChatParams, ChatReply, PromptedJudge, TransportError, make_annotator
from humpback.inference.openai_engine import call_with_retries, is_retryable, make_client


class MalformedReply(openai.APIResponseValidationError):
    """A 200 whose body is no usable chat completion; retryable (openai_engine.RETRYABLE) like a 5xx."""


def parse_reply(raw: Any, want_logprobs: bool) -> tuple[str, Optional[list[tuple[str, float]]], Any]:
    """(text, first-token top logprobs, usage) of a raw chat response, or MalformedReply."""
    try:
        resp = raw.parse()  # the client's lenient parse: unknown or missing fields pass, a body that is not JSON raises
    except ValueError as err:
        raise MalformedReply(raw.http_response, None, message=f"the reply body is not JSON ({type(err).__name__})") from None
    choices = getattr(resp, "choices", None)
    message = getattr(choices[0], "message", None) if isinstance(choices, list) and choices else None
    if message is None:
        raise MalformedReply(raw.http_response, None, message="the reply is no chat completion (no choices)")
    text = getattr(message, "content", None) or ""
    calls = getattr(message, "tool_calls", None)
    if calls:  # a function-calling annotator's answer is its first call's arguments (a JSON string), as in AlpacaEval
        text = getattr(getattr(calls[0], "function", None), "arguments", None) or text
    logprobs = getattr(choices[0], "logprobs", None)
    content = getattr(logprobs, "content", None) if want_logprobs else None
    top = [(alt.token, float(alt.logprob)) for alt in getattr(content[0], "top_logprobs", None) or []] if content else None
    if not text and not top:
        raise MalformedReply(raw.http_response, None, message="the reply has neither text nor logprobs")
    return text, top, getattr(resp, "usage", None)


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
        kw.update(params.extra)
        if self.extra_body:
            kw["extra_body"] = self.extra_body
        start = time.perf_counter()
        text, top, usage = call_with_retries(lambda: parse_reply(self.client.chat.completions.with_raw_response.create(**kw),
                                                                 params.top_logprobs > 0),
                                             self.max_retries, *self.backoff, on_retry=lambda err: self.stats.add(retries=1))
        seconds = time.perf_counter() - start
        return ChatReply(text=text, top_logprobs=top, prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                         completion_tokens=getattr(usage, "completion_tokens", 0) or 0, seconds=seconds)

    def _chat_or_error(self, messages: list[dict[str, str]], params: ChatParams) -> ChatReply | TransportError:
        try:
            return self.chat(messages, params)
        except Exception as err:
            if is_retryable(err):  # retries used up: report it, keep the other requests going
                return TransportError(f"{type(err).__name__}: {err}")
            raise

    def chat_many(self, conversations: list[list[dict[str, str]]], params: ChatParams) -> Iterator[tuple[int, ChatReply | TransportError]]:
        """Replies as they arrive. An error that is not retryable (auth, bad request) cancels the requests not
        yet sent, and is raised once the ones in flight have been yielded (so they are cached, not lost)."""
        pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="judge")
        fatal: Optional[BaseException] = None
        try:
            futures = {pool.submit(self._chat_or_error, conv, params): i for i, conv in enumerate(conversations)}
            for fut in as_completed(futures):
                if fut.cancelled():
                    continue
                if fut.exception() is not None:
                    if fatal is None:
                        fatal = fut.exception()
                        for other in futures:
                            other.cancel()
                    continue
                yield futures[fut], fut.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if fatal is not None:
            raise fatal


def make_api_judge(cfg: Any) -> PromptedJudge:
    stats = JudgeStats()
    annotator = make_annotator(cfg)
    transport = OpenAIChatTransport(cfg.model or annotator.model, cfg.base_url, cfg.api_key_env, cfg.timeout_s, cfg.max_retries, cfg.backoff_s,
                                    cfg.max_backoff_s, cfg.max_concurrency, dict(cfg.extra or {}), stats)
    return PromptedJudge(cfg.name, transport, price_per_1k_prompt_tokens=cfg.price_per_1k_prompt_tokens,
                         price_per_1k_completion_tokens=cfg.price_per_1k_completion_tokens, stats=stats, annotator=annotator)
