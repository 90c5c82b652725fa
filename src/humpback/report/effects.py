"""Effects: paired differences between two configurations (or two models of one), as one table and a
forest plot. The reproduction sweep lists every paper contrast this way; the per-experiment sweeps add
their own contrasts when the jobs' annotation files are there to pair."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from humpback.report import figures
from humpback.report.tables import Table, fmt_diff, fmt_num

PAIRED_NOTE = ("Δ: B minus A paired over (seed, prompt) and pooled (SE of all pairs); z = Δ / SE, how many standard "
               "errors apart; Δ SE (seeds): SE of the per-seed mean differences (the same prompts recur every seed)")
ACCURACY_NOTE = ("Δ accuracy: the same paired difference on the toy world's oracle check (1 if an answer holds every "
                 "required value and no wrong one, else 0), in points, over all eval prompts or the web-only ones "
                 "(entities no seed pair names: where self-augmented data is the only source)")


@dataclass
class Effect:
    contrast: str
    label: str  # "A_5 − no curation"
    diff: Optional[dict[str, Any]]  # humpback.evaluation.paired.paired_over_seeds, None when not pairable
    paper: Optional[float] = None  # the paper's difference, where it has one
    accuracy: dict[str, Optional[dict[str, Any]]] = field(default_factory=dict)  # split -> the same, in accuracy points


def _point(d: Optional[dict[str, Any]]) -> Optional[tuple[float, Optional[float]]]:
    return (d["mean_difference"], d["standard_error"]) if d and d.get("mean_difference") is not None else None


def effects_table(name: str, title: str, effects: list[Effect], out: Path, paper: bool = True) -> Table:
    """One row per effect: the win-rate difference and, for toy-world runs, the oracle-accuracy difference
    on each split (ACCURACY_NOTE); a forest plot per metric."""
    splits = list(dict.fromkeys(s for e in effects for s, d in e.accuracy.items() if d))
    t = Table(name, title, ["contrast", "effect", "Δ (paired) ± SE", "z", "Δ SE (seeds)", "seeds", "pairs"] +
              [c for s in splits for c in (f"Δ accuracy {s} ± SE", f"z ({s})")] + (["paper Δ"] if paper else []))
    for e in effects:
        d = e.diff or {}
        acc = [e.accuracy.get(s) for s in splits]
        t.rows.append([e.contrast, e.label, fmt_diff(e.diff), fmt_num(d.get("z"), 1), fmt_num(d.get("seed_standard_error")),
                       fmt_num(d.get("n_seeds")), fmt_num(d.get("n"))] +
                      [c for a in acc for c in (fmt_diff(a), fmt_num((a or {}).get("z"), 1))] +
                      (["" if e.paper is None else f"{e.paper:+.2f}"] if paper else []))
        t.records.append({"contrast": e.contrast, "effect": e.label, **d,
                          **{f"accuracy_{s}_{k}": v for s, a in zip(splits, acc) for k, v in (a or {}).items()},
                          **({"paper_difference": e.paper} if paper else {})})
    t.notes.append(PAIRED_NOTE)
    if splits:
        t.notes.append(ACCURACY_NOTE)
    labels = [f"{e.contrast}: {e.label}" for e in effects]
    t.figures.append(figures.effects(out / f"{name}.png", "Paired differences (win-rate points)", labels,
                                     [_point(e.diff) for e in effects]))
    for s in splits:
        t.figures.append(figures.effects(out / f"{name}_accuracy_{s}.png", f"Paired differences (oracle accuracy, {s})",
                                         labels, [_point(e.accuracy.get(s)) for e in effects],
                                         xlabel=f"accuracy difference, {s} prompts (points), ± SE"))
    return t
