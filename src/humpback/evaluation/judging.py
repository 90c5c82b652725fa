"""Pairwise judging against reference outputs, AlpacaEval style.

Every judge sees the two outputs in an order decided by a coin seeded with the instruction text (and
`judge.order_seed`), and its verdict is mapped back, so position bias cannot favour either side.
Identical outputs are a draw without a call.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

PREFERENCE_DRAW = 1.5


class PairwiseJudge(Protocol):
    name: str

    def compare_many(self, items: list[dict[str, Any]]) -> list[float]:
        """items: {record, instruction, output_a, output_b}; returns preferences in [1, 2] (2 = output_b better)."""


def swap_coin(instruction: str, order_seed: int) -> bool:
    return hashlib.sha256(f"{order_seed}\x00{instruction}".encode()).digest()[0] & 1 == 1


def annotate(judge: PairwiseJudge, records: list[dict[str, Any]], outputs: list[str], generator: str,
             order_seed: int) -> list[dict[str, Any]]:
    """AlpacaEval annotations: output_1 = reference, output_2 = model, preference 1 (reference) .. 2 (model)."""
    rows, todo = [], []
    coin = getattr(judge, "swap_coin", swap_coin)  # a judge may bring its own (AlpacaEval's annotators: the leaderboard's order)
    for rec, out in zip(records, outputs):
        ref = rec.get("output") or ""
        swapped = coin(rec["instruction"], order_seed)
        row = {"instruction": rec["instruction"], "output_1": ref, "output_2": out, "generator_1": rec.get("generator", "reference"),
               "generator_2": generator, "annotator": judge.name, "dataset": rec.get("dataset"), "swapped": swapped,
               "preference": None}
        rows.append(row)
        if ref.strip() == out.strip():
            row["preference"] = PREFERENCE_DRAW
            continue
        a, b = (out, ref) if swapped else (ref, out)
        todo.append((row, {"record": rec, "instruction": rec["instruction"], "output_a": a, "output_b": b}))
    verdicts = judge.compare_many([item for _, item in todo]) if todo else []
    for (row, _), pref in zip(todo, verdicts):
        row["preference"] = (3.0 - pref) if row["swapped"] and pref is not None else pref  # map back: 1 <-> 2
    return rows


class OracleJudge:
    """The toy world's oracle: checks facts, completeness and style against the record's `check`."""

    def __init__(self, name: str = "toyworld_oracle"):
        from humpback.data.toyworld import OracleJudge as WorldOracle

        self.name = name
        self._oracle = WorldOracle()

    def compare_many(self, items: list[dict[str, Any]]) -> list[float]:
        return [float(self._oracle.preference(i["record"], i["output_a"], i["output_b"])) for i in items]


def make_judge(cfg: Any) -> PairwiseJudge:
    """The judge `cfg.kind` names, behind the annotation cache in `cfg.cache_dir` (reruns make no calls)."""
    from humpback.evaluation.judges import with_annotation_cache

    if cfg.kind == "oracle":
        judge: PairwiseJudge = OracleJudge(cfg.name)
    elif cfg.kind == "api":
        from humpback.evaluation.judges.api_judge import make_api_judge

        judge = make_api_judge(cfg)
    elif cfg.kind == "hf":
        from humpback.evaluation.judges.hf_judge import make_hf_judge

        judge = make_hf_judge(cfg)
    else:
        raise ValueError(f"judge.kind={cfg.kind!r} is not available (oracle | api | hf)")
    return with_annotation_cache(judge, cfg)
