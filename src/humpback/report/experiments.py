"""One table builder per paper experiment (SPEC.md section 6), each reading the jobs of one sweep.
Cells come from the final model of the job whose axes match; no job, no number: the cell says MISSING."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from humpback.report import figures
from humpback.report.fit import fit_log_scaling
from humpback.report.load import Group, Job, canon
from humpback.report.tables import MISSING, Table, fmt_num, fmt_win


def find(group: Group, **axes: str) -> list[Job]:
    return [j for j in group.jobs if all(j.axis(a) == v for a, v in axes.items())]


def first(group: Group, notes: list[str], **axes: str) -> Optional[Job]:
    jobs = find(group, **axes)
    if len(jobs) > 1:
        notes.append(f"{len(jobs)} jobs for {axes}; the first ({jobs[0].path.name}) is shown")
    return jobs[0] if jobs else None


def curation_label(k: str) -> str:
    return "no curation" if k == "none" else f"A_{k}"


def size_label(n: str) -> str:
    return "all" if n == "none" else n


def point(job: Optional[Job]) -> figures.Point:
    return (job.win_rate, job.standard_error) if job is not None and job.win_rate is not None else None


def short_of(job: Optional[Job], requested: Optional[str]) -> Optional[int]:
    """How many augmented pairs the job really used, when the selection held fewer than the N asked."""
    used = (job.final or {}).get("augmented_examples") if job else None
    if requested in (None, "none") or used is None or used >= float(requested):
        return None
    return used


def cell(job: Optional[Job], requested: Optional[str] = None) -> str:
    """The win rate of a job's final model, and the pairs it used when fewer than N were there."""
    if job is None:
        return MISSING
    used = short_of(job, requested)
    return fmt_win(job.win_rate, job.standard_error) + (f" ({used} used)" if used is not None else "")


def record(job: Optional[Job], **keys: Any) -> dict[str, Any]:
    final = (job.final or {}) if job else {}
    return {**keys, "status": "ok" if job else MISSING, "win_rate": final.get("win_rate"),
            "standard_error": final.get("standard_error"), "n_total": final.get("n_total"),
            "seed_examples": final.get("seed_examples"), "augmented_examples": final.get("augmented_examples"),
            "job": str(job.path) if job else None}


def seed_only(group: Group) -> Optional[tuple[str, float, Optional[float]]]:
    """M_0 (seed only) as a reference line, when the jobs evaluated it."""
    for job in group.jobs:
        m0 = job.summary.get("models", {}).get("M_0", {})
        if m0.get("win_rate") is not None:
            return ("seed only (M_0)", m0["win_rate"], m0.get("standard_error"))
    return None


def quality_vs_quantity(group: Group, out: Path, stem: str) -> list[Table]:
    ks, ns = group.values("curation_threshold"), group.values("augmented_size")
    t = Table(stem, f"Quality vs quantity: win rate by curation and augmented size N ({group.name})",
              ["curation"] + [f"N={size_label(n)}" for n in ns])
    series: dict[str, list[figures.Point]] = {}
    used: dict[str, list[Optional[str]]] = {}
    for k in ks:
        jobs = [first(group, t.notes, curation_threshold=k, augmented_size=n) for n in ns]
        t.rows.append([curation_label(k)] + [cell(j, n) for j, n in zip(jobs, ns)])
        t.records += [record(j, curation=curation_label(k), threshold=k, size=n) for j, n in zip(jobs, ns)]
        series[curation_label(k)] = [point(j) for j in jobs]
        used[curation_label(k)] = [None if short_of(j, n) is None else f"n={short_of(j, n)}" for j, n in zip(jobs, ns)]
    base = seed_only(group)
    if base:
        t.notes.append(f"seed only (M_0): {fmt_win(base[1], base[2])}")
    t.notes.append("(k used): the selection held fewer pairs than N; all of them were used")
    t.figure = figures.bar_groups(out / f"{stem}.png", "Quality vs quantity", [size_label(n) for n in ns], series,
                                  "augmented examples N (requested; seed always included; n= pairs really used)",
                                  hline=base, labels=used)
    return [t]


