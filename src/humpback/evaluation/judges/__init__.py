"""Judges beyond the toy world's oracle: an OpenAI-compatible API judge and a local HF judge (both with
our wording in AlpacaEval's ranking or logprob format, or with one of AlpacaEval's own annotators read
from the installed alpaca-eval: judge.annotator, judges/alpaca.py), and the annotation cache every judge
is wrapped in.

    judge = humpback.evaluation.judging.make_judge(cfg.judge)   # cached, per cfg.judge.kind
    rows = annotate(judge, records, outputs, generator, cfg.judge.order_seed)
    attach_extras(judge, rows)   # raw_completion, tokens, price_per_example, time_per_example
    judge.stats                  # totals: calls, retries, failures, tokens, cost_usd, cache hits
"""

from __future__ import annotations

from typing import Any

from humpback.evaluation.judges.accounting import JudgeStats
from humpback.evaluation.judges.cache import AnnotationCache, CachedJudge, judge_fingerprint
from humpback.evaluation.judges.prompted import JudgeUnavailable, PromptedJudge, Verdict

__all__ = ["AnnotationCache", "CachedJudge", "JudgeStats", "JudgeUnavailable", "PromptedJudge", "Verdict", "attach_extras",
           "describe_judge", "judge_fingerprint", "with_annotation_cache"]


def describe_judge(cfg: Any) -> str:
    """One line for the plan: the judge kind, the model it asks and the annotator in use."""
    if cfg.kind not in ("api", "hf"):
        return f"{cfg.kind} ({cfg.name})"
    from humpback.evaluation.judges.prompted import make_annotator

    annotator = make_annotator(cfg)
    model = cfg.model or (annotator.model if cfg.kind == "api" else "?")
    return f"{cfg.kind} {model}: {annotator.describe()}"


def with_annotation_cache(judge: Any, cfg: Any) -> Any:
    """`judge` behind the annotation cache in `cfg.cache_dir` (relative paths: humpback.paths.resolve); a
    null cache_dir returns the judge as it is."""
    from humpback.paths import resolve

    cache_dir = getattr(cfg, "cache_dir", None)
    if not cache_dir:
        return judge
    if "${" in str(cache_dir):  # a plain dataclass outside a composed config: the interpolation is unresolved
        cache_dir = "outputs/cache/judge_annotations"
    prompted = cfg.kind in ("api", "hf")  # they see instruction and outputs only; other judges also read the record
    return CachedJudge(judge, AnnotationCache(resolve(cache_dir), judge_fingerprint(cfg)), key_record=not prompted)


def attach_extras(judge: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add the judge's accounting fields to annotation rows made by `judging.annotate` (which records
    in `swapped` which order the judge saw); rows settled without a call are left as they are."""
    extras_for = getattr(judge, "extras_for", None)
    if extras_for is None:
        return rows
    for row in rows:
        a, b = (row["output_2"], row["output_1"]) if row.get("swapped") else (row["output_1"], row["output_2"])
        row.update(extras_for(row["instruction"], a, b))
    return rows
