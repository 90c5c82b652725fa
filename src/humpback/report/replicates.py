"""Replicates: the jobs of one configuration that differ only in the replicate seed (`seed`). A table
cell shows their mean win rate ± the standard error across seeds, beside the per-prompt standard error
of a single run; contrasts between configurations are paired over (seed, prompt)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from humpback.evaluation.gold import ACCURACY_SPLITS, prompt_accuracy
from humpback.evaluation.paired import mean_across_seeds, paired_over_seeds, paired_scores_over_seeds
from humpback.report.effects import Effect
from humpback.report.load import Job

log = logging.getLogger("humpback.report")


@dataclass
class ModelStats:
    """One model (M_0 .. M_T) of a configuration over its seeds."""

    win_rate: Optional[float]  # mean over seeds
    seed_standard_error: Optional[float]  # SD over seeds (ddof=1) / sqrt(k); None for one seed
    standard_error: Optional[float]  # per-prompt SE of one run (mean over seeds)
    n_seeds: int

    @property
    def error_bar(self) -> Optional[float]:
        """The across-seed SE when there are replicates, else the per-prompt SE."""
        return self.seed_standard_error if self.n_seeds > 1 else self.standard_error


class Config:
    """One configuration: one job per seed, in seed order. Quacks like a Job (its first) for counts and
    other per-configuration facts, while win rates are means over the seeds."""

    def __init__(self, jobs: list[Job]):
        self.jobs = jobs
        self.first = jobs[0]
        self.path, self.summary, self.axes = self.first.path, self.first.summary, self.first.axes

    def axis(self, name: str) -> str:
        return self.first.axis(name)

    @property
    def final(self) -> Optional[dict[str, Any]]:
        return self.first.final

    @property
    def seeds(self) -> list[str]:
        return [j.seed for j in self.jobs]

    def model_name(self, model: Optional[str] = None) -> Optional[str]:
        return model or self.summary.get("final_model")

    def stats(self, model: Optional[str] = None) -> ModelStats:
        name = self.model_name(model)
        runs = [m for j in self.jobs if (m := j.summary.get("models", {}).get(name)) and m.get("win_rate") is not None]
        wins = mean_across_seeds([m["win_rate"] for m in runs])
        prompt_ses = [m["standard_error"] for m in runs if m.get("standard_error") is not None]
        prompt_se = mean_across_seeds(prompt_ses)["mean"]
        return ModelStats(wins["mean"], wins["standard_error"], prompt_se, wins["n_seeds"])

    @property
    def win_rate(self) -> Optional[float]:
        return self.stats().win_rate

    @property
    def standard_error(self) -> Optional[float]:
        return self.stats().standard_error

    def accuracy(self, model: Optional[str], split: str) -> Optional[float]:
        """Oracle accuracy (%) of `model` on one split of the toy world's eval prompts ("seed",
        "web_only"), the mean over seeds; None outside the toy world."""
        name = self.model_name(model)
        shares = [((j.summary.get("models", {}).get(name) or {}).get("gold") or {}).get("by_split", {}).get(split, {})
                  .get("accuracy") for j in self.jobs]
        return mean_across_seeds([100.0 * a for a in shares if a is not None])["mean"]

    def accuracy_scores(self, model: Optional[str] = None, split: Optional[str] = None) -> dict[str, dict[str, float]]:
        """seed -> prompt id -> 1.0 if `model`'s answer was accurate by the oracle, else 0.0 (`split`: only
        that split's prompts; None: all); seeds whose summary has no per-prompt gold are left out."""
        name = self.model_name(model)
        by_seed = {j.seed: prompt_accuracy((j.summary.get("models", {}).get(name) or {}).get("gold"), split) for j in self.jobs}
        return {seed: scores for seed, scores in by_seed.items() if scores}

    def annotations(self, model: Optional[str] = None) -> dict[str, list[dict[str, Any]]]:
        """seed -> the judge's annotation rows of `model` (default: the final one); seeds whose file is
        gone (cache moved or cleaned) are left out."""
        name = self.model_name(model)
        out = {}
        for j in self.jobs:
            path = (j.summary.get("models", {}).get(name) or {}).get("annotations")
            if path and (rows := _read_rows(Path(path))) is not None:
                out[j.seed] = rows
        return out


_ROWS: dict[tuple[str, int], Optional[list[dict[str, Any]]]] = {}


