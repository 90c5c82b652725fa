"""Effects: paired differences between two configurations (or two models of one), as one table and a
forest plot. The reproduction sweep lists every paper contrast this way; the per-experiment sweeps add
their own contrasts when the jobs' annotation files are there to pair."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from humpback.report import figures
from humpback.report.tables import Table, fmt_diff, fmt_num

PAIRED_NOTE = ("Δ: B minus A paired over (seed, prompt) and pooled (SE of all pairs); z = Δ / SE, how many standard "
               "errors apart; Δ SE (seeds): SE of the per-seed mean differences (the same prompts recur every seed)")


@dataclass
class Effect:
    contrast: str
    label: str  # "A_5 − no curation"
    diff: Optional[dict[str, Any]]  # humpback.evaluation.paired.paired_over_seeds, None when not pairable
    paper: Optional[float] = None  # the paper's difference, where it has one


def effects_table(name: str, title: str, effects: list[Effect], out: Path, paper: bool = True) -> Table:
    t = Table(name, title, ["contrast", "effect", "Δ (paired) ± SE", "z", "Δ SE (seeds)", "seeds", "pairs"] +
              (["paper Δ"] if paper else []))
    for e in effects:
        d = e.diff or {}
        t.rows.append([e.contrast, e.label, fmt_diff(e.diff), fmt_num(d.get("z"), 1), fmt_num(d.get("seed_standard_error")),
                       fmt_num(d.get("n_seeds")), fmt_num(d.get("n"))] +
                      (["" if e.paper is None else f"{e.paper:+.2f}"] if paper else []))
        t.records.append({"contrast": e.contrast, "effect": e.label, **d, **({"paper_difference": e.paper} if paper else {})})
    t.notes.append(PAIRED_NOTE)
    t.figure = figures.effects(out / f"{name}.png", "Paired differences (win-rate points)",
                               [f"{e.contrast}: {e.label}" for e in effects],
                               [(e.diff["mean_difference"], e.diff["standard_error"])
                                if e.diff and e.diff["mean_difference"] is not None else None for e in effects])
    return t
