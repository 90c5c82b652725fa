"""One table builder per paper experiment (SPEC.md section 6), each reading the jobs of one sweep.
Cells come from the final model of the configuration whose axes match: one job, or the replicates of
one configuration over seeds (mean ± SE across seeds, beside the per-prompt SE). No job, no number:
the cell says MISSING."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from humpback.report import figures
from humpback.report.effects import Effect, effects_table
from humpback.report.fit import fit_log_scaling
from humpback.report.load import Group, Job, canon
from humpback.report.replicates import Config, ModelStats, curator_quality_over_seeds, effect, replicates
from humpback.report.tables import MISSING, Table, fmt_num, fmt_replicated


def find(group: Group, **axes: str) -> list[Job]:
    return [j for j in group.jobs if all(j.axis(a) == v for a, v in axes.items())]


def first(group: Group, notes: list[str], **axes: str) -> Optional[Config]:
    """The configuration whose axes match (its jobs over seeds), or None."""
    return replicates(find(group, **axes), notes, str(axes))


def one_per_seed(jobs: list[Job]) -> Optional[Config]:
    """The first job of each seed, for facts every job of a seed shares (M_0, a curator's scores)."""
    by_seed: dict[str, Job] = {}
    for j in jobs:
        by_seed.setdefault(j.seed, j)
    return Config(list(by_seed.values())) if by_seed else None


def fmt_stats(s: ModelStats) -> str:
    return fmt_replicated(s.win_rate, s.seed_standard_error, s.n_seeds, s.standard_error)


def curation_label(k: str) -> str:
    return "no curation" if k == "none" else f"A_{k}"


def size_label(n: str) -> str:
    return "all" if n == "none" else n


def point(job: Optional[Config], model: Optional[str] = None) -> figures.Point:
    """(win rate, error bar): SE across seeds with replicates, else the per-prompt SE."""
    s = job.stats(model) if job is not None else None
    return (s.win_rate, s.error_bar) if s is not None and s.win_rate is not None else None


def short_of(job: Optional[Config], requested: Optional[str]) -> Optional[int]:
    """How many augmented pairs the job really used, when the selection held fewer than the N asked."""
    used = (job.final or {}).get("augmented_examples") if job else None
    if requested in (None, "none") or used is None or used >= float(requested):
        return None
    return used


def cell(job: Optional[Config], requested: Optional[str] = None) -> str:
    """The win rate of a configuration's final model, and the pairs it used when fewer than N were there."""
    if job is None:
        return MISSING
    used = short_of(job, requested)
    return fmt_stats(job.stats()) + (f" ({used} used)" if used is not None else "")


def record(job: Optional[Config], model: Optional[str] = None, **keys: Any) -> dict[str, Any]:
    """A CSV row: win_rate is the mean over seeds, standard_error a run's per-prompt SE (mean over seeds),
    seed_standard_error the SE across seeds (empty for one seed)."""
    final = ((job.summary.get("models", {}).get(job.model_name(model)) or {}) if job else {})
    s = job.stats(model) if job else None
    return {**keys, "status": "ok" if job else MISSING, "win_rate": s.win_rate if s else None,
            "standard_error": s.standard_error if s else None,
            "seed_standard_error": s.seed_standard_error if s else None, "n_seeds": s.n_seeds if s else 0,
            "seeds": " ".join(job.seeds) if job else None, "n_total": final.get("n_total"),
            "seed_examples": final.get("seed_examples"), "augmented_examples": final.get("augmented_examples"),
            "job": str(job.path) if job else None}


def seed_only(group: Group) -> Optional[tuple[str, ModelStats]]:
    """M_0 (seed only) over the group's seeds, as a reference line, when the jobs evaluated it."""
    evaluated = [j for j in group.jobs if (j.summary.get("models", {}).get("M_0") or {}).get("win_rate") is not None]
    m0 = one_per_seed(evaluated)
    return ("seed only (M_0)", m0.stats("M_0")) if m0 else None


def paired_tables(group: Group, out: Path, stem: str, effects: list[Effect]) -> list[Table]:
    """The sweep's contrasts as paired differences (`<stem>_paired`), when any could be paired: pairing reads
    the annotation files the summaries point to."""
    if not any(e.diff for e in effects):
        return []
    return [effects_table(f"{stem}_paired", f"Paired differences over (seed, prompt) ({group.name})", effects, out,
                          paper=False)]


def hline(base: Optional[tuple[str, ModelStats]]) -> Optional[tuple[str, float, Optional[float]]]:
    return (base[0], base[1].win_rate, base[1].error_bar) if base else None


def quality_vs_quantity(group: Group, out: Path, stem: str) -> list[Table]:
    ks, ns = group.values("curation_threshold"), group.values("augmented_size")
    t = Table(stem, f"Quality vs quantity: win rate by curation and augmented size N ({group.name})",
              ["curation"] + [f"N={size_label(n)}" for n in ns])
    series: dict[str, list[figures.Point]] = {}
    used: dict[str, list[Optional[str]]] = {}
    grid: dict[str, list[Optional[Config]]] = {}
    for k in ks:
        jobs = grid[k] = [first(group, t.notes, curation_threshold=k, augmented_size=n) for n in ns]
        t.rows.append([curation_label(k)] + [cell(j, n) for j, n in zip(jobs, ns)])
        t.records += [record(j, curation=curation_label(k), threshold=k, size=n) for j, n in zip(jobs, ns)]
        series[curation_label(k)] = [point(j) for j in jobs]
        used[curation_label(k)] = [None if short_of(j, n) is None else f"n={short_of(j, n)}" for j, n in zip(jobs, ns)]
    base = seed_only(group)
    if base:
        t.notes.append(f"seed only (M_0): {fmt_stats(base[1])}")
    t.notes.append("(k used): the selection held fewer pairs than N; all of them were used")
    t.figures.append(figures.bar_groups(out / f"{stem}.png", "Quality vs quantity", [size_label(n) for n in ns], series,
                                        "augmented examples N (requested; seed always included; n= pairs really used)",
                                        hline=hline(base), labels=used))
    effects = [effect(f"N={size_label(n)}", f"{curation_label(k)} − no curation", grid["none"][i], grid[k][i])
               for i, n in enumerate(ns) for k in ks if k != "none" and "none" in grid]
    return [t] + paired_tables(group, out, stem, effects)


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
        used: dict[int, Config] = {}  # one point per real size: a capped N repeats the same data
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
    fit_t.figures.append(figures.curves(out / f"{stem}.png", "Data scaling", series, "augmented examples N (log scale)",
                                        fits=fits))
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
    mixes: dict[tuple[str, str, str], list[Optional[Config]]] = {}
    for seed in group.values("seed_data"):
        for aug in group.values("augmented"):
            for k in group.values("curation_threshold"):
                label = joint_label(seed, aug, k)
                jobs = mixes[(seed, aug, k)] = [first(group, t.notes, seed_data=seed, augmented=aug, curation_threshold=k,
                                                      augmented_size=n) for n in ns]
                t.rows.append([label] + [cell(j, n) for j, n in zip(jobs, ns)])
                t.records += [record(j, data=label, seed_data=seed, augmented=aug, threshold=k, size=n) for j, n in zip(jobs, ns)]
                series[label] = [(float(n), point(j)) for j, n in zip(jobs, ns) if n != "none"]
    base = seed_only(group)
    if base:
        t.rows.append(["seed only (M_0)"] + [fmt_stats(base[1])] * len(ns))
        t.records.append({"data": "seed only (M_0)", "status": "ok", "win_rate": base[1].win_rate,
                          "standard_error": base[1].standard_error,
                          "seed_standard_error": base[1].seed_standard_error, "n_seeds": base[1].n_seeds})
    t.figures.append(figures.curves(out / f"{stem}.png", "Joint training", series, "augmented examples N (requested, log scale)",
                                    hline=hline(base)))
    effects = []
    for (seed, aug, k), jobs in mixes.items():
        if (seed, aug) != ("true", "true"):
            continue
        alone = mixes.get(("false", "true", k)) or [None] * len(ns)
        for i, n in enumerate(ns):
            label = joint_label(seed, aug, k)
            effects.append(effect(f"N={size_label(n)}", f"{label} − {joint_label('false', 'true', k)}", alone[i], jobs[i]))
            effects.append(effect(f"N={size_label(n)}", f"{label} − seed only (M_0)", jobs[i], jobs[i], "M_0"))
    return [t] + paired_tables(group, out, stem, effects)


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
    configs = {r: one_per_seed(actual.get(r, [])) for r in rows}
    for train, inf in rows:
        jobs = actual.get((train, inf), [])
        j = configs[(train, inf)]  # an untagged model's inference points are one computation per seed
        for seed in dict.fromkeys(x.seed for x in jobs):
            wins = {round(x.win_rate, 6) for x in jobs if x.seed == seed and x.win_rate is not None}
            if len(wins) > 1:
                t.notes.append(f"{train} -> {inf}, seed {seed}: jobs disagree ({sorted(wins)}); the first is shown")
        f = (j.final or {}) if j else {}
        t.rows.append([train, inf, cell(j), f"{f.get('n_wins')} / {f.get('n_wins_base')} / {f.get('n_draws')}" if j else MISSING])
        t.records.append(record(j, train=train, inference=inf))
    none = configs.get(("none", "none"))
    effects = [effect("system prompt", f"{tr} -> {inf} − none -> none", none, configs[(tr, inf)])
               for tr, inf in rows if (tr, inf) != ("none", "none")]
    return [t] + paired_tables(group, out, stem, effects)


def curator_quality(group: Group, out: Path, stem: str) -> list[Table]:
    t = Table(stem, f"Curator quality: selection precision / recall and the student it trains ({group.name})",
              ["curator", "precision", "recall", "selected", "positives", "student win rate ± SE", "student examples"])
    quality = curator_quality_over_seeds(group.jobs)
    by_curator: dict[str, list[Job]] = {}
    for j in group.jobs:  # the curator whose scores really selected the final data
        by_curator.setdefault((j.final or {}).get("selected_by") or j.axis("curator"), []).append(j)
    students = {name: replicates(jobs, t.notes, f"curator {name}") for name, jobs in by_curator.items()}
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
    t.notes.append("positives: gold-labelled good pairs (toy world: grade >= 4); precision/recall of score >= curate.threshold"
                   " (with replicates: means over seeds)")
    ref = next((n for n in names if students.get(n)), None)
    effects = [effect("curator", f"{n} − {ref}", students[ref], students.get(n)) for n in names if ref and n != ref]
    return [t] + paired_tables(group, out, stem, effects)


def model_size(group: Group, out: Path, stem: str) -> list[Table]:
    sizes, ns = group.values("model_size"), group.values("augmented_size")
    t = Table(stem, f"Model size: win rate by student model ({group.name})",
              ["student model", "M_0 (seed only)"] + [f"final, N={size_label(n)}" for n in ns])
    series: dict[str, list[figures.Point]] = {f"N={size_label(n)}": [] for n in ns}
    for s in sizes:
        jobs = [first(group, t.notes, model_size=s, augmented_size=n) for n in ns]
        anyjob = next((j for j in jobs if j), None)
        t.rows.append([s, fmt_stats(anyjob.stats("M_0")) if anyjob else MISSING] +
                      [cell(j, n) for j, n in zip(jobs, ns)])
        t.records += [record(j, model=s, size=n) for j, n in zip(jobs, ns)]
        for j, n in zip(jobs, ns):
            series[f"N={size_label(n)}"].append(point(j))
    t.figures.append(figures.bar_groups(out / f"{stem}.png", "Model size", sizes, series, "student model"))
    return [t]


def iterations(group: Group, out: Path, stem: str) -> list[Table]:
    t = Table(stem, f"Iterations: the final model M_T after T rounds of self-curation ({group.name})",
              ["T", "final model", "seed + augmented", "curator of its data", "parse failures", "win rate ± SE"])
    pts: list[tuple[float, figures.Point]] = []
    finals: list[tuple[str, Optional[Config]]] = []
    for T in group.values("iterations"):
        j = first(group, t.notes, iterations=T)
        finals.append((T, j))
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
    t.figures.append(figures.curves(out / f"{stem}.png", "Self-curation iterations", {"final model M_T": pts},
                                    "iterations T", log_x=False))
    effects = [effect("iterations", f"M_{T} − M_0", j, j, "M_0") for T, j in finals if T not in ("0", "none")]
    return [t] + paired_tables(group, out, stem, effects)


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