def _read_rows(path: Path) -> Optional[list[dict[str, Any]]]:
    """Annotation rows, read once per file version (a contrast reads each arm several times)."""
    from humpback.evaluation.annotations import read_annotations

    try:
        key = (str(path), path.stat().st_mtime_ns)
    except OSError:
        return None
    if key not in _ROWS:
        try:
            _ROWS[key] = read_annotations(path)
        except Exception as e:  # a damaged file loses its pairs, not the report
            log.warning("could not read %s: %s", path, e)
            _ROWS[key] = None
    return _ROWS[key]


def replicates(jobs: list[Job], notes: list[str], what: str) -> Optional[Config]:
    """The configuration of `jobs` (the first, when they hold several), one job per seed (the first of
    any rerun of a seed); what was left out goes to `notes`."""
    if not jobs:
        return None
    keys = list(dict.fromkeys(j.configuration for j in jobs))
    if len(keys) > 1:
        notes.append(f"{what}: {len(keys)} configurations match; the first ({jobs[0].path.name}) is shown")
    mine = [j for j in jobs if j.configuration == keys[0]]
    by_seed: dict[str, Job] = {}
    for j in mine:
        by_seed.setdefault(j.seed, j)
    if len(by_seed) < len(mine):
        notes.append(f"{what}: {len(mine)} jobs for {len(by_seed)} seed(s); the first of each seed is shown")
    return Config([by_seed[s] for s in sorted(by_seed, key=_seed_order)])


def _seed_order(seed: str) -> tuple[int, float | str]:
    try:
        return (0, float(seed))
    except ValueError:
        return (1, seed)


def paired(a: Optional[Config], b: Optional[Config], model_a: Optional[str] = None,
           model_b: Optional[str] = None) -> Optional[dict[str, Any]]:
    """B - A paired over (seed, prompt) (humpback.evaluation.paired.paired_over_seeds); None when either
    side is missing or has no annotation files to pair."""
    if a is None or b is None:
        return None
    rows_a, rows_b = a.annotations(model_a), b.annotations(model_b)
    if not rows_a or not rows_b:
        return None
    return paired_over_seeds(rows_a, rows_b)


def paired_accuracy(a: Optional[Config], b: Optional[Config], model_a: Optional[str] = None,
                    model_b: Optional[str] = None, split: Optional[str] = None) -> Optional[dict[str, Any]]:
    """B - A in oracle-accuracy points, paired over (seed, prompt) as `paired`; None when either side is
    missing or has no per-prompt gold (a run outside the toy world)."""
    if a is None or b is None:
        return None
    scores_a, scores_b = a.accuracy_scores(model_a, split), b.accuracy_scores(model_b, split)
    if not scores_a or not scores_b:
        return None
    return paired_scores_over_seeds(scores_a, scores_b)


def accuracy_effects(a: Optional[Config], b: Optional[Config], model_a: Optional[str] = None,
                     model_b: Optional[str] = None) -> dict[str, Optional[dict[str, Any]]]:
    """B - A in oracle accuracy on each of ACCURACY_SPLITS ({} outside the toy world)."""
    out = {label: paired_accuracy(a, b, model_a, model_b, split) for label, split in ACCURACY_SPLITS.items()}
    return out if any(out.values()) else {}


def effect(contrast: str, label: str, a: Optional[Config], b: Optional[Config], model_a: Optional[str] = None,
           model_b: Optional[str] = None, paper: Optional[float] = None) -> Effect:
    """B - A as one Effect: the paired win-rate difference and, for toy-world runs, the accuracy ones."""
    return Effect(contrast, label, paired(a, b, model_a, model_b), paper, accuracy_effects(a, b, model_a, model_b))


QUALITY_FIELDS = ("precision", "recall", "selected", "positives", "labelled", "threshold")


def curator_quality_over_seeds(jobs: list[Job]) -> dict[str, dict[str, Any]]:
    """summary["curator_quality"] per curator, each field the mean over seeds (one job per seed: every
    job of a seed reports the same curators), plus precision_se / recall_se across seeds (None for one)."""
    per_seed: dict[str, dict[str, dict[str, Any]]] = {}
    for j in jobs:
        for name, q in j.summary.get("curator_quality", {}).items():
            per_seed.setdefault(name, {}).setdefault(j.seed, q)
    out = {}
    for name, seeds in per_seed.items():
        stats = {k: mean_across_seeds([q.get(k) for q in seeds.values()]) for k in QUALITY_FIELDS}
        means = {k: s["mean"] for k, s in stats.items()} if len(seeds) > 1 else dict(next(iter(seeds.values())))
        out[name] = {**means, "precision_se": stats["precision"]["standard_error"],
                     "recall_se": stats["recall"]["standard_error"], "n_seeds": len(seeds)}
    return out
