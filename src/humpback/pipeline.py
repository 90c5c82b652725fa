"""The Humpback pipeline as one story (SPEC.md section 1); every step is a cached stage.

    segments = segment(corpus); base = pretrain(corpus) or load(path)
    M_yx = finetune(base, reversed seed);  A = augment(M_yx, segments);  M_0 = finetune(base, seed)
    for t in 1..T: scores_t = curate(M_{t-1}, A); M_t = finetune(base, seed[S_a] + A_k^(t)[S_w])
    evaluate(M_0..M_T) against the references
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import OmegaConf

from humpback.cache import Artifact, ArtifactStore
from humpback.models.config import ModelConfig
from humpback.paths import resolve
from humpback.stages import inputs, models
from humpback.stages.augment import augment
from humpback.stages.context import RunContext
from humpback.stages.curate import curate, oracle_scores
from humpback.stages.evaluate import generate_answers, judge_answers
from humpback.stages.select import ORACLE_CURATORS, Selection, default_curator, selection_for


@dataclass
class PipelineArtifacts:
    """What a run produced, for the summary (or, in a plan, what it would produce)."""

    world: Artifact | None
    seed: Artifact
    eval_set: Artifact
    segments: Artifact
    candidates: Artifact
    models: dict[str, Artifact] = field(default_factory=dict)  # M_0 .. M_T
    scores: dict[str, Artifact] = field(default_factory=dict)  # curator name -> scores artifact
    selections: dict[str, Selection] = field(default_factory=dict)  # M_1 .. M_T -> how its data was chosen
    answers: dict[str, Artifact] = field(default_factory=dict)
    verdicts: dict[str, Artifact] = field(default_factory=dict)


def role_model(cfg: Any, role: str) -> ModelConfig:
    chosen = OmegaConf.select(cfg, f"roles.{role}")
    return OmegaConf.to_object(chosen if chosen is not None else cfg.model)


def run_stages(ctx: RunContext) -> PipelineArtifacts:
    cfg = ctx.cfg
    inputs.check_inputs(ctx)  # unset input paths stop a run before any work (a plan only warns)
    world = inputs.world(ctx)
    seed = inputs.seed(ctx, world)
    evalset = inputs.eval_set(ctx, world)
    segs = inputs.segments(ctx, world)

    student_cfg, backward_cfg, curator_cfg = role_model(cfg, "student"), role_model(cfg, "backward"), role_model(cfg, "curator")
    base = models.base(ctx, student_cfg, world, seed, segs)
    backward_base = base if backward_cfg == student_cfg else models.base(ctx, backward_cfg, world, seed, segs)
    m_yx = models.backward_model(ctx, backward_cfg, backward_base, seed)
    cands = augment(ctx, backward_cfg, m_yx, segs)
    out = PipelineArtifacts(world, seed, evalset, segs, cands)
    out.models["M_0"] = models.seed_model(ctx, student_cfg, base, seed)

    external = OmegaConf.select(cfg, "roles.curator") is not None
    curator_art = models.base(ctx, curator_cfg, world, seed, segs) if external else None
    T = cfg.curate.iterations
    for t in range(1, T + 1):
        sel = selection_for(cfg, t)
        scores = None
        if sel.curator is not None:  # a selection without curation needs no scores
            # The default curator rates even when another one is chosen: the summary reports its curator quality.
            rater = default_curator(cfg, t)
            if rater not in out.scores:
                out.scores[rater] = curate(ctx, "scores_ext" if external else f"scores_{t}", curator_cfg if external else student_cfg,
                                           curator_art if external else out.models[rater], cands)
            if sel.curator in ORACLE_CURATORS:
                out.scores[sel.curator] = oracle_scores(ctx, world, cands, check_instruction=sel.curator == "oracle_pair")
            elif sel.curator not in out.scores:
                raise ValueError(f"student.curator={cfg.student.curator!r}: choose previous, {', '.join(ORACLE_CURATORS)} "
                                 f"or one of {sorted(out.scores)}")
            scores = out.scores[sel.curator]
        out.selections[f"M_{t}"] = sel
        out.models[f"M_{t}"] = models.student(ctx, t, sel, student_cfg, base, seed, cands, scores, out.models[f"M_{t - 1}"])

    evaluated = list(out.models) if cfg.eval.models == "all" else [f"M_{T}"]
    for name in evaluated:
        tagged = name in out.selections and out.selections[name].tags  # M_0 never sees a tag
        out.answers[name] = generate_answers(ctx, name, student_cfg, out.models[name], evalset, tagged)
        out.verdicts[name] = judge_answers(ctx, name, out.answers[name], evalset)
    return out


def make_context(cfg: Any, job_dir, tracker=None, plan: bool = False) -> RunContext:
    return RunContext(cfg, ArtifactStore(resolve(cfg.cache_dir)), job_dir, tracker, plan=plan)
