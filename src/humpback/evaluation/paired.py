"""Paired differences between two models judged on the same prompts (and replicate seeds).

Two models answer the same eval prompts, so their win rates are best compared prompt by prompt: the
prompt-to-prompt spread (easy vs hard prompts) cancels and the standard error of the difference is
much smaller than either win rate's. A prompt's score is preference - 1 in [0, 1] (1 = the model beat
the reference, 0.5 a draw); differences are in win-rate points (x 100).

Every number returned is a float, an int or None (never NaN or inf), so results go into summary.json
as they are: a standard error needs two pairs (n = 1 gives None), z needs a non-zero standard error.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np

from humpback.evaluation.metrics import normalise_preference

log = logging.getLogger("humpback")

Rows = Iterable[Mapping[str, Any]]


def prompt_scores(rows: Rows) -> dict[str, float]:
    """preference - 1 per prompt, keyed by `id` when the rows have one, else by `instruction`.

    A repeated key gets "#2", "#3"... in file order, so repeated prompts pair with their counterparts.
    Rows without a usable preference (null, out of range) are left out: they pair with nothing.
    """
    scores: dict[str, float] = {}
    seen: dict[str, int] = {}
    for row in rows:
        key = str(row["id"]) if row.get("id") is not None else str(row.get("instruction"))
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key = f"{key}#{seen[key]}"
        preference = normalise_preference(row.get("preference"))
        if preference is not None:
            scores[key] = preference - 1.0
    return scores


def read_prompt_scores(path: str | Path) -> dict[str, float]:
    """prompt_scores of an AlpacaEval annotations.json."""
    from humpback.evaluation.annotations import read_annotations

    return prompt_scores(read_annotations(path))


def _finite(x: float) -> Optional[float]:
    return float(x) if math.isfinite(x) else None


def _mean_se(values: np.ndarray) -> tuple[Optional[float], Optional[float]]:
    """(mean, sample SD (ddof=1) / sqrt(n)); None where there are too few values."""
    if len(values) == 0:
        return None, None
    mean = float(values.mean())
    return mean, (_finite(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else None)


def _z(mean: Optional[float], se: Optional[float]) -> Optional[float]:
    return mean / se if mean is not None and se else None


def _differences(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[np.ndarray, int]:
    """100 * (b - a) over the prompts both have (in b's order), and how many prompts only one has."""
    common = [k for k in b if k in a]
    diffs = np.array([100.0 * (b[k] - a[k]) for k in common], dtype=float)
    return diffs, len(a) + len(b) - 2 * len(common)


def _summary(diffs: np.ndarray, unmatched: int) -> dict[str, Any]:
    mean, se = _mean_se(diffs)
    return {"mean_difference": mean, "standard_error": se, "n": int(len(diffs)), "z": _z(mean, se),
            "n_unmatched": unmatched}


def paired_scores(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, Any]:
    """B - A over the prompts both have, from per-prompt scores in [0, 1] (as paired_difference)."""
    return _summary(*_differences(a, b))


def paired_difference(a_rows: Rows, b_rows: Rows) -> dict[str, Any]:
    """B - A in win-rate points over the prompts both were judged on.

    Returns mean_difference (mean of 100 * (b - a)), standard_error (sample SD of the differences,
    ddof=1, / sqrt(n); None when n < 2), n (prompts paired), z (mean / SE: how many standard errors the
    difference is from 0; None when SE is None or 0) and n_unmatched (prompts only one of the two has,
    left out).
    """
    return paired_scores(prompt_scores(a_rows), prompt_scores(b_rows))


def paired_over_seeds(a_by_seed: Mapping[Any, Rows], b_by_seed: Mapping[Any, Rows]) -> dict[str, Any]:
    """B - A over replicate seeds: prompts pair within a seed, keyed (seed, prompt), and all pairs are
    pooled into one mean and one standard error (n = pairs over all seeds).

    The pooled SE treats the pairs as independent; the same prompt recurs in every seed, so the
    across-seed spread is given too: seed_standard_error = sample SD (ddof=1) of the per-seed mean
    differences / sqrt(n_seeds), None with fewer than two seeds. Seeds only one side has are left out
    (seeds_unmatched); n_unmatched counts unpaired prompts within the paired seeds.
    """
    return paired_scores_over_seeds({s: prompt_scores(r) for s, r in a_by_seed.items()},
                                    {s: prompt_scores(r) for s, r in b_by_seed.items()})


def paired_scores_over_seeds(a_by_seed: Mapping[Any, Mapping[str, float]],
                             b_by_seed: Mapping[Any, Mapping[str, float]]) -> dict[str, Any]:
    """paired_over_seeds on per-prompt scores in [0, 1] (seed -> prompt -> score) rather than judge rows:
    the same statistics for any per-prompt score, e.g. oracle accuracy (1 accurate, 0 not)."""
    seeds = [s for s in b_by_seed if s in a_by_seed]
    per_seed = [_differences(a_by_seed[s], b_by_seed[s]) for s in seeds]
    pooled = np.concatenate([d for d, _ in per_seed]) if per_seed else np.array([])
    out = _summary(pooled, sum(u for _, u in per_seed))
    seed_means = np.array([d.mean() for d, _ in per_seed if len(d)])
    _, seed_se = _mean_se(seed_means)
    out.update({"n_seeds": int(len(seed_means)), "seed_standard_error": seed_se,
                "seed_z": _z(out["mean_difference"], seed_se),
                "seeds_unmatched": len(set(a_by_seed) ^ set(b_by_seed))})
    return out


def mean_across_seeds(win_rates: Sequence[Optional[float]]) -> dict[str, Any]:
    """Mean ± SE of per-seed win rates: SE = sample SD (ddof=1) / sqrt(k); None for k < 2. None entries
    (a seed without a number) are left out."""
    values = np.array([w for w in win_rates if w is not None and math.isfinite(w)], dtype=float)
    mean, se = _mean_se(values)
    return {"mean": mean, "standard_error": se, "n_seeds": int(len(values))}


def paired_vs_first(models: Mapping[str, Optional[str | Path]]) -> dict[str, dict[str, Any]]:
    """summary["paired"]: every model after the first (M_1 .. M_T) minus the first (M_0), paired over the
    eval prompts, read from each model's annotations.json. Models without annotations are left out."""
    paths = {name: Path(p) for name, p in models.items() if p is not None and Path(p).is_file()}
    for name in [n for n in models if n not in paths]:
        log.info("paired differences: %s has no annotations file, left out", name)
    first = next(iter(models), None)
    if first not in paths:
        return {}
    base = read_prompt_scores(paths[first])
    return {name: {"vs": first, **paired_scores(base, read_prompt_scores(path))}
            for name, path in paths.items() if name != first}
