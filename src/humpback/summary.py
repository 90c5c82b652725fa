"""The job summary (summary.json, W&B summary, console table) read back from the artifacts of a run."""

from __future__ import annotations

from typing import Any

from humpback.axes import ablation_axes
from humpback.data.records import length_stats, read_jsonl
from humpback.data.toyworld.world import FILES as WORLD_FILES
from humpback.evaluation.gold import accuracy_vs_first, gold_report
from humpback.evaluation.paired import paired_vs_first
from humpback.evaluation.curator_quality import curator_quality, gold_from_file, gold_from_world
from humpback.pipeline import PipelineArtifacts
from humpback.stages import files
from humpback.stages.context import RunContext
from humpback.stages.select import score_margin


def build_summary(ctx: RunContext, arts: PipelineArtifacts, seconds: float) -> dict[str, Any]:
    cfg = ctx.cfg
    seed_rows = read_jsonl(arts.seed.path / files.SEED)
    cand_rows = read_jsonl(arts.candidates.path / files.CANDIDATES)
    # Table 1's seed row: the instruction/answer pairs; the toy world's rating examples are counted apart.
    rating = [r for r in seed_rows if r.get("family") == "rating"]
    data = {"seed": length_stats([r for r in seed_rows if r.get("family") != "rating"]), "A": length_stats(cand_rows)}
    if rating:
        data["seed_rating_examples"] = length_stats(rating)
    gold = None
    if cfg.curate.gold_path:
        gold = gold_from_file(cand_rows, cfg.curate.gold_path)
    elif arts.world is not None:
        gold = gold_from_world(cand_rows, read_jsonl(arts.world.path / WORLD_FILES["gold_segments"]))

    curation, quality = {}, {}
    for i, (curator, art) in enumerate(arts.scores.items(), start=1):
        if art.stage != "oracle_scores":
            curation[str(i)] = {**art.metrics, "curator": curator}
        if gold is not None:  # every curator is measured at the internal iterations' k (curate.threshold)
            threshold = cfg.curate.threshold - score_margin(cfg, curator)
            quality[curator] = curator_quality(read_jsonl(art.path / files.SCORES), gold, threshold)

    results = {}
    for name, model in arts.models.items():
        m, sel = model.metrics, arts.selections.get(name)  # M_0 has no selection
        selected_by = None if sel is None else sel.curator or "none"
        if sel is not None:
            selected = read_jsonl(model.path / files.SELECTED)
            data[f"A_{name[2:]}"] = {**length_stats(selected), "threshold": sel.threshold, "size": sel.size, "curator": selected_by,
                                     "augmented": sel.augmented}
        results[name] = {"train_examples": m.get("examples"), "seed_examples": m.get("seed_examples"),
                         "augmented_examples": m.get("augmented_examples"), "tagged": m.get("tagged"),
                         "final_loss": m.get("final_loss"), "selected_by": selected_by}
        if name in arts.verdicts:
            results[name].update({"inference_tags": arts.answers[name].metrics.get("inference_tags"), **arts.verdicts[name].metrics,
                                  "annotations": str(arts.verdicts[name].path / files.ANNOTATIONS)})
    gold_lines = None
    if arts.world is not None:  # toy world: does each model do its job, by the world's gold
        gold_lines = gold_report(arts.world.path, cand_rows, {n: arts.answers[n].path / files.OUTPUTS for n in arts.verdicts},
                                 {n: arts.verdicts[n].path / files.ANNOTATIONS for n in arts.verdicts})
        for name, g in gold_lines.pop("models").items():
            results[name]["gold"] = g
    for t, c in curation.items():  # kept counts per iteration: the selection that used these scores
        users = [n for n, sel in arts.selections.items() if sel.curator == c["curator"]]
        c["kept"] = {n: data[f"A_{n[2:]}"]["count"] for n in users}

    stages = [{"name": r.name, "stage": r.stage, "key": r.key, "cached": r.cached, "seconds": r.seconds} for r in ctx.records]
    summary = {
        "experiment": cfg.experiment_name,
        "axes": ablation_axes(cfg),
        "models": results,
        "final_model": f"M_{cfg.curate.iterations}",
        "final": {k: results.get(f"M_{cfg.curate.iterations}", {}).get(k) for k in ("win_rate", "standard_error", "n_total")},
        "data": data,
        "segments": {k: v for k, v in arts.segments.metrics.items() if k != "reader"},
        "curation": curation,
        "curator_quality": quality,
        "paired": paired_vs_first({n: r["annotations"] for n, r in results.items() if r.get("annotations")}),
        **({"gold": gold_lines, "paired_accuracy": accuracy_vs_first({n: r.get("gold") for n, r in results.items()})}
           if gold_lines is not None else {}),
        "stages": stages,
        "computed_stages": sum(not s["cached"] for s in stages),
        "cached_stages": sum(s["cached"] for s in stages),
        "seconds": round(seconds, 2),
        "cache_dir": str(ctx.store.root),
        "job_dir": str(ctx.job_dir),
    }
    summary["warnings"] = summary_warnings(summary)
    return summary


def summary_warnings(summary: dict[str, Any]) -> list[str]:
    """What a finished run must not hide: inputs left out, empty selections, judges without verdicts.
    A user may want some of these (a strict threshold that keeps nothing), so they warn, loudly."""
    out = []
    seg, data = summary.get("segments", {}), summary.get("data", {})
    if seg.get("unreadable"):
        out.append(f"segments: {seg['unreadable']} of {seg['documents']} documents were unreadable and left out (the log names them)")
    if seg.get("kept") == 0:
        out.append(f"segments: no segment kept of {seg.get('documents')} documents, so A is empty and every M_t trains on the seed alone")
    elif data.get("A", {}).get("count") == 0:
        out.append("augment: no candidate pair (every generated instruction was too short), so every M_t trains on the seed alone")
    for t, c in summary.get("curation", {}).items():
        if c.get("pairs") and c.get("unscored_pairs") == c["pairs"]:
            out.append(f"curation iteration {t}: curator {c.get('curator')} gave no parseable score to any of {c['pairs']} pairs")
    for name, m in summary.get("models", {}).items():
        sel = data.get(f"A_{name[2:]}")
        if sel and sel.get("augmented") and sel.get("count") == 0 and data.get("A", {}).get("count"):
            out.append(f"{name}: 0 of {data['A']['count']} augmented pairs selected (threshold {sel.get('threshold')}, "
                       f"curator {sel.get('curator')}), so it trained on the seed alone")
        if "n_total" in m and not m["n_total"]:
            out.append(f"{name}: the judge gave no usable verdict ({m.get('n_dropped')} dropped), so it has no win rate")
        elif m.get("n_dropped"):
            out.append(f"{name}: {m['n_dropped']} of {m['n_dropped'] + m['n_total']} verdicts unusable, left out of the win rate")
    return out