def data_scaling(group: Group, out: Path, stem: str) -> list[Table]:
    ks, ns = group.values("curation_threshold"), group.values("augmented_size")
    seeded = {j.axis("seed_data") for j in group.jobs} == {"true"}
    pts = Table(f"{stem}_points", f"Data scaling: win rate by augmented size N ({group.name})",
                ["data"] + [f"N={size_label(n)}" for n in ns])
    fit_t = Table(stem, f"Data scaling coefficient: w = alpha ln N + C ({group.name})",
                  ["data", "alpha", "C", "R^2", "points (N used)"])
    series: dict[str, list[tuple[float, figures.Point]]] = {}
    fits: dict[str, tuple[float, float]] = {}
    for k in ks:
        label = curation_label(k) + (" + seed" if seeded else "")
        jobs = [first(group, pts.notes, curation_threshold=k, augmented_size=n) for n in ns]
        pts.rows.append([label] + [cell(j, n) for j, n in zip(jobs, ns)])
        used: dict[int, Job] = {}  # one point per real size: a capped N repeats the same data
        for j, n in zip(jobs, ns):
            size = (j.final or {}).get("augmented_examples") if j else None
            in_fit = j is not None and j.win_rate is not None and bool(size) and size not in used
            if in_fit:
                used[size] = j
            pts.records.append({**record(j, data=label, threshold=k, size=n), "in_fit": in_fit})
        fit = fit_log_scaling(list(used), [j.win_rate for j in used.values()])
        if fit:
            fits[label] = (fit.alpha, fit.intercept)
        sizes = ", ".join(str(s) for s in used) or "none"
        fit_t.rows.append([label, fmt_num(fit.alpha) if fit else "n/a (needs 2 sizes)",
                           fmt_num(fit.intercept) if fit else "n/a", fmt_num(fit.r2, 3) if fit else "n/a", sizes])
        fit_t.records.append({"data": label, "threshold": k, "alpha": fit.alpha if fit else None,
                              "intercept": fit.intercept if fit else None, "r2": fit.r2 if fit else None,
                              "points": len(used), "sizes": sizes})
        series[label] = [(float(s), point(j)) for s, j in used.items()]
        series[label] += [(float(n), None) for j, n in zip(jobs, ns) if j is None and n != "none"]
    fit_t.notes.append("natural log; one point per distinct number of augmented examples actually used "
                       "(a requested N above what the selection holds repeats the same data and is left out)")
    fit_t.figure = figures.curves(out / f"{stem}.png", "Data scaling", series, "augmented examples N (log scale)",
                                  fits=fits)
    return [fit_t, pts]


def joint_label(seed: str, augmented: str, k: str) -> str:
    if augmented == "false":
        return "seed only"
    data = "no curation" if k == "none" else f"A_{k}"
    return f"seed + augmented ({data})" if seed == "true" else f"augmented only ({data})"


def joint_training(group: Group, out: Path, stem: str) -> list[Table]:
    ns = group.values("augmented_size")
    t = Table(stem, f"Joint training: seed and augmented data ({group.name})",
              ["training data"] + [f"N={size_label(n)}" for n in ns])
    series: dict[str, list[tuple[float, figures.Point]]] = {}
    for seed in group.values("seed_data"):
        for aug in group.values("augmented"):
            for k in group.values("curation_threshold"):
                label = joint_label(seed, aug, k)
                jobs = [first(group, t.notes, seed_data=seed, augmented=aug, curation_threshold=k, augmented_size=n) for n in ns]
                t.rows.append([label] + [cell(j, n) for j, n in zip(jobs, ns)])
                t.records += [record(j, data=label, seed_data=seed, augmented=aug, threshold=k, size=n) for j, n in zip(jobs, ns)]
                series[label] = [(float(n), point(j)) for j, n in zip(jobs, ns) if n != "none"]
    base = seed_only(group)
    if base:
        t.rows.append(["seed only (M_0)"] + [fmt_win(base[1], base[2])] * len(ns))
        t.records.append({"data": "seed only (M_0)", "status": "ok", "win_rate": base[1], "standard_error": base[2]})
    t.figure = figures.curves(out / f"{stem}.png", "Joint training", series, "augmented examples N (requested, log scale)",
                              hline=base)
    return [t]


PAPER_PROMPT_ROWS = [("tags", "S_a+S_w"), ("none", "none"), ("tags", "S_a"), ("tags", "none")]


def system_prompt(group: Group, out: Path, stem: str) -> list[Table]:
    t = Table(stem, f"System prompts: training tags -> inference prompt ({group.name})",
              ["train", "inference", "win rate ± SE", "W / L / D"])
    wanted = {("tags" if tr == "true" else "none", inf if tr == "true" else "none")
              for tr in group.values("train_tags") for inf in group.values("inference_tags")}
    actual: dict[tuple[str, str], list[Job]] = {}
    for j in group.jobs:  # what the final model really saw: untagged models are always asked without tags
        f = j.final or {}
        actual.setdefault(("tags" if f.get("tagged") else "none", f.get("inference_tags") or "none"), []).append(j)
    rows = [r for r in PAPER_PROMPT_ROWS if r in wanted | set(actual)] + sorted((wanted | set(actual)) - set(PAPER_PROMPT_ROWS))
    for train, inf in rows:
        jobs = actual.get((train, inf), [])
        j = jobs[0] if jobs else None
        wins = {round(x.win_rate, 6) for x in jobs if x.win_rate is not None}
        if len(wins) > 1:
            t.notes.append(f"{train} -> {inf}: {len(jobs)} jobs disagree ({sorted(wins)}); the first is shown")
        f = (j.final or {}) if j else {}
        t.rows.append([train, inf, cell(j), f"{f.get('n_wins')} / {f.get('n_wins_base')} / {f.get('n_draws')}" if j else MISSING])
        t.records.append(record(j, train=train, inference=inf))
    return [t]


