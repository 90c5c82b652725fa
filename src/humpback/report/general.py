"""Tables over every job, whatever its sweep: data statistics (paper Table 1), curation runs (parse
failures, score histograms) and curator precision/recall. Points shared by several jobs appear once;
with replicate seeds, a `seeds` column says which seeds gave each row."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from humpback.report import figures
from humpback.report.load import Group, Job, canon
from humpback.report.tables import Table, fmt_mean_sd, fmt_num


def _where(groups: list[Group], g: Group) -> list[str]:
    return [g.name] if len(groups) > 1 else []


def _replicated(groups: list[Group]) -> bool:
    return len({j.seed for g in groups for j in g.jobs}) > 1


class _Rows:
    """Rows keyed by their content: a key seen again only adds its job's seed to the row's `seeds`."""

    def __init__(self, table: Table, seeded: bool):
        self.table, self.seeded, self.index = table, seeded, {}
        if seeded:
            table.header.append("seeds")

    def add(self, key: tuple, job: Job, row: list[str], record: dict[str, Any]) -> bool:
        """Add a row unless `key` has one; True when the row is new."""
        if key in self.index:
            i = self.index[key]
            if self.seeded and job.seed not in self.table.records[i]["seeds"].split():
                self.table.records[i]["seeds"] += f" {job.seed}"
                self.table.rows[i][-1] = self.table.records[i]["seeds"]
            return False
        self.index[key] = len(self.table.rows)
        self.table.rows.append(row + ([job.seed] if self.seeded else []))
        self.table.records.append({**record, **({"seeds": job.seed} if self.seeded else {})})
        return True


def selected_label(name: str, stats: dict[str, Any]) -> str:
    """'A_5^(2)' as in the paper, with the size and curator when they are not the defaults."""
    t = name.split("_", 1)[1]
    k = canon(stats.get("threshold"))
    label = f"A^({t}) (no curation)" if k == "none" else f"A_{k}^({t})"
    if stats.get("size") is not None:
        label += f", N={stats['size']}"
    curator = stats.get("curator")
    if curator not in (None, "none", f"M_{int(t) - 1}" if t.isdigit() else None):
        label += f", by {curator}"
    return label


def data_statistics(groups: list[Group]) -> Table:
    t = Table("table1_data", "Data statistics (paper Table 1): examples and lengths in characters (mean ± sd)",
              ["set", "examples", "instruction", "output"] + (["sweep"] if len(groups) > 1 else []))
    rows = _Rows(t, _replicated(groups))
    lengths = ("instruction_mean", "instruction_sd", "output_mean", "output_sd")
    for g in groups:
        for job in g.jobs:
            for name, stats in job.summary.get("data", {}).items():
                label = {"seed": "seed", "seed_rating_examples": "seed: rating examples (toy world)",
                         "A": "A (all)"}.get(name) or selected_label(name, stats)
                key = (g.name if len(groups) > 1 else "", label, stats.get("count"), f"{stats.get('output_mean')}")
                rows.add(key, job, [label, fmt_num(stats.get("count")),
                                    fmt_mean_sd(stats.get("instruction_mean"), stats.get("instruction_sd")),
                                    fmt_mean_sd(stats.get("output_mean"), stats.get("output_sd"))] + _where(groups, g),
                         {"sweep": g.name, "set": label, "examples": stats.get("count"), **{k: stats.get(k) for k in lengths}})
    return t


def parse_failures(groups: list[Group], out: Path) -> Optional[Table]:
    """One row per distinct curation run (iteration, curator, counts): jobs sharing a scores stage give one."""
    t = Table("parse_failures", "Self-curation ratings: strict 'Score: k' parse failures per curation run",
              ["iteration", "curator", "mode", "pairs", "ratings", "parse failures", "rate", "main reasons"] +
              (["sweep"] if len(groups) > 1 else []))
    rows = _Rows(t, _replicated(groups))
    panels = []
    for g in groups:
        for job in g.jobs:
            for it, c in job.summary.get("curation", {}).items():
                key = (g.name, c.get("curator"), c.get("ratings"), c.get("parse_failures"),
                       tuple(sorted((c.get("score_histogram") or {}).items())))
                reasons = sorted(((n, k) for k, n in (c.get("failure_reasons") or {}).items() if n), reverse=True)[:3]
                rate = c.get("parse_failure_rate")
                new = rows.add(key, job, [it, c.get("curator"), c.get("mode"), fmt_num(c.get("pairs")),
                                          fmt_num(c.get("ratings")), fmt_num(c.get("parse_failures")),
                                          f"{100 * rate:.1f}%" if rate is not None else "n/a",
                                          ", ".join(f"{k} {n}" for n, k in reasons) or "-"] + _where(groups, g),
                               {"sweep": g.name, "iteration": it, "curator": c.get("curator"), "mode": c.get("mode"),
                                **{k: c.get(k) for k in ("pairs", "ratings", "parse_failures", "parse_failure_rate")},
                                **{f"reason_{k}": n for k, n in (c.get("failure_reasons") or {}).items()},
                                **{f"score_{k}": n for k, n in (c.get("score_histogram") or {}).items()}})
                if new and c.get("score_histogram"):
                    where = f" [{g.name}]" if len(groups) > 1 else ""
                    seed = f", seed {job.seed}" if rows.seeded else ""
                    panels.append((f"iteration {it}: curator {c.get('curator')}{seed}{where}", c["score_histogram"]))
    if not t.rows:
        return None
    if panels:
        t.figures.append(figures.histograms(out / "score_histograms.png", "Self-curation score histograms", panels[:12]))
        if len(panels) > 12:
            t.notes.append(f"{len(panels)} curation runs; the histogram figure shows the first 12")
    return t


def curator_precision_recall(groups: list[Group]) -> Optional[Table]:
    t = Table("curator_precision_recall", "Curators: precision / recall of their selection against gold labels",
              ["curator", "threshold", "precision", "recall", "selected", "positives", "labelled"] +
              (["sweep"] if len(groups) > 1 else []))
    rows = _Rows(t, _replicated(groups))
    for g in groups:
        for job in g.jobs:
            for name, q in job.summary.get("curator_quality", {}).items():
                key = (g.name, name, q.get("precision"), q.get("recall"), q.get("selected"))
                rows.add(key, job, [name, fmt_num(q.get("threshold")), fmt_num(q.get("precision")),
                                    fmt_num(q.get("recall")), fmt_num(q.get("selected")), fmt_num(q.get("positives")),
                                    fmt_num(q.get("labelled"))] + _where(groups, g),
                         {"sweep": g.name, "curator": name, **q})
    return t if t.rows else None
