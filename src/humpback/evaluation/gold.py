"""Gold-based checks of a toy-world run: does each model do its job? (The pipeline never sees these.)

- backward: share of M_yx's candidates whose instruction asks for what its segment answers (same
  family and entities as the segment's gold request), by the segment's gold grade;
- answers: oracle-checker accuracy of a model's eval answers (an answer is accurate when it holds
  every required value and no wrong one), split by whether the seed covers the prompt's entity and
  by family, with the win rate on each split.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Optional

from humpback.data.records import read_jsonl
from humpback.data.toyworld.oracle import OracleJudge
from humpback.data.toyworld.requests import RequestParser, gold_by_segment, gold_of
from humpback.data.toyworld.world import FILES as WORLD_FILES
from humpback.evaluation.annotations import read_annotations
from humpback.evaluation.metrics import win_rate_from_preferences
from humpback.evaluation.paired import paired_scores


SPLIT_OF = {True: "seed", False: "web_only"}  # eval record's entity_in_seed -> its split's name
# The accuracy differences reports show: label -> split (None: every eval prompt).
ACCURACY_SPLITS = {"all": None, "web-only": SPLIT_OF[False]}


def prompt_accuracy(gold: Optional[dict[str, Any]], split: Optional[str] = None) -> dict[str, float]:
    """prompt id -> 1.0 / 0.0 (accurate or not) from one model's answer_accuracy, on one split (None:
    all); {} when it has no per-prompt rows (a summary from before they were written)."""
    rows = (gold or {}).get("per_prompt") or {}
    return {k: float(r["accurate"]) for k, r in rows.items() if split in (None, r.get("split"))}


def accuracy_vs_first(golds: dict[str, Optional[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """summary["paired_accuracy"]: every model after the first minus the first, in accuracy points on each
    of ACCURACY_SPLITS, paired over the eval prompts."""
    names = [n for n, g in golds.items() if prompt_accuracy(g)]
    if len(names) < 2:
        return {}
    first = names[0]
    return {n: {"vs": first, **{label: paired_scores(prompt_accuracy(golds[first], split), prompt_accuracy(golds[n], split))
                                for label, split in ACCURACY_SPLITS.items()}} for n in names[1:]}


def _share(hits: int, n: int) -> float | None:
    return hits / n if n else None


def backward_match(candidates: list[dict[str, Any]], gold_segments: list[dict[str, Any]], names: Iterable[str]) -> dict[str, Any]:
    """Match rate of candidate instructions against their segments' gold requests, overall and by grade
    (candidates whose segment has no gold row are counted as `unlabelled`)."""
    gold = gold_by_segment(gold_segments)
    parser = RequestParser(names)
    by_grade: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    unlabelled = 0
    for c in candidates:
        row = gold_of(gold, c)
        if row is None:
            unlabelled += 1
            continue
        hit = parser.asks_for_segment(c["instruction"], row)
        counts = by_grade[str(row["grade"])]
        counts[0] += hit
        counts[1] += 1
    answerable = [by_grade[g] for g in by_grade if g != "1"]  # junk answers no request: it cannot match
    hits, n = sum(h for h, _ in answerable), sum(m for _, m in answerable)
    return {"match": _share(hits, n), "n": n, "unlabelled": unlabelled,
            "by_grade": {g: {"match": _share(*by_grade[g]), "n": by_grade[g][1]} for g in sorted(by_grade, reverse=True)}}


def _split(rows: list[tuple[bool, float | None]]) -> dict[str, Any]:
    wr = win_rate_from_preferences(p for _, p in rows)
    return {"accuracy": _share(sum(a for a, _ in rows), len(rows)), "n": len(rows),
            "win_rate": wr["win_rate"] if rows else None, "standard_error": wr["standard_error"] if len(rows) > 1 else None}


def answer_accuracy(eval_records: list[dict[str, Any]], outputs: list[dict[str, Any]],
                    annotations: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy (and win rate) of one model's answers, overall, by seed/web-only entity and by family."""
    oracle = OracleJudge()
    answer = {o["id"]: o["output"] for o in outputs}
    preference = {a["instruction"]: a.get("preference") for a in annotations}
    rows = []
    for rec in eval_records:
        a = oracle.analyze(rec, answer.get(rec["id"], ""))
        accurate = a["completeness"] == 1.0 and not a["wrong"]
        rows.append((rec, accurate, preference.get(rec["instruction"])))
    out = _split([(acc, p) for _, acc, p in rows])
    out["by_split"] = {name: _split([(acc, p) for r, acc, p in rows if bool(r.get("entity_in_seed")) == in_seed])
                       for in_seed, name in SPLIT_OF.items()}
    families = sorted({r.get("family") for r, _, _ in rows if r.get("family")})
    out["by_family"] = {f: _split([(acc, p) for r, acc, p in rows if r.get("family") == f]) for f in families}
    # per prompt, so that two configurations can be paired prompt by prompt (the report's accuracy effects)
    out["per_prompt"] = {str(r["id"]): {"accurate": acc, "split": SPLIT_OF[bool(r.get("entity_in_seed"))]}
                         for r, acc, _ in rows}
    return out


def gold_report(world_dir: Path, candidates: list[dict[str, Any]], answers: dict[str, Path], verdicts: dict[str, Path]) -> dict[str, Any]:
    """Everything gold-based for one toy-world run: {"backward": ..., "models": {name: answer_accuracy}}.
    `answers` / `verdicts`: model name -> its outputs.jsonl / annotations.json."""
    names = [e["name"] for e in read_jsonl(world_dir / WORLD_FILES["gold_entities"])]
    evals = read_jsonl(world_dir / WORLD_FILES["eval"])
    models = {name: answer_accuracy(evals, read_jsonl(answers[name]), read_annotations(verdicts[name])) for name in answers}
    return {"backward": backward_match(candidates, read_jsonl(world_dir / WORLD_FILES["gold_segments"]), names), "models": models}
