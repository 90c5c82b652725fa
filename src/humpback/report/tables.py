"""A report table: markdown in the paper's layout plus a tidy CSV (one row per point, raw numbers).
A sweep point without a finished job is written as MISSING in both, never filled in."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

MISSING = "missing"


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_num(value: Any, digits: int = 2) -> str:
    if _absent(value):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def fmt_win(win: Optional[float], se: Optional[float]) -> str:
    """'55.60 ± 3.04' (percentage points), as the paper prints win rates."""
    if _absent(win):
        return "not evaluated"
    return f"{win:.2f} ± {se:.2f}" if not _absent(se) else f"{win:.2f}"


def fmt_replicated(win: Optional[float], seed_se: Optional[float], n_seeds: int, prompt_se: Optional[float]) -> str:
    """One seed: as fmt_win (± the per-prompt SE). Several: '55.60 ± 1.20 (3 seeds; prompt SE 3.04)',
    the mean over seeds ± its SE across seeds, beside a single run's per-prompt SE."""
    if n_seeds <= 1 or _absent(win):
        return fmt_win(win, prompt_se)
    return f"{fmt_win(win, seed_se)} ({n_seeds} seeds; prompt SE {fmt_num(prompt_se)})"


def fmt_diff(d: Optional[dict[str, Any]]) -> str:
    """A paired difference: '+3.10 ± 1.20' (win-rate points, pooled SE over (seed, prompt) pairs)."""
    if not d or _absent(d.get("mean_difference")):
        return "n/a"
    se = d.get("standard_error")
    return f"{d['mean_difference']:+.2f}" + (f" ± {se:.2f}" if not _absent(se) else "")


def fmt_mean_sd(mean: Optional[float], sd: Optional[float]) -> str:
    if _absent(mean):
        return "n/a"
    return f"{mean:.0f} ± {sd:.0f}" if not _absent(sd) else f"{mean:.0f}"


@dataclass
class Table:
    name: str  # file stem
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)  # markdown cells, already formatted
    records: list[dict[str, Any]] = field(default_factory=list)  # CSV rows
    notes: list[str] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)  # PNGs drawn from the same numbers (one per metric)

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.header) + " |",
                 "|" + "|".join("---" for _ in self.header) + "|"]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in self.rows]
        lines += [""] + [f"- {n}" for n in self.notes] + ([""] if self.notes else [])
        for fig in self.figures:
            lines += [f"![{self.title}]({fig.name})", ""]
        return "\n".join(lines) + "\n"

    def write(self, out: Path) -> list[Path]:
        md, csv_path = out / f"{self.name}.md", out / f"{self.name}.csv"
        md.write_text(self.markdown())
        columns: list[str] = []
        for r in self.records:
            columns += [k for k in r if k not in columns]
        with csv_path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns or ["empty"])
            writer.writeheader()
            for r in self.records:
                writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
        return [md, csv_path]
