"""The paper's numbers (SPEC.md section 6) that our tables print beside their own, each with the table
or figure it comes from. Win rates are AlpacaEval 1 win rates (%) against text-davinci-003; the 7B
ablations were measured on a ~250-prompt dev set (errors ~ ±3). Our CPU runs use tiny scratch models
on the toy world: compare directions and orderings, not levels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class PaperNumber:
    value: float
    ref: str  # where in the paper (v1 = arXiv v1, v3 = the ICLR version)
    standard_error: Optional[float] = None
    note: str = ""


QVQ = "Fig 3 v1 / Fig 2 v3"
QVQ_NOTE = "LLaMA 7B, 3,200 augmented examples (the paper's smallest N) + 3,200 seed"

# Quality vs quantity: augmented-data size N -> win rate, per data kind.
QUALITY_VS_QUANTITY: dict[str, dict[int, float]] = {
    "no curation": {3200: 51.5, 6400: 49.1, 12800: 51.1, 25600: 51.8},
    "A_4": {3200: 55.6, 6400: 60.1, 12800: 65.8, 25600: 67.6},
    "A_5": {3200: 61.4, 6400: 67.2, 12800: 69.8, 25600: 71.2},
}

SYSTEM_PROMPTS = "Table 8 v1 / Table 5 v3"
CURATORS = "Table 7 v1 / Table 9 v3"

# Curator quality: precision / recall of selecting good pairs (250 labelled, 20% positive) and the win
# rate of a 7B model trained on 100 pairs it selected. GPT-4 is the paper's strong curator; the toy
# world's oracle (gold grades) stands in for it here.
CURATOR_PRECISION_RECALL: dict[str, tuple[float, float]] = {"M_0": (0.44, 0.09), "M_1": (0.52, 0.44),
                                                             "oracle": (0.88, 0.92)}

# Data scaling coefficient alpha of w = alpha ln N + C (Table 3 v1 / Table 2 v3).
SCALING_ALPHA = {"Humpback": 6.95, "WizardLM": 5.69, "Alpaca-GPT4": 5.40, "Vicuna": 4.53, "Open Assistant": 4.43,
                 "LIMA": 2.86, "Alpaca": 1.99, "FLAN v2": 0.22}

# contrast -> arm label (as the reproduction tables name it) -> the paper's win rate.
WIN_RATES: dict[str, dict[str, PaperNumber]] = {
    "quality_vs_quantity": {k: PaperNumber(v[3200], QVQ, note=QVQ_NOTE) for k, v in QUALITY_VS_QUANTITY.items()},
    "system_prompt": {
        "tags -> S_a+S_w": PaperNumber(66.47, SYSTEM_PROMPTS, 3.04),
        "none -> none": PaperNumber(59.96, SYSTEM_PROMPTS, 3.09),
        "tags -> S_a": PaperNumber(62.69, SYSTEM_PROMPTS, 3.06),
        "tags -> none": PaperNumber(62.70, SYSTEM_PROMPTS, 3.07),
    },
    "curator_quality": {
        "M_0": PaperNumber(35.71, CURATORS, note="100 selected pairs"),
        "M_1": PaperNumber(37.70, CURATORS, note="100 selected pairs"),
        "oracle": PaperNumber(41.04, CURATORS, note="GPT-4 as the curator; 100 selected pairs"),
    },
}


def paper_win_rate(contrast: str, arm: str) -> Optional[PaperNumber]:
    return WIN_RATES.get(contrast, {}).get(arm)


def paper_difference(contrast: str, arm: str, reference: str) -> Optional[float]:
    """The paper's arm - reference (unpaired: the paper reports win rates only)."""
    a, b = paper_win_rate(contrast, reference), paper_win_rate(contrast, arm)
    return b.value - a.value if a is not None and b is not None else None
