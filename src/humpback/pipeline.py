"""The Humpback pipeline as one story (SPEC.md section 1); every step is a cached stage.

    segments = segment(corpus); base = pretrain(corpus) or load(path)
    M_yx = finetune(base, reversed seed);  A = augment(M_yx, segments);  M_0 = finetune(base, seed)
    for t in 1..T: scores_t = curate(M_{t-1}, A); M_t = finetune(base, seed[S_a] + A_k^(t)[S_w])
    evaluate(M_0..M_T) against the references
"""

from __future__ import annotations

import time
from typing import Any

from humpback.cache import ArtifactStore
from humpback.data.records import length_stats, read_jsonl
from humpback.evaluation.curator_quality import curator_quality
from humpback.paths import resolve
from humpback.stages import inputs, models
from humpback.stages.augment import augment
from humpback.stages.context import RunContext
from humpback.stages.curate import curate
from humpback.stages.evaluate import generate_answers, judge_answers


def run_pipeline(ctx: RunContext) -> dict[str, Any]:
    cfg, start = ctx.cfg, time.time()
    world = inputs.world(ctx)
    seed = inputs.seed(ctx, world)
    evalset = inputs.eval_set(ctx, world)
    segs = inputs.segments(ctx, world)
    base = models.base(ctx, world, seed, segs)
    m_yx = models.backward_model(ctx, base, seed)
    cands = augment(ctx, m_yx, segs)
    m_0 = models.seed_model(ctx, base, seed)

    seed_rows = read_jsonl(seed.path / "seed.jsonl")
    cand_rows = read_jsonl(cands.path / "candidates.jsonl")
    gold = world.path / "gold" / "segments.jsonl" if world is not None else None
    data = {"seed": length_stats(seed_rows), "A": length_stats(cand_rows)}
    trained = {"M_0": (m_0, {"seed_examples": len(seed_rows), "augmented_examples": 0, "tagged": False})}
    curation, quality = {}, {}
    T, previous = cfg.curate.iterations, m_0
    for t in range(1, T + 1):
        final = t == T
        needs_scores = not final or cfg.student.threshold is not None
        scores = curate(ctx, f"scores_{t}", previous, cands) if needs_scores else None
        m_t, selected, info = models.student(ctx, t, base, seed, cands, scores, previous, final)
        data[f"A_{t}"] = length_stats(selected)
        if scores is not None:
            curation[str(t)] = {**scores.metrics, "kept": len(selected), "threshold": info["threshold"], "curator": f"M_{t - 1}"}
            if gold is not None:
                quality[f"M_{t - 1}"] = curator_quality(cand_rows, read_jsonl(scores.path / "scores.jsonl"), read_jsonl(gold),
                                                        info["threshold"] - info["margin"])
        trained[f"M_{t}"] = (m_t, info)
        previous = m_t

    evaluated = trained if cfg.eval.models == "all" else {f"M_{T}": trained[f"M_{T}"]}
    results = {}
    for name, (art, info) in evaluated.items():
        answers = generate_answers(ctx, name, art, evalset, trained_with_tags=bool(info.get("tagged")))
        verdict = judge_answers(ctx, name, answers, evalset)
        results[name] = {"train_examples": art.metrics.get("examples"), **{k: info.get(k) for k in ("seed_examples", "augmented_examples", "tagged")},
                         "final_loss": art.metrics.get("final_loss"), "inference_tags": answers.metrics.get("inference_tags"),
                         **verdict.metrics, "annotations": str(verdict.path / "annotations.json")}

    stages = [{"name": r.name, "stage": r.stage, "key": r.key, "cached": r.cached, "seconds": r.seconds} for r in ctx.records]
    return {
        "experiment": cfg.experiment_name,
        "models": results,
        "final_model": f"M_{T}",
        "data": data,
        "segments": {k: v for k, v in segs.metrics.items() if k != "reader"},
        "curation": curation,
        "curator_quality": quality,
        "stages": stages,
        "computed_stages": sum(not s["cached"] for s in stages),
        "cached_stages": sum(s["cached"] for s in stages),
        "seconds": round(time.time() - start, 2),
        "cache_dir": str(ctx.store.root),
        "job_dir": str(ctx.job_dir),
    }


def make_context(cfg: Any, job_dir, tracker=None) -> RunContext:
    return RunContext(cfg, ArtifactStore(resolve(cfg.cache_dir)), job_dir, tracker)
