"""Thread-safe running totals of a judge: calls, retries, failures, tokens, cost, cache hits."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields


@dataclass
class JudgeStats:
    calls: int = 0  # judge requests answered (after any retries)
    retries: int = 0  # extra attempts after a 429 / 5xx / timeout / connection error / malformed 200 body
    failed_calls: int = 0  # requests given up after max_retries (not cached: a rerun tries them again)
    parse_failures: int = 0  # answered, but no usable preference (unparsable ranking, no m/M token)
    cache_hits: int = 0
    cache_misses: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0  # from judge.price_per_1k_* (0 when prices are not configured)
    judge_seconds: float = 0.0  # summed wall time of answered requests
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **deltas: float) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def as_dict(self) -> dict[str, float]:
        with self._lock:
            return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}


def price(prompt_tokens: int, completion_tokens: int, per_1k_prompt: float, per_1k_completion: float) -> float:
    return prompt_tokens / 1000.0 * per_1k_prompt + completion_tokens / 1000.0 * per_1k_completion
