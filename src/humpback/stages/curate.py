"""Self-curation: M_{t-1} rates every candidate of A with the paper's 5-point prompt.

Ratings depend on how pairs are batched (padding, per-batch seeds), so the key holds the batch and
shard layout (`GENERATION_KEY`)."""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from humpback import prompts
from humpback.cache import Artifact
from humpback.curation.parse import FAILURE_REASONS, parse_score
from humpback.data.records import read_jsonl, write_jsonl
from humpback.data.toyworld.requests import RequestParser, gold_by_segment, gold_of
from humpback.data.toyworld.world import FILES as WORLD_FILES
from humpback.inference import make_engine
from humpback.models.config import ModelConfig
from humpback.stages import files
from humpback.stages.augment import shard_seed
from humpback.stages.context import RunContext
from humpback.stages.models import model_dir
from humpback.stages.sharded import GENERATION_KEY, GENERATION_VERSION, map_in_shards

SCORE_TOKENS = [" 1", " 2", " 3", " 4", " 5"]


def rate_by_generation(engine: Any, chunk: list[dict[str, Any]], cfg: Any) -> list[dict[str, Any]]:
    """Sample `samples` ratings per pair, parse each strictly, average the parsed ones."""
    c = cfg.curate
    asks = [engine.format(prompts.curation_prompt(r["instruction"], r["output"], c.slot_layout)) for r in chunk]
    draws = [engine.generate(asks, c.decode, seed=shard_seed(cfg.generate.seed + 7919 * s, chunk)) for s in range(c.samples)]
    out = []
    for i, r in enumerate(chunk):
        parsed = [parse_score(d[i]) for d in draws]
        good = [p.score for p in parsed if p.ok]
        out.append({"id": r["id"], "score": statistics.fmean(good) if good else None,
                    "reasons": [p.reason for p in parsed], "ratings": [p.score for p in parsed], "raw": [d[i] for d in draws]})
    return out


def rate_by_logprob(engine: Any, chunk: list[dict[str, Any]], cfg: Any) -> list[dict[str, Any]]:
    """One forward pass: expected score under P(1..5) right after "Score:"."""
    asks = [engine.format(prompts.curation_prompt(r["instruction"], r["output"], cfg.curate.slot_layout)) + " Score:"
            for r in chunk]
    probs = engine.next_token_probs(asks, SCORE_TOKENS)
    return [{"id": r["id"], "score": sum((k + 1) * p for k, p in enumerate(ps)), "reasons": ["ok"], "probs": ps}
            for r, ps in zip(chunk, probs)]


def score_stats(rows: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    reasons = Counter(reason for r in rows for reason in r["reasons"])
    n_ratings = sum(reasons.values())
    failed = sum(v for k, v in reasons.items() if k != "ok")
    hist = Counter(str(round(r["score"])) if r["score"] is not None else "unparsed" for r in rows)
    return {
        "pairs": len(rows),
        "ratings": n_ratings,
        "parse_failures": failed,
        "parse_failure_rate": failed / n_ratings if n_ratings else 0.0,
        "failure_reasons": {k: reasons.get(k, 0) for k in FAILURE_REASONS},
        "unscored_pairs": hist.get("unparsed", 0),
        "score_histogram": {k: hist.get(k, 0) for k in ["1", "2", "3", "4", "5", "unparsed"]},
        "mode": mode,
    }


def curate(ctx: RunContext, name: str, model_cfg: ModelConfig, curator_art: Artifact, candidates_art: Artifact) -> Artifact:
    cfg = ctx.cfg
    rate = {"generate": rate_by_generation, "logprob": rate_by_logprob}.get(cfg.curate.mode)
    if rate is None:
        raise ValueError(f"curate.mode={cfg.curate.mode!r}: choose generate or logprob")

    def run(work: Path) -> dict[str, Any]:
        cands = read_jsonl(candidates_art.path / files.CANDIDATES)
        if cfg.curate.limit is not None:
            cands = cands[: cfg.curate.limit]
        engine = make_engine(model_dir(curator_art), model_cfg, cfg.generate)
        with engine:
            rows, shards = map_in_shards(cands, lambda chunk: rate(engine, chunk, cfg), work, f"curate {name}: rating pairs",
                                         cfg.generate.shard_size, workers=cfg.workers)
        write_jsonl(work / files.SCORES, rows)
        return {**score_stats(rows, cfg.curate.mode), **shards}

    config = ctx.config("curate.mode", "curate.slot_layout", "curate.samples", "curate.decode", "curate.limit",
                        *GENERATION_KEY)
    return ctx.stage(name, "curate", GENERATION_VERSION, config, {"curator": curator_art, "candidates": candidates_art}, run)


def oracle_scores(ctx: RunContext, world_art: Artifact | None, candidates_art: Artifact, check_instruction: bool = False) -> Artifact:
    """The toy world's oracle curators (stages.select.ORACLE_CURATORS): each pair gets its segment's gold
    grade (None when unmatched); with `check_instruction`, 1 when its instruction does not ask for the
    segment's gold request."""
    name = "oracle_pair" if check_instruction else "oracle"
    if world_art is None:
        raise ValueError(f"student.curator={name} needs gold grades: only the toy world (data.source=toyworld) has them")

    def run(work: Path) -> dict[str, Any]:
        gold = gold_by_segment(read_jsonl(world_art.path / WORLD_FILES["gold_segments"]))
        parser = RequestParser(e["name"] for e in read_jsonl(world_art.path / WORLD_FILES["gold_entities"]))
        rows, mismatched = [], 0
        for c in read_jsonl(candidates_art.path / files.CANDIDATES):
            row = gold_of(gold, c)
            score = row["grade"] if row is not None else None
            if check_instruction and row is not None and not parser.asks_for_segment(c["instruction"], row):
                score, mismatched = 1, mismatched + 1
            rows.append({"id": c["id"], "score": score, "reasons": ["ok" if score is not None else "missing"]})
        write_jsonl(work / files.SCORES, rows)
        return {**score_stats(rows, name), **({"mismatched_instructions": mismatched} if check_instruction else {})}

    config = {"check_instruction": True} if check_instruction else {}  # {}: the plain oracle's key, as before
    return ctx.stage(f"scores_{name}", "oracle_scores", 1, config, {"world": world_art, "candidates": candidates_art}, run)
