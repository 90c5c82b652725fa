"""Pairwise win-rate metrics with AlpacaEval's conventions.

Preference scale: 1 = the reference (output_1) wins, 2 = the model (output_2) wins, 1.5 = draw, and
anything in between is a soft (weighted) judgement. The legacy code 0 also means a draw. Rows whose
preference is missing, null, NaN, not a number or outside [1, 2] are dropped from every statistic and
counted in `n_dropped` (AlpacaEval drops them silently; we report how many). With no usable row the
rates are None, and so is the standard error below two rows (strict JSON has no NaN).

  win_rate          = 100 * mean(preference - 1)
  standard_error    = 100 * sample standard error of (preference - 1)  (ddof = 1, like pandas .sem())
  discrete_win_rate = 100 * mean(win 1 / draw 0.5 / loss 0), where a row is a win when preference > 1.5,
                      a draw when it is exactly 1.5, a loss when < 1.5
  n_wins / n_wins_base / n_draws count preference > 1.5 / < 1.5 / == 1.5.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

DRAW = 1.5
LEGACY_DRAW = 0


def normalise_preference(value: Any) -> float | None:
    """The preference as a float in [1, 2] (legacy 0 -> 1.5), or None when it is unusable."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    if math.isnan(value):
        return None
    if value == LEGACY_DRAW:
        return DRAW
    return value if 1.0 <= value <= 2.0 else None


def _sem(xs: list[float]) -> float | None:
    n = len(xs)
    if n < 2:  # no spread to measure: None (null in summary.json), never NaN
        return None
    mean = sum(xs) / n
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    return math.sqrt(var / n)


def win_rate_from_preferences(preferences: Iterable[Any]) -> dict[str, Any]:
    """Metrics for a bare sequence of preferences (see the module docstring)."""
    raw = list(preferences)
    kept = [p for p in (normalise_preference(v) for v in raw) if p is not None]
    soft = [p - 1.0 for p in kept]
    discrete = [1.0 if p > DRAW else 0.5 if p == DRAW else 0.0 for p in kept]
    n = len(kept)
    se = _sem(soft)
    return {
        "win_rate": 100 * sum(soft) / n if n else None,
        "standard_error": 100 * se if se is not None else None,
        "n_wins": sum(p > DRAW for p in kept),
        "n_wins_base": sum(p < DRAW for p in kept),
        "n_draws": sum(p == DRAW for p in kept),
        "n_total": n,
        "discrete_win_rate": 100 * sum(discrete) / n if n else None,
        "n_dropped": len(raw) - n,
    }


def win_rate_metrics(annotations: list[dict[str, Any]]) -> dict[str, Any]:
    """AlpacaEval head-to-head metrics of output_2 (model) against output_1 (reference)."""
    return win_rate_from_preferences(row.get("preference") for row in annotations)


def is_identical(output_1: str, output_2: str) -> bool:
    """Outputs that differ only in surrounding whitespace are the same answer: a draw, no judge needed."""
    return output_1.strip() == output_2.strip()


def preference_for_identical(output_1: str, output_2: str) -> float | None:
    """1.5 (a draw) when the two outputs are identical, else None (a judge must decide)."""
    return DRAW if is_identical(output_1, output_2) else None
