"""Fault injection for humpback-serve, to test clients against a misbehaving server.

Completion requests are numbered as they arrive (0, 1, 2 ...) and meet the faults in this order:
the first `fail_500` get HTTP 500, the next `fail_429` get HTTP 429 (with Retry-After when
`retry_after_s` > 0), the next `slow` are answered only after `slow_s` seconds; after that every
`fail_every`-th request gets a 500 (0: never). Spec strings, from `--faults` or HUMPBACK_SERVE_FAULTS:

    fail_500=2,fail_429=1,slow=1,slow_s=3.0,fail_every=0,retry_after_s=0
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, fields
from typing import Mapping, Optional

ENV_VAR = "HUMPBACK_SERVE_FAULTS"


@dataclass
class FaultConfig:
    fail_500: int = 0
    fail_429: int = 0
    slow: int = 0
    slow_s: float = 0.0
    fail_every: int = 0
    retry_after_s: float = 0.0


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
        if number < 0:
            raise ValueError(f"bad fault {part!r}: must be >= 0")
        setattr(cfg, name, number)
    return cfg


def faults_from_env(env: Optional[Mapping[str, str]] = None) -> FaultConfig:
    return parse_faults((os.environ if env is None else env).get(ENV_VAR, ""))


@dataclass
class Fault:
    status: Optional[int] = None  # an error status to answer with instead of serving
    delay_s: float = 0.0  # wait before serving
    headers: dict[str, str] = field(default_factory=dict)


class FaultInjector:
    def __init__(self, cfg: Optional[FaultConfig] = None):
        self.cfg = cfg or FaultConfig()
        self._count = 0
        self._lock = threading.Lock()
        self.injected = {"500": 0, "429": 0, "slow": 0}

    def next_fault(self) -> Fault:
        with self._lock:
            n = self._count
            self._count += 1
            c = self.cfg
            if n < c.fail_500:
                kind, fault = "500", Fault(500)
            elif n < c.fail_500 + c.fail_429:
                kind, fault = "429", Fault(429, headers={"Retry-After": f"{c.retry_after_s:g}"} if c.retry_after_s > 0 else {})
            elif n < c.fail_500 + c.fail_429 + c.slow:
                kind, fault = "slow", Fault(delay_s=c.slow_s)
            elif c.fail_every and (n - c.fail_500 - c.fail_429 - c.slow + 1) % c.fail_every == 0:
                kind, fault = "500", Fault(500)
            else:
                return Fault()
            self.injected[kind] += 1
            return fault
