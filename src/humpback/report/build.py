"""`build_report`: every table and figure the jobs under some multirun dirs can give, written to one
folder (markdown + CSV per table, PNG per figure, report.md with all of them)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from humpback.axes import REPLICATE_AXIS
from humpback.report import experiments, general, reproduce
from humpback.report.load import Group, load_groups
from humpback.report.tables import Table

log = logging.getLogger("humpback.report")


BUILDERS = {**experiments.BUILDERS, "reproduce": reproduce.reproduction, "replicates": reproduce.replicate_models}


def experiment_of(g: Group) -> str | None:
    """Which tables a group gives: the reproduction sweep's, a paper sweep's, or (a sweep over seeds alone)
    each model over the seeds."""
    if (g.sweep or "").startswith("reproduce"):
        return "reproduce"
    kind = experiments.experiment_of(g)
    if kind is None and g.varying() == {REPLICATE_AXIS}:
        return "replicates"
    return kind


@dataclass
class Report:
    out: Path
    groups: list[Group]
    tables: list[Table] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def _sweep_notes(g: Group, experiment: str | None) -> list[str]:
    notes = [f"{g.path}: {len(g.jobs)} jobs with summary.json" +
             (f" of {g.expected_points} launched" if g.expected_points else "") +
             f"; sweep {g.sweep or 'unknown'}; tables: {experiment or 'none (no paper experiment matches the axes that vary)'}"]
    if g.expected_points and len(g.jobs) < g.expected_points:
        notes.append(f"{g.expected_points - len(g.jobs)} sweep points have no summary.json (failed or still running): "
                     "their cells say missing")
    return notes


def build_report(dirs: list[str | Path], out: str | Path | None = None) -> Report:
    groups = load_groups(dirs)
    if not groups:
        raise FileNotFoundError(f"no summary.json under {', '.join(map(str, dirs))}")
    out = Path(out) if out else Path(dirs[0]) / "report"
    out.mkdir(parents=True, exist_ok=True)
    report = Report(out, groups)
    counts: dict[str, int] = {}
    kinds = [(g, experiment_of(g)) for g in groups]
    for _, kind in kinds:
        counts[kind or ""] = counts.get(kind or "", 0) + 1
    notes = []
    for g, kind in kinds:
        notes += _sweep_notes(g, kind)
        if kind:
            stem = kind if counts[kind] == 1 else f"{kind}__{g.name}"
            report.tables += BUILDERS[kind](g, out, stem)
    report.tables.insert(0, general.data_statistics(groups))
    for extra in (general.curator_precision_recall(groups), general.parse_failures(groups, out)):
        if extra is not None:
            report.tables.append(extra)
    for t in report.tables:
        report.files += t.write(out)
        report.files += t.figures
    index = out / "report.md"
    body = ["# humpback report", ""] + [f"- {n}" for n in notes] + [""] + [t.markdown() for t in report.tables]
    index.write_text("\n".join(body))
    report.files.insert(0, index)
    return report
