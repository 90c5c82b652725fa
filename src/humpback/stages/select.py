"""Selection A_k^(t) and the training mix of M_t (seed tagged S_a + selected pairs tagged S_w)."""

from __future__ import annotations

import hashlib
from typing import Any, Optional

from humpback import prompts


def select_pairs(candidates: list[dict[str, Any]], scores: list[dict[str, Any]] | None, threshold: Optional[float],
                 size: Optional[int], seed: int, margin: float = 0.0) -> list[dict[str, Any]]:
    """Pairs with score >= threshold - margin (all pairs when threshold is None), then N of them at random."""
    if threshold is None:
        kept = [dict(c) for c in candidates]
    else:
        by_id = {s["id"]: s["score"] for s in scores or []}
        kept = [{**c, "score": by_id[c["id"]]} for c in candidates
                if by_id.get(c["id"]) is not None and by_id[c["id"]] >= threshold - margin]
    if size is not None and len(kept) > size:  # deterministic, independent of input order
        kept = sorted(kept, key=lambda c: hashlib.sha256(f"{seed}:{c['id']}".encode()).hexdigest())[:size]
        kept.sort(key=lambda c: c["id"])
    return kept


def training_mix(seed_pairs: list[dict[str, Any]], selected: list[dict[str, Any]], use_seed: bool, use_augmented: bool,
                 tags: bool) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """SFT examples for M_t; tags mark the source only when both sources are mixed (paper section 1.6)."""
    tag = tags and use_seed and use_augmented
    parts = []
    if use_seed:
        parts += [(p, prompts.TAG_SEED if tag else None, "seed") for p in seed_pairs]
    if use_augmented:
        parts += [(p, prompts.TAG_WEB if tag else None, "augmented") for p in selected]
    examples = [{"user": prompts.add_tags(p["instruction"], (t,) if t else ()), "target": " " + p["output"], "source": src}
                for p, t, src in parts]
    info = {"seed_examples": len(seed_pairs) if use_seed else 0, "augmented_examples": len(selected) if use_augmented else 0,
            "tagged": tag}
    return examples, info
