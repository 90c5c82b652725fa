"""Fault injection for humpback-serve, to test clients against a misbehaving server.

Completion requests are numbered as they arrive (0, 1, 2 ...) and meet the counted faults in this
order: the first `fail_500` get HTTP 500, the next `fail_429` get HTTP 429 (with Retry-After when
`retry_after_s` > 0), the next `slow` are answered only after `slow_s` seconds, then `garbage`,
`truncated`, `no_choices` and `empty` get a 200 whose body is broken (see BODY_FAULTS). After those,
every `fail_every`-th request gets a 500 (0: never), and each other request meets a fault with
probability `rate`, its kind drawn uniformly from the mix (slow joins it when slow_s > 0) by a
generator seeded with `seed`, so a run meets the same fault sequence in arrival order. Spec strings,
from `--faults` or HUMPBACK_SERVE_FAULTS:

    fail_500=2,fail_429=1,slow=1,slow_s=3.0,garbage=1,truncated=1,fail_every=0,retry_after_s=0
    rate=0.3,seed=7,slow_s=2                       # 30% mixed faults
"""

from __future__ import annotations

import json
import os
import random
import threading
from dataclasses import dataclass, field, fields
from typing import Any, Mapping, Optional

ENV_VAR = "HUMPBACK_SERVE_FAULTS"
# 200 replies a client must not take for an answer: not JSON at all, JSON cut off halfway, no choices,
# a choice with no content (and no logprobs).
BODY_FAULTS = ("garbage", "truncated", "no_choices", "empty")


@dataclass
class FaultConfig:
    fail_500: int = 0
    fail_429: int = 0
    slow: int = 0
    slow_s: float = 0.0
    garbage: int = 0
    truncated: int = 0
    no_choices: int = 0
    empty: int = 0
    fail_every: int = 0
    retry_after_s: float = 0.0
    rate: float = 0.0
    seed: int = 0


def parse_faults(spec: str) -> FaultConfig:
    cfg = FaultConfig()
    types = {f.name: f.type for f in fields(FaultConfig)}
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in types:
            raise ValueError(f"bad fault {part!r}: expected NAME=VALUE with NAME in {sorted(types)}")
        try:
            number = float(value) if types[name] in ("float", float) else int(value)
        except ValueError:
            raise ValueError(f"bad fault {part!r}: {value!r} is not a number") from None
        if number < 0 or (name == "rate" and number > 1):
            raise ValueError(f"bad fault {part!r}: must be >= 0" + (" and <= 1" if name == "rate" else ""))
        setattr(cfg, name, number)
    return cfg


def faults_from_env(env: Optional[Mapping[str, str]] = None) -> FaultConfig:
    return parse_faults((os.environ if env is None else env).get(ENV_VAR, ""))


@dataclass
class Fault:
    status: Optional[int] = None  # an error status to answer with instead of serving
    delay_s: float = 0.0  # wait before serving
    headers: dict[str, str] = field(default_factory=dict)
    body: Optional[str] = None  # one of BODY_FAULTS: serve, then break the 200 body this way


def malformed_body(kind: str, payload: dict[str, Any]) -> bytes:
    """The broken 200 body `kind` makes of a real reply `payload`."""
    if kind == "garbage":
        return b"\xff\xfe<html>upstream hiccup</html>"
    if kind == "truncated":
        text = json.dumps(payload).encode()
        return text[: len(text) // 2]
    if kind == "no_choices":
        return json.dumps({k: v for k, v in payload.items() if k != "choices"}).encode()
    if kind == "empty":
        choices = [{**c, "logprobs": None, **({"message": {"role": "assistant", "content": ""}} if "message" in c else {"text": ""})}
                   for c in payload.get("choices", [])]
        return json.dumps({**payload, "choices": choices}).encode()
    raise ValueError(f"unknown body fault {kind!r} (known: {BODY_FAULTS})")


class FaultInjector:
    COUNTED = ("500", "429", "slow", *BODY_FAULTS)  # in the order requests meet them

    def __init__(self, cfg: Optional[FaultConfig] = None):
        self.cfg = cfg or FaultConfig()
        self._count = 0
        self._lock = threading.Lock()
        self._rng = random.Random(self.cfg.seed)
        self.injected = dict.fromkeys(self.COUNTED, 0)

    def _fault(self, kind: str) -> Fault:
        c = self.cfg
        if kind == "500":
            return Fault(500)
        if kind == "429":
            return Fault(429, headers={"Retry-After": f"{c.retry_after_s:g}"} if c.retry_after_s > 0 else {})
        if kind == "slow":
            return Fault(delay_s=c.slow_s)
        return Fault(body=kind)

    def next_fault(self) -> Fault:
        with self._lock:
            n = self._count
            self._count += 1
            c = self.cfg
            counts = (c.fail_500, c.fail_429, c.slow, c.garbage, c.truncated, c.no_choices, c.empty)
            kind = None
            for name, count in zip(self.COUNTED, counts):
                if n < count:
                    kind = name
                    break
                n -= count
            if kind is None and c.fail_every and (n + 1) % c.fail_every == 0:
                kind = "500"
            if kind is None and c.rate > 0 and self._rng.random() < c.rate:
                mix = [k for k in self.COUNTED if k != "slow" or c.slow_s > 0]
                kind = self._rng.choice(mix)
            if kind is None:
                return Fault()
            self.injected[kind] += 1
            return self._fault(kind)
