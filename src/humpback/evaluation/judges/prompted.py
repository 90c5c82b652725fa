"""A judge that asks a language model in one of AlpacaEval's formats and parses its reply.

The model sits behind a transport (an OpenAI-compatible API, or a local HF model in process) that
yields replies as they arrive; every verdict goes to `on_verdict` at once, so the annotation cache keeps
finished work even when a later request fails for good.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Protocol

from humpback.evaluation.judges.accounting import JudgeStats, price
from humpback.evaluation.judges.prompts import judge_messages, parse_ranking, preference_from_top_logprobs


@dataclass
class ChatParams:
    max_tokens: int
    temperature: float
    top_logprobs: int = 0  # > 0: also return the first token's alternatives


@dataclass
class ChatReply:
    text: str
    top_logprobs: Optional[list[tuple[str, float]]]  # the first generated token's alternatives, best first
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


class TransportError(RuntimeError):
    """A request that still failed after every retry (rate limit, server error, timeout, connection)."""


class JudgeUnavailable(RuntimeError):
    """Some comparisons could not be made; the finished ones are cached, so a rerun resumes."""


class ChatTransport(Protocol):
    def chat_many(self, conversations: list[list[dict[str, str]]], params: ChatParams) -> Iterator[tuple[int, ChatReply | TransportError]]:
        """Yield (index, reply or TransportError) for every conversation, in any order."""


@dataclass
class Verdict:
    preference: Optional[float]  # in the presented order: 1 = output_a better, 2 = output_b better; None = no usable answer
    extras: dict[str, Any] = field(default_factory=dict)  # raw_completion, tokens, price_per_example, time_per_example
    failed: bool = False  # transport failure: never cached


class PromptedJudge:
    def __init__(self, name: str, transport: ChatTransport, prompt_format: str, max_tokens: int = 100, temperature: float = 0.0,
                 top_logprobs: int = 5, price_per_1k_prompt_tokens: float = 0.0, price_per_1k_completion_tokens: float = 0.0,
                 stats: Optional[JudgeStats] = None):
        judge_messages(prompt_format, "", "", "")  # fail at construction on an unknown format
        self.name = name
        self.transport = transport
        self.prompt_format = prompt_format
        logprob = prompt_format == "logprob"
        # the logprob format reads one token (AlpacaEval 2); the ranking format needs room for the list
        self.params = ChatParams(max_tokens=1 if logprob else max_tokens, temperature=temperature, top_logprobs=top_logprobs if logprob else 0)
        self.prices = (price_per_1k_prompt_tokens, price_per_1k_completion_tokens)
        self.accounting = stats or JudgeStats()

    @property
    def stats(self) -> dict[str, float]:
        return self.accounting.as_dict()

    def _verdict(self, reply: ChatReply) -> Verdict:
        if self.prompt_format == "logprob":
            pref = preference_from_top_logprobs(reply.top_logprobs)
            raw: Any = {"text": reply.text, "top_logprobs": [[t, lp] for t, lp in reply.top_logprobs or []]}
        else:
            pref = parse_ranking(reply.text)
            raw = reply.text
        cost = price(reply.prompt_tokens, reply.completion_tokens, *self.prices)
        self.accounting.add(calls=1, parse_failures=int(pref is None), prompt_tokens=reply.prompt_tokens,
                            completion_tokens=reply.completion_tokens, cost_usd=cost, judge_seconds=reply.seconds)
        extras = {"raw_completion": raw, "prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                  "price_per_example": cost, "time_per_example": reply.seconds}
        return Verdict(pref, extras)

    def judge_items(self, items: list[dict[str, Any]], on_verdict: Optional[Callable[[int, Verdict], None]] = None) -> list[Verdict]:
        """Verdicts for items {instruction, output_a, output_b, ...}; raises JudgeUnavailable (after every
        other item is done and reported) when some requests failed for good."""
        conversations = [judge_messages(self.prompt_format, it["instruction"], it["output_a"], it["output_b"]) for it in items]
        verdicts: list[Optional[Verdict]] = [None] * len(items)
        errors: list[str] = []
        for i, reply in self.transport.chat_many(conversations, self.params):
            if isinstance(reply, TransportError):
                self.accounting.add(failed_calls=1)
                errors.append(str(reply))
                verdict = Verdict(None, {"judge_error": str(reply)}, failed=True)
            else:
                verdict = self._verdict(reply)
            verdicts[i] = verdict
            if on_verdict is not None:
                on_verdict(i, verdict)
        if errors:
            raise JudgeUnavailable(f"judge {self.name!r}: {len(errors)} of {len(items)} comparisons failed after retries "
                                   f"(last: {errors[-1]}); the others are cached, rerun to finish")
        missing = [i for i, v in enumerate(verdicts) if v is None]
        if missing:
            raise RuntimeError(f"judge {self.name!r}: the transport returned no reply for items {missing[:10]}")
        return verdicts  # type: ignore[return-value]

    def compare_many(self, items: list[dict[str, Any]]) -> list[Optional[float]]:
        return [v.preference for v in self.judge_items(items)]
