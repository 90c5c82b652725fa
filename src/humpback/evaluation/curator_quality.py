"""Curator quality (paper Table 9 layout): precision and recall of a curator's selection against gold
labels. Gold comes from the toy world's segment grades (matched by page id and header; positive =
grade >= `positive_grade`) or from a labelled JSONL (`curate.gold_path`: `label` true/false or a
`grade`, matched by candidate `id`, else by output text)."""

from __future__ import annotations

from typing import Any

from humpback.data.records import read_jsonl
from humpback.data.toyworld.requests import gold_by_segment, gold_of


def gold_from_world(candidates: list[dict[str, Any]], gold_segments: list[dict[str, Any]], positive_grade: int = 4) -> dict[str, bool]:
    gold = gold_by_segment(gold_segments)
    return {c["id"]: row["grade"] >= positive_grade for c in candidates if (row := gold_of(gold, c)) is not None}


def gold_from_file(candidates: list[dict[str, Any]], path: str, positive_grade: int = 4) -> dict[str, bool]:
    by_id, by_output = {}, {}
    for row in read_jsonl(path):
        positive = bool(row["label"]) if "label" in row else int(row["grade"]) >= positive_grade
        if "id" in row:
            by_id[str(row["id"])] = positive
        if "output" in row:
            by_output[row["output"].strip()] = positive
    gold = {}
    for c in candidates:
        if c["id"] in by_id:
            gold[c["id"]] = by_id[c["id"]]
        elif c["output"].strip() in by_output:
            gold[c["id"]] = by_output[c["output"].strip()]
    return gold


def curator_quality(scores: list[dict[str, Any]], gold: dict[str, bool], threshold: float) -> dict[str, Any]:
    """Precision/recall of `score >= threshold` over the labelled candidates; unlabelled ones are counted apart."""
    tp = fp = fn = labelled = 0
    for s in scores:
        if s["id"] not in gold:
            continue
        labelled += 1
        picked = s["score"] is not None and s["score"] >= threshold
        positive = gold[s["id"]]
        tp += picked and positive
        fp += picked and not positive
        fn += (not picked) and positive
    return {
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "selected": tp + fp,
        "positives": tp + fn,
        "labelled": labelled,
        "unlabelled": len(scores) - labelled,
        "threshold": threshold,
    }
