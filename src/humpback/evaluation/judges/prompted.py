"""A judge that asks a language model and parses its reply, the asking and reading done by an annotator:
our own wording in AlpacaEval's two reply formats (HumpbackAnnotator, judge.annotator=humpback), or one
of AlpacaEval's own annotators read from the installed alpaca-eval (judges/alpaca.py).

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
    extra: dict[str, Any] = field(default_factory=dict)  # other request fields, sent as they are (an annotator's tools, tool_choice)


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


class Annotator(Protocol):
    """How a prompted judge asks and reads: its prompt, request settings, parser and output-order coin."""

    name: str
    model: str  # the model it was written for: judge.kind=api asks it when judge.model is null
    params: ChatParams

    def messages(self, instruction: str, output_1: str, output_2: str) -> list[dict[str, str]]: ...

    def parse(self, reply: ChatReply) -> tuple[Optional[float], Any]:
        """(preference in the presented order, 1..2, or None when unusable; the raw completion to keep)."""

    def swap(self, instruction: str, order_seed: int) -> bool:
        """Whether this instruction's pair is shown reference-second (judging.annotate maps the verdict back)."""

    def describe(self) -> str:
        """One line for the plan: which annotator, with what decoding."""


class HumpbackAnnotator:
    """Our own wording (prompts.py); its decoding is judge.prompt_format / max_tokens / temperature / top_logprobs."""

    name = "humpback"
    model = "gpt-4-turbo"  # AlpacaEval 2's judge, asked when judge.model is null

    def __init__(self, prompt_format: str, max_tokens: int = 100, temperature: float = 0.0, top_logprobs: int = 5):
        judge_messages(prompt_format, "", "", "")  # fail at construction on an unknown format
        self.prompt_format = prompt_format
        logprob = prompt_format == "logprob"
        # the logprob format reads one token (AlpacaEval 2); the ranking format needs room for the list
        self.params = ChatParams(max_tokens=1 if logprob else max_tokens, temperature=temperature, top_logprobs=top_logprobs if logprob else 0)

    def messages(self, instruction: str, output_1: str, output_2: str) -> list[dict[str, str]]:
        return judge_messages(self.prompt_format, instruction, output_1, output_2)

    def parse(self, reply: ChatReply) -> tuple[Optional[float], Any]:
        if self.prompt_format == "logprob":
            raw = {"text": reply.text, "top_logprobs": [[t, lp] for t, lp in reply.top_logprobs or []]}
            return preference_from_top_logprobs(reply.top_logprobs), raw
        return parse_ranking(reply.text), reply.text

    def swap(self, instruction: str, order_seed: int) -> bool:
        from humpback.evaluation.judging import swap_coin

        return swap_coin(instruction, order_seed)

    def describe(self) -> str:
        p = self.params
        alternatives = f", top_logprobs={p.top_logprobs}" if p.top_logprobs else ""
        return f"humpback wording, {self.prompt_format} format (max_tokens={p.max_tokens}, temperature={p.temperature}{alternatives})"


def make_annotator(cfg: Any) -> Annotator:
    """The annotator judge.annotator names (AnnotatorError, one line, for a name this machine cannot run)."""
    name = getattr(cfg, "annotator", HumpbackAnnotator.name)
    if name == HumpbackAnnotator.name:
        return HumpbackAnnotator(cfg.prompt_format, cfg.max_tokens, cfg.temperature, cfg.top_logprobs)
    from humpback.evaluation.judges.alpaca import load_annotator

    return load_annotator(name)


class PromptedJudge:
    def __init__(self, name: str, transport: ChatTransport, prompt_format: str = "logprob", max_tokens: int = 100, temperature: float = 0.0,
                 top_logprobs: int = 5, price_per_1k_prompt_tokens: float = 0.0, price_per_1k_completion_tokens: float = 0.0,
                 stats: Optional[JudgeStats] = None, annotator: Optional[Annotator] = None):
        """`annotator` asks and reads; without one, our wording in `prompt_format` with the given decoding."""
        self.name = name
        self.transport = transport
        self.annotator = annotator or HumpbackAnnotator(prompt_format, max_tokens, temperature, top_logprobs)
        self.prompt_format = getattr(self.annotator, "prompt_format", None)  # None for AlpacaEval's annotators
        self.params = self.annotator.params
        self.prices = (price_per_1k_prompt_tokens, price_per_1k_completion_tokens)
        self.accounting = stats or JudgeStats()

    @property
    def stats(self) -> dict[str, float]:
        return self.accounting.as_dict()

    def swap_coin(self, instruction: str, order_seed: int) -> bool:
        """The annotator's output-order coin, used by judging.annotate in place of its own."""
        return self.annotator.swap(instruction, order_seed)

    def _verdict(self, reply: ChatReply) -> Verdict:
        pref, raw = self.annotator.parse(reply)
        cost = price(reply.prompt_tokens, reply.completion_tokens, *self.prices)
        self.accounting.add(calls=1, parse_failures=int(pref is None), prompt_tokens=reply.prompt_tokens,
                            completion_tokens=reply.completion_tokens, cost_usd=cost, judge_seconds=reply.seconds)
        extras = {"raw_completion": raw, "prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                  "price_per_example": cost, "time_per_example": reply.seconds}
        return Verdict(pref, extras)

    def judge_items(self, items: list[dict[str, Any]], on_verdict: Optional[Callable[[int, Verdict], None]] = None) -> list[Verdict]:
        """Verdicts for items {instruction, output_a, output_b, ...}; raises JudgeUnavailable (after every
        other item is done and reported) when some requests failed for good."""
        conversations = [self.annotator.messages(it["instruction"], it["output_a"], it["output_b"]) for it in items]
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
            raise JudgeUnavailable(f"judge {self.name!r}: {len(errors)} of {len(items)} comparisons missing, their requests failed "
                                   f"after retries (last: {errors[-1]}); the {len(items) - len(errors)} that arrived are cached (judge.cache_dir), "
                                   f"so a rerun asks only for the {len(errors)} missing")
        missing = [i for i, v in enumerate(verdicts) if v is None]
        if missing:
            raise RuntimeError(f"judge {self.name!r}: the transport returned no reply for items {missing[:10]}")
        return verdicts  # type: ignore[return-value]

    def compare_many(self, items: list[dict[str, Any]]) -> list[Optional[float]]:
        return [v.preference for v in self.judge_items(items)]
