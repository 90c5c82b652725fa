"""The reproduction sweep (sweeps/reproduce_cpu.yaml): one table per paper contrast, each configuration's
win rate over seeds, every effect a paired difference against the contrast's reference (± SE, z), the
paper's number beside ours where SPEC.md has one, and a figure per contrast plus one of all effects.

A contrast's configurations are found by their ablation axes: the Humpback setting (HUMPBACK, the
sweep's `default` point) with a few axes changed, so the tables do not depend on how the points were
launched (one sweep, several, or plain runs in one folder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from humpback.evaluation.gold import SPLIT_OF
from humpback.report import figures
from humpback.report.effects import PAIRED_NOTE, Effect, effects_table
from humpback.report.experiments import find, record
from humpback.report.load import Group
from humpback.report.paper_numbers import CURATOR_PRECISION_RECALL, paper_difference, paper_win_rate
from humpback.report.replicates import Config, curator_quality_over_seeds, effect, replicates
from humpback.report.tables import MISSING, Table, fmt_diff, fmt_num, fmt_win

# The paper's main setting: seed + A_5 selected by the previous model, tagged, S_a+S_w at inference.
HUMPBACK = {"curation_threshold": "5", "seed_data": "true", "augmented": "true", "train_tags": "true",
            "inference_tags": "S_a+S_w", "curator": "previous"}


@dataclass(frozen=True)
class Arm:
    label: str
    delta: dict[str, str] = field(default_factory=dict)  # axes that differ from HUMPBACK (canonical values)
    model: Optional[str] = None  # None: the job's final model


@dataclass(frozen=True)
class Contrast:
    name: str
    title: str
    paper_ref: str
    column: str  # what the arms are
    arms: tuple[Arm, ...]
    reference: str  # the arm every other one is compared with


CONTRASTS = (
    Contrast("quality_vs_quantity", "Quality vs quantity at equal N: no curation vs A_4 vs A_5", "Fig 3 v1 / Fig 2 v3",
             "augmented data", (Arm("no curation", {"curation_threshold": "none"}), Arm("A_4", {"curation_threshold": "4"}),
                                Arm("A_5")), "no curation"),
    Contrast("joint_training", "Joint training: seed only vs A_5 only vs seed + A_5", "Fig 7 v1 / Fig 5 v3",
             "training data", (Arm("seed only", {"augmented": "false"}), Arm("A_5 only", {"seed_data": "false"}),
                               Arm("seed + A_5")), "seed only"),
    Contrast("system_prompt", "System prompts: training tags -> inference prompt", "Table 8 v1 / Table 5 v3",
             "train -> inference", (Arm("tags -> S_a+S_w"), Arm("none -> none", {"train_tags": "false"}),
                                    Arm("tags -> S_a", {"inference_tags": "S_a"}),
                                    Arm("tags -> none", {"inference_tags": "none"})), "none -> none"),
    Contrast("curator_quality", "Curator quality: whose ratings select A_5", "Table 7 v1 / Table 9 v3", "curator",
             (Arm("M_0", {"curator": "M_0"}), Arm("M_1"), Arm("oracle", {"curator": "oracle"})), "M_0"),
)
NOTES = ["win rate: mean over seeds; SE (seeds): SD over seeds / sqrt(k); SE (prompts): one run's per-prompt SE "
         "(mean over seeds)",
         PAIRED_NOTE.replace("B minus A", "the arm minus the contrast's reference"),
         "paper: LLaMA 7B on AlpacaEval (SPEC.md); ours: tiny scratch models on the toy world. Compare signs and "
         "order, not levels; the paper's Δ is the difference of its reported win rates (unpaired)"]


def arm_config(group: Group, arm: Arm, notes: list[str]) -> Optional[Config]:
    return replicates(find(group, **{**HUMPBACK, **arm.delta}), notes, arm.label)


def seeds_cell(config: Optional[Config], model: Optional[str], requested: int) -> str:
    n = config.stats(model).n_seeds if config else 0
    return f"{n} of {requested}" if requested > n else str(n)


def data_cell(config: Optional[Config], model: Optional[str]) -> str:
    """'240 + 20': seed + augmented pairs the model trained on; '240 + 18/20' when seeds differ."""
    if config is None:
        return ""
    runs = [j.summary.get("models", {}).get(config.model_name(model)) or {} for j in config.jobs]
    parts = [list(dict.fromkeys(str(r.get(k)) for r in runs)) for k in ("seed_examples", "augmented_examples")]
    return " + ".join("/".join(p) for p in parts)


def accuracy_cell(config: Optional[Config], model: Optional[str]) -> str:
    """'45 / 30': the oracle accuracy (%) on seed-entity / web-only prompts, mean over seeds."""
    values = [config.accuracy(model, split) if config else None for split in SPLIT_OF.values()]
    return "" if all(v is None for v in values) else " / ".join(fmt_num(v, 0) for v in values)


def contrast_table(group: Group, out: Path, stem: str, c: Contrast, configs: list[Optional[Config]],
                   effects: list[Effect], name: Optional[str] = None) -> Table:
    """One contrast: a row per arm (its configuration over seeds), each but the reference paired against it;
    its effects are appended to `effects` for the summary table."""
    arms = c.arms
    curators = c.name == "curator_quality"
    diff_col = f"Δ vs {c.reference} (paired)"
    gold = any(accuracy_cell(config, arm.model) for arm, config in zip(arms, configs))  # a toy-world sweep
    header = [c.column, "win rate", "SE (seeds)", "SE (prompts)", "seeds", "seed + aug", diff_col, "z", "Δ SE (seeds)",
              "pairs"]
    header += ["accuracy seed / web-only", f"Δ web-only accuracy vs {c.reference}", "z (accuracy)"] if gold else []
    header += (["precision", "recall", "paper precision / recall"] if curators else []) + ["paper", "paper Δ"]
    t = Table(name or f"{stem}_{c.name}", f"{c.title} ({group.name}; paper: {c.paper_ref})", header)
    requested = len(group.grid.get("seed", [])) or 1
    quality = curator_quality_over_seeds(group.jobs) if curators else {}
    ref = next(i for i, a in enumerate(arms) if a.label == c.reference)
    points, diffs = [], []
    for arm, config in zip(arms, configs):
        s = config.stats(arm.model) if config else None
        is_ref = arm.label == c.reference
        paper, paper_d = paper_win_rate(c.name, arm.label), paper_difference(c.name, arm.label, c.reference)
        e = None if is_ref else effect(c.name, f"{arm.label} − {c.reference}", configs[ref], config, arms[ref].model,
                                       arm.model, paper_d)
        d, acc = (e.diff, e.accuracy) if e else (None, {})
        web = acc.get("web-only")
        row = [arm.label, fmt_num(s.win_rate) if config else MISSING, fmt_num(s.seed_standard_error) if s else "",
               fmt_num(s.standard_error) if s else "", seeds_cell(config, arm.model, requested), data_cell(config, arm.model),
               "reference" if is_ref else fmt_diff(d), "" if is_ref else fmt_num((d or {}).get("z"), 1),
               "" if is_ref else fmt_num((d or {}).get("seed_standard_error")),
               "" if is_ref or not d else str(d["n"])]
        if gold:
            row += [accuracy_cell(config, arm.model), "reference" if is_ref else fmt_diff(web),
                    "" if is_ref else fmt_num((web or {}).get("z"), 1)]
        q: dict[str, Any] = {}
        if curators:
            curator = (config.final or {}).get("selected_by") if config else None  # "previous" is M_{T-1}
            q = quality.get(curator or arm.label) or {}
            pr = CURATOR_PRECISION_RECALL.get(arm.label)
            row += [fmt_num(q.get("precision")) if q else MISSING, fmt_num(q.get("recall")) if q else MISSING,
                    f"{pr[0]:.2f} / {pr[1]:.2f}" if pr else ""]
        row += [fmt_win(paper.value, paper.standard_error) if paper else "",
                "" if is_ref or paper_d is None else f"{paper_d:+.2f}"]
        t.rows.append(row)
        t.records.append({**record(config, arm.model, contrast=c.name, arm=arm.label, reference=c.reference),
                          **{f"diff_{k}": v for k, v in (d or {}).items()},
                          **{f"accuracy_{split}": config.accuracy(arm.model, split) if config else None
                             for split in SPLIT_OF.values()},
                          **{f"accuracy_diff_{label}_{k}": v for label, a in acc.items() for k, v in (a or {}).items()},
                          **({f"curator_{k}": q.get(k) for k in ("precision", "recall", "selected")} if curators else {}),
                          "paper_win_rate": paper.value if paper else None, "paper_difference": paper_d,
                          "paper_ref": paper.ref if paper else None})
        points.append((s.win_rate, s.error_bar) if s and s.win_rate is not None else None)
        diffs.append((d["mean_difference"], d["standard_error"]) if d and d["mean_difference"] is not None else None)
        if e is not None:
            effects.append(e)
    paper_notes = [p.note for p in (paper_win_rate(c.name, a.label) for a in arms) if p is not None and p.note]
    t.notes += [f"paper: {n}" for n in dict.fromkeys(paper_notes)]
    error = "SE across seeds" if requested > 1 else "per-prompt SE"
    t.figures.append(figures.contrast(out / f"{t.name}.png", c.title, [a.label for a in arms], points, diffs,
                                      c.reference, error))
    return t


def iterations_contrast(reference: Optional[Config]) -> tuple[Contrast, list[Optional[Config]]]:
    """M_0 .. M_T of the default configuration (every job evaluates them all), each against M_0."""
    models = sorted((reference.summary.get("models") if reference else None) or ["M_0", "M_1", "M_2"],
                    key=lambda m: (len(m), m))  # M_0, M_1, .., M_10
    arms = tuple(Arm(m, model=m) for m in models)
    c = Contrast("iterations", "Self-curation iterations: M_0 (seed only) and M_1 .. M_T of the default run",
                 "section 1.5 (T = 2)", "model", arms, models[0])
    return c, [reference] * len(arms)


# Effects the acceptance of the reproduction asks for that are not "arm minus reference": (contrast, arm, other).
EXTRA_EFFECTS = (("joint_training", "seed + A_5", "A_5 only"), ("system_prompt", "tags -> S_a+S_w", "tags -> none"))


def reproduction(group: Group, out: Path, stem: str) -> list[Table]:
    notes: list[str] = []
    effects: list[Effect] = []
    c, configs = iterations_contrast(arm_config(group, Arm("default"), notes))
    tables = [contrast_table(group, out, stem, c, configs, effects)]
    by_arm: dict[tuple[str, str], Optional[Config]] = {}
    for c in CONTRASTS:
        configs = [arm_config(group, a, notes) for a in c.arms]
        by_arm.update({(c.name, a.label): cfg for a, cfg in zip(c.arms, configs)})
        tables.append(contrast_table(group, out, stem, c, configs, effects))
    for contrast, arm, other in EXTRA_EFFECTS:
        effects.append(effect(contrast, f"{arm} − {other}", by_arm.get((contrast, other)), by_arm.get((contrast, arm)),
                              paper=paper_difference(contrast, arm, other)))
    summary = effects_table(f"{stem}_effects", f"Every paper contrast as a paired difference ({group.name})", effects, out)
    summary.notes = NOTES + list(dict.fromkeys(notes))
    return [summary] + tables


def replicate_models(group: Group, out: Path, stem: str) -> list[Table]:
    """A sweep over seeds only (`humpback -m seed=0,1,2`): M_0 .. M_T over seeds, paired against M_0."""
    notes: list[str] = []
    effects: list[Effect] = []
    c, configs = iterations_contrast(replicates(group.jobs, notes, "replicates"))
    t = contrast_table(group, out, stem, c, configs, effects, name=stem)
    t.notes += NOTES[:2] + notes
    return [t]
