"""Model stages: the base model, the backward model M_yx, the seed model M_0 and the students M_t."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from humpback import prompts
from humpback.cache import Artifact
from humpback.data.records import read_jsonl, write_jsonl
from humpback.stages.context import RunContext


def model_dir(art: Artifact) -> str:
    return str(art.path / "model")


def base(ctx: RunContext, world_art: Artifact | None, seed_art: Artifact, segments_art: Artifact) -> Artifact:
    """Scratch models are pretrained on the corpus; local/hub models are referenced, not copied."""
    model_cfg = OmegaConf.to_object(ctx.cfg.model)
    if model_cfg.source != "scratch":
        from humpback.models.factory import base_model_path

        path = base_model_path(model_cfg)

        def ref(work: Path) -> dict[str, Any]:
            return {"source": model_cfg.source, "path": path}

        return ctx.stage("base", "base", 1, ctx.config("model"), {}, ref)

    from humpback.models.train import pretrain_scratch

    def run(work: Path) -> dict[str, Any]:
        if world_art is not None:
            texts = [r["text"] for r in read_jsonl(world_art.path / "corpus.jsonl")]
        else:  # a real corpus: pretrain a scratch model on the segments themselves
            texts = [r["text"] for r in read_jsonl(segments_art.path / "segments.jsonl")]
        seed_rows = read_jsonl(seed_art.path / "seed.jsonl")
        # The tokenizer also sees the templates so prompts stay short in tokens; the model does not.
        tok_extra = [prompts.CURATION_PROMPT, prompts.BACKWARD_PROMPT, prompts.TAG_SEED, prompts.TAG_WEB]
        tok_extra += [r["instruction"] + "\n" + r["output"] for r in seed_rows]
        return pretrain_scratch(texts, model_cfg, OmegaConf.to_object(ctx.cfg.pretrain),
                                OmegaConf.to_object(ctx.cfg.train), work / "model", tokenizer_extra=tok_extra)

    upstream = {"seed": seed_art, **({"world": world_art} if world_art else {"segments": segments_art})}
    return ctx.stage("base", "pretrain", 1, ctx.config("model", "pretrain", "train.seed", "train.betas"), upstream, run)


def base_path(art: Artifact) -> str:
    """A referenced local/hub model's path, or the folder a stage wrote."""
    return art.metrics.get("path") or model_dir(art)


def finetune(ctx: RunContext, name: str, base_art: Artifact, examples: list[dict[str, str]], config: dict[str, Any],
             upstream: dict[str, Artifact], init: Artifact | None = None) -> Artifact:
    """One SFT stage; `config` holds whatever decided `examples` (selection knobs), so the key covers it."""
    from humpback.models.train import finetune as sft

    start_path = base_path(init or base_art)

    def run(work: Path) -> dict[str, Any]:
        write_jsonl(work / "train.jsonl", examples)
        return sft(start_path, examples, OmegaConf.to_object(ctx.cfg.model), OmegaConf.to_object(ctx.cfg.train), work / "model")

    key_config = {**config, **ctx.config("model", "train")}
    return ctx.stage(name, "finetune", 1, key_config, {"base": base_art, **({"init": init} if init else {}), **upstream}, run)


def forward_examples(pairs: list[dict[str, Any]], tag: str | None) -> list[dict[str, str]]:
    tags = (tag,) if tag else ()
    return [{"prompt": prompts.inst_prompt(prompts.add_tags(p["instruction"], tags)), "target": " " + p["output"]} for p in pairs]


def backward_model(ctx: RunContext, base_art: Artifact, seed_art: Artifact) -> Artifact:
    excluded = set(ctx.cfg.backward.exclude_families)
    pairs = [r for r in read_jsonl(seed_art.path / "seed.jsonl") if r.get("family") not in excluded]
    examples = [{"prompt": prompts.backward_prompt(p["output"]), "target": " " + p["instruction"]} for p in pairs]
    return finetune(ctx, "M_yx", base_art, examples, {"direction": "backward", **ctx.config("backward")}, {"seed": seed_art})


def seed_model(ctx: RunContext, base_art: Artifact, seed_art: Artifact) -> Artifact:
    examples = forward_examples(read_jsonl(seed_art.path / "seed.jsonl"), None)
    return finetune(ctx, "M_0", base_art, examples, {"direction": "forward", "data": "seed"}, {"seed": seed_art})


def student(ctx: RunContext, t: int, base_art: Artifact, seed_art: Artifact, candidates_art: Artifact,
            scores_art: Artifact | None, previous: Artifact, final: bool) -> tuple[Artifact, list[dict[str, Any]], dict[str, Any]]:
    """M_t on seed + A_k^(t). The final model's selection is `student.*`; internal ones use `curate.threshold`."""
    from humpback.stages.select import select_pairs, training_mix

    s, c = ctx.cfg.student, ctx.cfg.curate
    threshold = s.threshold if final else c.threshold
    size = s.size if final else None
    margin = c.logprob_margin if c.mode == "logprob" else 0.0
    scores = read_jsonl(scores_art.path / "scores.jsonl") if scores_art is not None else None
    selected = select_pairs(read_jsonl(candidates_art.path / "candidates.jsonl"), scores, threshold, size, s.selection_seed, margin)
    examples, info = training_mix(read_jsonl(seed_art.path / "seed.jsonl"), selected, s.seed_data, s.augmented, s.tags)
    selection = {"threshold": threshold, "size": size, "margin": margin, "seed_data": s.seed_data, "augmented": s.augmented,
                 "tags": s.tags, "selection_seed": s.selection_seed, "init": s.init}
    upstream = {"seed": seed_art, "candidates": candidates_art, **({"scores": scores_art} if scores_art is not None else {})}
    init = previous if s.init == "previous" else None
    art = finetune(ctx, f"M_{t}", base_art, examples, {"direction": "forward", "selection": selection}, upstream, init)
    return art, selected, {**info, **selection}
