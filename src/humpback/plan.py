"""`humpback ... plan=true`: the stage DAG with cache keys, what is cached, row counts where known and
an estimate of generation tokens and judge calls. Walks the DAG without running a stage or loading a model."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from humpback.pipeline import PipelineArtifacts
from humpback.stages.context import RunContext

_ROWS = {"world": "eval", "seed": "count", "eval_set": "count", "segments": "kept", "augment": "candidates", "curate": "pairs",
         "oracle_scores": "pairs", "finetune": "examples", "generate": "count", "judge": "n_total"}


def _known(art, field: str) -> Any:
    return art.metrics.get(field) if art is not None and art.cached else None


def estimate(ctx: RunContext, arts: PipelineArtifacts) -> dict[str, Any]:
    """Generation tokens (upper bounds: max_new_tokens per row) and judge calls, from counts known now."""
    cfg = ctx.cfg
    n_eval = _known(arts.eval_set, "count") or (cfg.data.world.n_eval if cfg.data.source == "toyworld" else cfg.eval.set.limit)
    n_segments = _known(arts.segments, "kept")
    if n_segments is not None and cfg.augment.limit is not None:
        n_segments = min(n_segments, cfg.augment.limit)
    n_cands = _known(arts.candidates, "candidates") or n_segments
    ratings = sum(1 for a in arts.scores.values() if a.stage == "curate")
    per_rating = cfg.curate.samples * (cfg.curate.decode.max_new_tokens if cfg.curate.mode == "generate" else 1)

    def times(*xs):
        return None if any(x is None for x in xs) else int(eval("*".join(map(str, xs))))

    return {
        "eval_prompts": n_eval,
        "segments": n_segments,
        "candidates": n_cands,
        "augment_tokens": times(n_segments, cfg.generate.instruction.max_new_tokens),
        "curation_tokens": times(n_cands, per_rating, ratings),
        "answer_tokens": times(n_eval, cfg.generate.answer.max_new_tokens, len(arts.answers)),
        "judge_calls": times(n_eval, len(arts.verdicts)),
    }


def print_plan(ctx: RunContext, arts: PipelineArtifacts, console: Console | None = None) -> dict[str, Any]:
    console = console or Console(width=140)
    table = Table(title=f"humpback plan: {ctx.cfg.experiment_name}  (cache: {ctx.store.root})")
    for col in ("#", "stage", "kind", "key", "status", "rows"):
        table.add_column(col)
    for i, r in enumerate(ctx.records, start=1):
        rows = r.metrics.get(_ROWS.get(r.stage, ""), "") if r.cached else ""
        table.add_row(str(i), r.name, r.stage, r.key, "cached" if r.cached else "to compute", str(rows))
    console.print(table)
    est = estimate(ctx, arts)
    todo = sum(not r.cached for r in ctx.records)
    console.print(f"{todo} of {len(ctx.records)} stages to compute. Estimates (upper bounds; ? = not known before upstream runs):")
    for k, v in est.items():
        console.print(f"  {k:16s} {v if v is not None else '?'}")
    from humpback.evaluation.judges import describe_judge

    judge = describe_judge(ctx.cfg.judge)
    console.print(f"Judge: {judge}", highlight=False, soft_wrap=True)
    return {"stages": [{"name": r.name, "stage": r.stage, "key": r.key, "cached": r.cached} for r in ctx.records], "estimates": est,
            "judge": judge}
