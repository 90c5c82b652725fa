"""Selection A_k^(t) and the training mix of M_t (seed tagged S_a + selected pairs tagged S_w).

`selection_for(cfg, t)` is the one place that decides how M_t's data is chosen; the pipeline (which
scores to compute and read), the M_t stage (its data and cache key), inference (tags or not) and the
summary all read the `Selection` it returns.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, Optional

from omegaconf import OmegaConf

from humpback import prompts


@dataclass(frozen=True)
class Selection:
    """How M_t's training data is chosen. Every field is hashed into M_t's cache key (`key()`)."""

    threshold: Optional[float]  # k: keep pairs scored >= k - margin; None: no curation (all of A, no scores read)
    size: Optional[int]  # N: a seeded subsample of the kept pairs (None: all of them)
    margin: float  # how far below k a score may fall (logprob scores are expectations); 0 without curation
    seed_data: bool  # the seed set is in the mix
    augmented: bool  # the selected pairs are in the mix
    tags: bool  # S_a / S_w are appended: only when both sources are mixed; inference then adds tags too
    seed: int  # the subsample's seed (student.selection_seed)
    curator: Optional[str]  # whose scores: M_k, "curator <name>" (roles.curator) or an ORACLE_CURATORS; None without curation
    init: str  # base | previous: where M_t's fine-tune starts
    untagged_families: tuple[str, ...] = ()  # seed rows of these families keep no tag (curate.untagged_families)

    def key(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# The toy world's gold curators (student.curator): `oracle` scores a pair by its segment's gold grade;
# `oracle_pair` also checks the instruction, scoring 1 when it does not ask for what the segment
# answers (an ideal curator judges the pair, and half of M_yx's instructions miss their segment).
ORACLE_CURATORS = ("oracle", "oracle_pair")


def default_curator(cfg: Any, t: int) -> str:
    """Who rates A in iteration t: M_{t-1} (paper), or the external curator (roles.curator) in every iteration."""
    external = OmegaConf.select(cfg, "roles.curator")
    return f"curator {external.name}" if external is not None else f"M_{t - 1}"


def score_margin(cfg: Any, curator: str) -> float:
    """Logprob-mode scores are expected scores, so k - margin keeps a likely k (the paper's "4.5"); the
    oracles' gold grades are exact."""
    return cfg.curate.logprob_margin if cfg.curate.mode == "logprob" and curator not in ORACLE_CURATORS else 0.0


def selection_for(cfg: Any, t: int) -> Selection:
    """M_t's selection. Only the final student's (t = T) is an ablation knob (`student.*`); the internal
    iterations follow the paper (seed + A_k at curate.threshold, tagged), so every sweep point shares
    M_1 .. M_{T-1} and their scores."""
    s, c = cfg.student, cfg.curate
    final = t == c.iterations
    threshold = s.threshold if final else c.threshold
    curator = None
    if threshold is not None:
        chosen = s.curator if final else "previous"
        curator = default_curator(cfg, t) if chosen == "previous" else chosen
    seed_data, augmented = (s.seed_data, s.augmented) if final else (True, True)
    return Selection(threshold=threshold, size=s.size if final else None,
                     margin=score_margin(cfg, curator) if curator is not None else 0.0,
                     seed_data=seed_data, augmented=augmented, tags=(s.tags if final else True) and seed_data and augmented,
                     seed=s.selection_seed, curator=curator, init=s.init,
                     untagged_families=tuple(c.untagged_families))


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


def training_mix(seed_pairs: list[dict[str, Any]], selected: list[dict[str, Any]],
                 sel: Selection) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """SFT examples for M_t; `sel.tags` marks the source (it is set only when both are mixed, paper section 1.6)."""
    parts = []
    if sel.seed_data:
        parts += [(p, prompts.TAG_SEED if sel.tags and p.get("family") not in sel.untagged_families else None, "seed")
                  for p in seed_pairs]
    if sel.augmented:
        parts += [(p, prompts.TAG_WEB if sel.tags else None, "augmented") for p in selected]
    examples = [{"user": prompts.add_tags(p["instruction"], (t,) if t else ()), "target": " " + p["output"], "source": src}
                for p, t, src in parts]
    info = {"seed_examples": len(seed_pairs) if sel.seed_data else 0,
            "augmented_examples": len(selected) if sel.augmented else 0, "tagged": sel.tags}
    return examples, info
