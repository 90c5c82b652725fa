"""The seed set: human-written (instruction, output) pairs, read from the public formats and sampled.

Paper: 3,200 Open Assistant examples, first turn only, English, the rank-0 reply. `load_seed` returns
pairs {id, instruction, output, source, ...}; `load_seed_with_stats` also returns what was read and why
each left-out tree, turn or row was left out, so nothing is dropped silently.
Sampling is reproducible and does not depend on the input's row order: pairs are sorted by id (ids are
message ids or derived from the content), shuffled with `sample_seed`, and the first n kept, so a
smaller n is always a subset of a larger one (handy for data-scaling runs).
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from humpback.data.records import DataError
from humpback.data.seed_formats import oasst, simple
from humpback.data.seed_formats.rows import Row, iter_rows

log = logging.getLogger(__name__)

FORMATS = ("oasst", "oasst_tree", "lima", "alpaca", "jsonl", "toyworld")
HUB_DEFAULTS = {"oasst": "OpenAssistant/oasst1"}  # used when path is None


@dataclass
class SeedConfig:
    format: str = "oasst"  # oasst (flat message table, hub OpenAssistant/oasst1) | oasst_tree (nested trees) | lima | alpaca | jsonl | toyworld (built pairs: instruction/output + extra fields)
    path: Optional[str] = None  # local .jsonl/.jsonl.gz/.json/.parquet, or a hub "owner/name" (needs network); None -> OpenAssistant/oasst1 for oasst
    split: str = "train"  # hub split (ignored for local files)
    n: Optional[int] = 3200  # pairs to sample (paper: 3,200); None = all, sorted by id
    sample_seed: int = 0  # seed of the sampling shuffle
    lang: str = "en"  # oasst: language both messages must have (paper: English)
    turns: str = "first"  # oasst/lima: first (paper) | all (every user turn on a rank-0 path with its reply; earlier turns in `history`)
    drop_synthetic: bool = True  # oasst: leave out model-written (synthetic) messages; the paper does not say, its seed is "human-written"
    tree_state: Optional[str] = "ready_for_export"  # oasst: keep trees in this state when the data has one (the hub release has only these); None = any
    dedupe: bool = True  # drop exact duplicate (instruction, output) pairs, counted in stats; unreported in the paper
    instruction_field: str = "instruction"  # alpaca/jsonl: field holding the instruction
    output_field: str = "output"  # alpaca/jsonl: field holding the answer
    input_field: Optional[str] = "input"  # alpaca/jsonl: optional context appended after a blank line; None = no such field


def load_seed(cfg: SeedConfig) -> list[dict[str, Any]]:
    return load_seed_with_stats(cfg)[0]


def load_seed_with_stats(cfg: SeedConfig) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Pairs and stats: rows read, candidates, duplicates, available, returned, excluded {reason: count}."""
    if cfg.format not in FORMATS:
        raise ValueError(f"seed.format {cfg.format!r} is not one of {FORMATS}")
    if cfg.turns not in ("first", "all"):
        raise ValueError(f"seed.turns {cfg.turns!r} is not 'first' or 'all'")
    if cfg.n is not None and cfg.n < 0:
        raise ValueError(f"seed.n must be >= 0 or None, got {cfg.n}")
    path = cfg.path or HUB_DEFAULTS.get(cfg.format)
    if path is None:
        raise ValueError(f"seed.path is required for format {cfg.format!r}")

    stats: Counter = Counter(duplicates=0)
    excluded: Counter = Counter()
    rows = _counting(iter_rows(path, cfg.split), stats)
    pairs = _read_pairs(cfg, rows, stats, excluded)
    stats["candidates"] = len(pairs)

    pairs = sorted(pairs, key=lambda p: (p["id"], p["instruction"], p["output"]))
    if cfg.dedupe:
        pairs = _dedupe(pairs, stats)
    _check_unique_ids(pairs, path)
    stats["available"] = len(pairs)
    if cfg.n is not None:
        random.Random(cfg.sample_seed).shuffle(pairs)
        if cfg.n > len(pairs):
            log.warning("seed: asked for %d pairs but %s yields only %d", cfg.n, path, len(pairs))
        pairs = pairs[: cfg.n]

    report = {"format": cfg.format, "path": path, "turns": cfg.turns, "requested_n": cfg.n, **stats,
              "returned": len(pairs), "excluded": dict(sorted(excluded.items()))}
    if not pairs:  # every fine-tune needs the seed: stop here, not after pretraining
        raise DataError(f"{path}: no seed pairs (format {cfg.format}: {stats['rows']} rows read, "
                        f"excluded {report['excluded'] or 'none'}); check data.seed.format and the file")
    log.info("seed: %s", report)
    return pairs, report


def _read_pairs(cfg: SeedConfig, rows: Iterator[Row], stats: Counter, excluded: Counter) -> list[dict[str, Any]]:
    if cfg.format in ("oasst", "oasst_tree"):
        parse = oasst.parse_flat if cfg.format == "oasst" else oasst.parse_trees
        roots = parse(rows, stats)
        stats["trees"] = len(roots)
        return oasst.select_pairs(roots, cfg.lang, cfg.turns, cfg.drop_synthetic, cfg.tree_state, excluded)
    if cfg.format == "lima":
        return simple.lima_pairs(rows, cfg.turns, excluded)
    if cfg.format == "toyworld":
        return simple.field_pairs(rows, "toyworld", "instruction", "output", None, True, excluded)
    keep_extra = cfg.format == "jsonl"
    return simple.field_pairs(rows, cfg.format, cfg.instruction_field, cfg.output_field, cfg.input_field,
                              keep_extra, excluded)


def _counting(rows: Iterator[Row], stats: Counter) -> Iterator[Row]:
    stats["rows"] = 0
    for row in rows:
        stats["rows"] += 1
        yield row


def _dedupe(pairs: list[dict[str, Any]], stats: Counter) -> list[dict[str, Any]]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for p in pairs:
        key = (p["instruction"], p["output"])
        if key in seen:
            stats["duplicates"] += 1
            continue
        seen.add(key)
        kept.append(p)
    return kept


def _check_unique_ids(pairs: list[dict[str, Any]], path: str) -> None:
    for a, b in zip(pairs, pairs[1:]):  # sorted by id, so equal ids are neighbours
        if a["id"] == b["id"]:
            raise DataError(f"{path}: id {a['id']!r} is used by two different pairs")