def curator_quality(group: Group, out: Path, stem: str) -> list[Table]:
    t = Table(stem, f"Curator quality: selection precision / recall and the student it trains ({group.name})",
              ["curator", "precision", "recall", "selected", "positives", "student win rate ± SE", "student examples"])
    quality: dict[str, dict[str, Any]] = {}
    for j in group.jobs:
        for name, q in j.summary.get("curator_quality", {}).items():
            quality.setdefault(name, q)
    students: dict[str, Job] = {}
    for j in group.jobs:  # the curator whose scores really selected the final data
        students.setdefault((j.final or {}).get("selected_by") or j.axis("curator"), j)
    names = [c for c in group.values("curator") if c != "previous"] + [c for c in quality if c not in group.values("curator")]
    names += [c for c in students if c not in names and c != "none"]
    for name in names:
        q, j = quality.get(name), students.get(name)
        t.rows.append([name, fmt_num(q.get("precision")) if q else MISSING, fmt_num(q.get("recall")) if q else MISSING,
                       fmt_num(q.get("selected")) if q else MISSING, fmt_num(q.get("positives")) if q else MISSING,
                       cell(j) if j else ("not swept" if name not in group.values("curator") else MISSING),
                       fmt_num((j.final or {}).get("train_examples")) if j else ""])
        quality_cols = ("precision", "recall", "selected", "positives", "labelled", "threshold")
        t.records.append({**record(j, curator=name), **{f"curator_{k}": (q or {}).get(k) for k in quality_cols}})
    t.notes.append("positives: gold-labelled good pairs (toy world: grade >= 4); precision/recall of score >= curate.threshold")
    return [t]


def model_size(group: Group, out: Path, stem: str) -> list[Table]:
    sizes, ns = group.values("model_size"), group.values("augmented_size")
    t = Table(stem, f"Model size: win rate by student model ({group.name})",
              ["student model", "M_0 (seed only)"] + [f"final, N={size_label(n)}" for n in ns])
    series: dict[str, list[figures.Point]] = {f"N={size_label(n)}": [] for n in ns}
    for s in sizes:
        jobs = [first(group, t.notes, model_size=s, augmented_size=n) for n in ns]
        anyjob = next((j for j in jobs if j), None)
        m0 = anyjob.summary.get("models", {}).get("M_0", {}) if anyjob else {}
        t.rows.append([s, fmt_win(m0.get("win_rate"), m0.get("standard_error")) if anyjob else MISSING] +
                      [cell(j, n) for j, n in zip(jobs, ns)])
        t.records += [record(j, model=s, size=n) for j, n in zip(jobs, ns)]
        for j, n in zip(jobs, ns):
            series[f"N={size_label(n)}"].append(point(j))
    t.figure = figures.bar_groups(out / f"{stem}.png", "Model size", sizes, series, "student model")
    return [t]


def iterations(group: Group, out: Path, stem: str) -> list[Table]:
    t = Table(stem, f"Iterations: the final model M_T after T rounds of self-curation ({group.name})",
              ["T", "final model", "seed + augmented", "curator of its data", "parse failures", "win rate ± SE"])
    pts: list[tuple[float, figures.Point]] = []
    for T in group.values("iterations"):
        j = first(group, t.notes, iterations=T)
        f = (j.final or {}) if j else {}
        cur = (j.summary.get("curation", {}).get(T) or {}) if j else {}
        rate = cur.get("parse_failure_rate")
        t.rows.append([T, j.summary.get("final_model") if j else MISSING,
                       f"{f.get('seed_examples')} + {f.get('augmented_examples')}" if j else MISSING,
                       f.get("selected_by") or ("" if j else MISSING), f"{100 * rate:.1f}%" if rate is not None else "",
                       cell(j)])
        t.records.append({**record(j, iterations=T), "parse_failure_rate": rate})
        if T != "none":
            pts.append((float(T), point(j)))
    t.figure = figures.curves(out / f"{stem}.png", "Self-curation iterations", {"final model M_T": pts},
                              "iterations T", log_x=False)
    return [t]


BUILDERS: dict[str, Callable[[Group, Path, str], list[Table]]] = {
    "quality_vs_quantity": quality_vs_quantity,
    "data_scaling": data_scaling,
    "joint_training": joint_training,
    "system_prompt": system_prompt,
    "curator_quality": curator_quality,
    "model_size": model_size,
    "iterations": iterations,
}


def experiment_of(group: Group) -> Optional[str]:
    """The sweep that made this group (its Hydra config name), else a guess from the axes that vary."""
    if group.sweep in BUILDERS:
        return group.sweep
    varying = group.varying()
    for name, axes in [("system_prompt", {"train_tags", "inference_tags"}), ("curator_quality", {"curator"}),
                       ("model_size", {"model_size"}), ("iterations", {"iterations"}),
                       ("joint_training", {"seed_data", "augmented"}), ("quality_vs_quantity", {"curation_threshold"}),
                       ("data_scaling", {"augmented_size"})]:
        if varying & axes:
            return name
    return None


__all__ = ["BUILDERS", "experiment_of", "canon"]
