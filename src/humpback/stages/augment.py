"""Self-augmentation: M_yx writes one instruction x̂ per segment, giving the candidate set A."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from humpback import prompts
from humpback.cache import Artifact
from humpback.data.records import read_jsonl, write_jsonl
from humpback.inference import make_engine
from humpback.stages.context import RunContext
from humpback.stages.models import model_dir
from humpback.stages.sharded import map_in_shards


def augment(ctx: RunContext, backward_art: Artifact, segments_art: Artifact) -> Artifact:
    cfg = ctx.cfg

    def run(work: Path) -> dict[str, Any]:
        segs = read_jsonl(segments_art.path / "segments.jsonl")
        if cfg.augment.limit is not None:
            segs = segs[: cfg.augment.limit]
        engine = make_engine(model_dir(backward_art), cfg)
        decode = cfg.generate.instruction

        def write_instructions(chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
            texts = engine.generate([prompts.backward_prompt(s["text"]) for s in chunk], decode, seed=cfg.generate.seed + hash_offset(chunk))
            return [{"id": s["id"], "instruction": x, "output": s["text"], "doc_id": s.get("doc_id"), "header": s.get("header")}
                    for s, x in zip(chunk, texts)]

        rows, reused = map_in_shards(segs, write_instructions, work, "augment: writing instructions", cfg.generate.shard_size)
        kept = [r for r in rows if len(r["instruction"].strip()) >= cfg.augment.min_instruction_chars]
        write_jsonl(work / "candidates.jsonl", kept)
        return {"segments": len(segs), "candidates": len(kept), "empty_instructions": len(rows) - len(kept), "resumed_shards": reused}

    config = ctx.config("augment", "generate.instruction", "generate.seed", "generate.engine")
    return ctx.stage("augment", "augment", 1, config, {"M_yx": backward_art, "segments": segments_art}, run)


def hash_offset(chunk: list[dict[str, Any]]) -> int:
    """A per-shard seed offset that depends on the shard's content, not on its position after a resume."""
    import zlib

    return zlib.crc32(chunk[0]["id"].encode()) if chunk else 0
