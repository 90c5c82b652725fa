"""The paper's data-scaling fit w = alpha ln N + C (natural log: it reproduces most of Table 3's rows)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ScalingFit:
    alpha: float  # win-rate points per unit of ln N
    intercept: float  # C
    r2: float  # coefficient of determination (1.0 for two points)
    points: int


def fit_log_scaling(sizes: list[float], win_rates: list[float]) -> ScalingFit | None:
    """Least-squares line of win rate against ln N; None with fewer than two distinct sizes."""
    if len(sizes) != len(win_rates):
        raise ValueError(f"{len(sizes)} sizes but {len(win_rates)} win rates")
    if len({float(n) for n in sizes}) < 2:
        return None
    if any(n <= 0 for n in sizes):
        raise ValueError(f"data sizes must be positive, got {sizes}")
    x, y = np.log(np.asarray(sizes, dtype=float)), np.asarray(win_rates, dtype=float)
    alpha, intercept = np.polyfit(x, y, 1)
    residual = y - (alpha * x + intercept)
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((residual ** 2).sum()) / total if total > 0 else 1.0
    return ScalingFit(float(alpha), float(intercept), r2, len(sizes))
