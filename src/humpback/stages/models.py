"""Model stages: the base model of each role, the backward model M_yx, the seed model M_0 and the
students M_t. Training data is built inside each stage's run, so a plan can walk the DAG without data."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable

from omegaconf import OmegaConf

from humpback import prompts
from humpback.cache import Artifact
from humpback.data.records import read_jsonl, write_jsonl
from humpback.data.toyworld.world import FILES as WORLD_FILES
from humpback.models.config import OPERATIONAL_TRAIN_FIELDS, ModelConfig
from humpback.stages import files
from humpback.stages.context import RunContext
from humpback.stages.select import Selection, select_pairs, training_mix


def model_dir(art: Artifact) -> str:
    """A referenced local/hub model's path, or the folder a stage wrote."""
    return art.metrics.get("path") or str(art.path / files.MODEL)


def base(ctx: RunContext, model_cfg: ModelConfig, world_art: Artifact | None, seed_art: Artifact, segments_art: Artifact) -> Artifact:
    """Scratch models are pretrained on the corpus; local/hub models are referenced, not copied."""
    model_config = {"model": asdict(model_cfg)}
    if model_cfg.source != "scratch":
        from humpback.models.factory import base_model_path

        def ref(work: Path) -> dict[str, Any]:
            return {"source": model_cfg.source, "path": base_model_path(model_cfg)}

        return ctx.stage(f"base {model_cfg.name}", "base", 1, model_config, {}, ref)

    from humpback.models.train import pretrain_scratch

    def run(work: Path) -> dict[str, Any]:
        if world_art is not None:
            texts = [r["text"] for r in read_jsonl(world_art.path / WORLD_FILES["corpus"])]
        else:  # a real corpus: pretrain a scratch model on the segments themselves
            texts = [r["text"] for r in read_jsonl(segments_art.path / files.SEGMENTS)]
        seed_rows = read_jsonl(seed_art.path / files.SEED)
        # The tokenizer also sees the templates so prompts stay short in tokens; the model does not.
        tok_extra = [prompts.CURATION_PROMPT, prompts.BACKWARD_PROMPT, prompts.TAG_SEED, prompts.TAG_WEB]
        tok_extra += [r["instruction"] + "\n" + r["output"] for r in seed_rows]
        return pretrain_scratch(texts, model_cfg, OmegaConf.to_object(ctx.cfg.pretrain), OmegaConf.to_object(ctx.cfg.train),
                                work / files.MODEL, tokenizer_extra=tok_extra, logger=ctx.training_logger("base"))

    upstream = {"seed": seed_art, **({"world": world_art} if world_art else {"segments": segments_art})}
    # Every train.* field pretraining reads that can change its weights (it trains on one device).
    config = {**model_config, **ctx.config("pretrain", "train.seed", "train.betas", "train.precision", "train.accelerator",
                                           "train.strategy")}
    return ctx.stage("base", "pretrain", 2, config, upstream, run, model="base")


def finetune(ctx: RunContext, name: str, model_cfg: ModelConfig, start: Artifact,
             make_examples: Callable[[Path], tuple[list[dict[str, Any]], dict[str, Any]]],
             config: dict[str, Any], upstream: dict[str, Artifact], schedule: dict[str, Any] | None = None) -> Artifact:
    """One SFT stage from `start`; `config` holds whatever decides the examples, so the key covers it.
    `schedule`: train.* fields this stage sets its own way (they must also be in `config`)."""
    from humpback.models.train import finetune as sft

    def run(work: Path) -> dict[str, Any]:
        examples, info = make_examples(work)
        write_jsonl(work / files.TRAIN, examples)
        train_cfg = replace(OmegaConf.to_object(ctx.cfg.train), **(schedule or {}))
        return {**info, **sft(model_dir(start), examples, model_cfg, train_cfg, work / files.MODEL, logger=ctx.training_logger(name))}

    own = set(schedule or {})  # set by the stage (and keyed through `config`), so train.*'s values are not read
    train = {k: v for k, v in ctx.config("train")["train"].items() if k not in OPERATIONAL_TRAIN_FIELDS and k not in own}
    key_config = {**config, "model": asdict(model_cfg), "train": train}
    return ctx.stage(name, "finetune", 1, key_config, {"start": start, **upstream}, run, model=name)


def forward_examples(pairs: list[dict[str, Any]], tag: str | None) -> list[dict[str, str]]:
    tags = (tag,) if tag else ()
    return [{"user": prompts.add_tags(p["instruction"], tags), "target": " " + p["output"]} for p in pairs]


def backward_model(ctx: RunContext, model_cfg: ModelConfig, base_art: Artifact, seed_art: Artifact) -> Artifact:
    def examples(work: Path):
        excluded = set(ctx.cfg.backward.exclude_families)
        pairs = [r for r in read_jsonl(seed_art.path / files.SEED) if r.get("family") not in excluded]
        return [{"user": prompts.backward_message(p["output"]), "target": " " + p["instruction"]} for p in pairs], {}

    own = {k: v for k in ("lr", "lr_end", "epochs") if (v := ctx.cfg.backward[k]) is not None}
    return finetune(ctx, "M_yx", model_cfg, base_art, examples, {"direction": "backward", **ctx.config("backward")}, {"seed": seed_art},
                    schedule=own)


def seed_model(ctx: RunContext, model_cfg: ModelConfig, base_art: Artifact, seed_art: Artifact) -> Artifact:
    def examples(work: Path):
        rows = read_jsonl(seed_art.path / files.SEED)
        return forward_examples(rows, None), {"seed_examples": len(rows), "augmented_examples": 0, "tagged": False}

    return finetune(ctx, "M_0", model_cfg, base_art, examples, {"direction": "forward", "data": "seed"}, {"seed": seed_art})


def student(ctx: RunContext, t: int, sel: Selection, model_cfg: ModelConfig, base_art: Artifact, seed_art: Artifact,
            candidates_art: Artifact, scores_art: Artifact | None, previous: Artifact) -> Artifact:
    """M_t on the data `sel` chooses (seed + A_k^(t), see select.selection_for); `scores_art` holds the
    scores of `sel.curator`. The selected pairs are saved as `files.SELECTED` next to the model."""
    if (scores_art is None) != (sel.curator is None):
        raise ValueError(f"M_{t}: selection {sel} needs {'scores' if sel.curator else 'no scores'}")

    def examples(work: Path):
        scores = read_jsonl(scores_art.path / files.SCORES) if scores_art is not None else None
        selected = select_pairs(read_jsonl(candidates_art.path / files.CANDIDATES), scores, sel.threshold, sel.size,
                                sel.seed, sel.margin)
        mix, info = training_mix(read_jsonl(seed_art.path / files.SEED), selected, sel)
        write_jsonl(work / files.SELECTED, selected)
        return mix, {**info, "selection": sel.key()}

    upstream = {"seed": seed_art, "candidates": candidates_art, **({"scores": scores_art} if scores_art is not None else {})}
    start = previous if sel.init == "previous" else base_art
    return finetune(ctx, f"M_{t}", model_cfg, start, examples, {"direction": "forward", "selection": sel.key()}, upstream)
