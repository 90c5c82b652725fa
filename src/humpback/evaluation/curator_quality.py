"""Curator quality (paper Table 9 layout): precision and recall of a curator's selection against gold
labels. Gold positives are pairs whose segment has grade >= `positive_grade` (toy world: answer-like
segments, grade 5); segments are matched to gold by (page id, header)."""

from __future__ import annotations

from typing import Any


def curator_quality(candidates: list[dict[str, Any]], scores: list[dict[str, Any]], gold: list[dict[str, Any]],
                    threshold: float, positive_grade: int = 4) -> dict[str, Any]:
    grade = {(g["page_id"], g["header"]): g["grade"] for g in gold}
    score = {s["id"]: s["score"] for s in scores}
    tp = fp = fn = unmatched = 0
    for c in candidates:
        g = grade.get((c.get("doc_id"), c.get("header")))
        if g is None:
            unmatched += 1
            continue
        picked = score.get(c["id"]) is not None and score[c["id"]] >= threshold
        positive = g >= positive_grade
        tp += picked and positive
        fp += picked and not positive
        fn += (not picked) and positive
    return {
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "selected": tp + fp,
        "positives": tp + fn,
        "labelled": len(candidates) - unmatched,
        "unmatched": unmatched,
        "threshold": threshold,
    }
