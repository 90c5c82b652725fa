"""Self-augmentation: M_yx writes one instruction x̂ per segment, giving the candidate set A.

Sampled text depends on how rows are batched (padding, per-batch seeds), so the key holds the batch
and shard layout (`GENERATION_KEY`) rather than pretending the results are independent of it."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

from humpback import prompts
from humpback.cache import Artifact
from humpback.data.records import read_jsonl, write_jsonl
from humpback.inference import make_engine
from humpback.models.config import ModelConfig
from humpback.stages import files
from humpback.stages.context import RunContext
from humpback.stages.models import model_dir
from humpback.stages.sharded import GENERATION_KEY, GENERATION_VERSION, map_in_shards


def shard_seed(base: int, chunk: list[dict[str, Any]]) -> int:
    """A sampling seed that depends on the shard's content, not on its position after a resume."""
    return base + (zlib.crc32(chunk[0]["id"].encode()) if chunk else 0)


def augment(ctx: RunContext, model_cfg: ModelConfig, backward_art: Artifact, segments_art: Artifact) -> Artifact:
    cfg = ctx.cfg

    def run(work: Path) -> dict[str, Any]:
        segs = read_jsonl(segments_art.path / files.SEGMENTS)
        if cfg.augment.limit is not None:
            segs = segs[: cfg.augment.limit]
        engine = make_engine(model_dir(backward_art), model_cfg, cfg.generate)

        def write_instructions(chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
            asks = [engine.format(prompts.backward_message(s["text"])) for s in chunk]
            texts = engine.generate(asks, cfg.generate.instruction, seed=shard_seed(cfg.generate.seed, chunk))
            return [{"id": s["id"], "instruction": x, "output": s["text"], "doc_id": s.get("doc_id"), "header": s.get("header")}
                    for s, x in zip(chunk, texts)]

        with engine:  # a server engine's servers stop when the stage ends
            rows, shards = map_in_shards(segs, write_instructions, work, "augment: writing instructions", cfg.generate.shard_size,
                                         workers=cfg.workers)
        kept = [r for r in rows if len(r["instruction"].strip()) >= cfg.augment.min_instruction_chars]
        write_jsonl(work / files.CANDIDATES, kept)
        write_jsonl(work / files.EMPTY_INSTRUCTIONS, [r for r in rows if r not in kept])  # quarantined, counted
        return {"segments": len(segs), "candidates": len(kept), "empty_instructions": len(rows) - len(kept), **shards}

    config = ctx.config("augment", "generate.instruction", *GENERATION_KEY)
    return ctx.stage("augment", "augment", GENERATION_VERSION, config, {"M_yx": backward_art, "segments": segments_art}, run)
