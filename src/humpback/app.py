"""One Hydra job: tracker, pipeline, summary.json, console summary. Tests call `run_job` directly."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from humpback.axes import ablation_axes
from humpback.data.records import read_jsonl, write_json
from humpback.evaluation.annotations import read_annotations
from humpback.pipeline import make_context, run_stages
from humpback.summary import build_summary
from humpback.tracking.console import print_summary
from humpback.tracking.wandb_tracker import Tracker

log = logging.getLogger("humpback")


def _job_identity(cfg: DictConfig) -> tuple[str, str | None, str | None]:
    """(run name, group, job dir) from Hydra when it runs the job; plain defaults otherwise."""
    try:
        from hydra.core.hydra_config import HydraConfig

        hc = HydraConfig.get()
    except ValueError:
        return cfg.experiment_name, cfg.logger.wandb.group, None
    overrides = [o for o in hc.overrides.task if not o.startswith(("logger.", "hydra."))]
    name = ",".join(overrides) or cfg.experiment_name
    multirun = hc.mode is not None and hc.mode.name == "MULTIRUN"
    group = cfg.logger.wandb.group or (Path(hc.sweep.dir).name if multirun else None)
    return name, group, hc.runtime.output_dir


def run_job(cfg: DictConfig, job_dir: str | None = None) -> dict[str, Any]:
    name, group, hydra_dir = _job_identity(cfg)
    job = Path(job_dir or hydra_dir or Path.cwd())
    job.mkdir(parents=True, exist_ok=True)
    if cfg.plan:
        from humpback.plan import print_plan

        ctx = make_context(cfg, job, plan=True)
        plan = print_plan(ctx, run_stages(ctx))
        write_json(job / "plan.json", plan)
        return plan

    resolved = OmegaConf.to_container(cfg, resolve=True)
    w = cfg.logger.wandb
    tags = [*w.tags, cfg.experiment_name]
    tracker = Tracker(w.mode, job, w.project, w.entity, name, group, "pipeline", tags, {**ablation_axes(cfg), **resolved})
    ctx = make_context(cfg, job, tracker)
    start = time.time()
    summary = build_summary(ctx, run_stages(ctx), time.time() - start)
    summary["wandb"] = {"mode": tracker.mode, "location": tracker.location(), "name": name, "group": group}
    write_json(job / "summary.json", summary)
    log_to_tracker(tracker, ctx, summary)
    tracker.finish()
    print_summary(summary)
    return summary


def log_to_tracker(tracker: Tracker, ctx, summary: dict[str, Any]) -> None:
    for rec in ctx.records:
        if rec.stage in ("finetune", "pretrain") and rec.metrics.get("history"):
            tracker.log_curve(rec.name, rec.metrics["history"])
    for t, c in summary["curation"].items():
        tracker.log_histogram(f"curation/{t}/score_histogram", c["score_histogram"])
    n = ctx.cfg.logger.wandb.log_samples
    for rec in ctx.records:
        if rec.stage == "judge":
            rows = read_annotations(Path(rec.path) / "annotations.json")[:n]
            tracker.log_table(f"samples/{rec.name.split()[-1]}/eval", [
                {k: r.get(k) for k in ("instruction", "output_1", "output_2", "preference")} for r in rows])
        if rec.stage == "curate":
            scores = {r["id"]: r for r in read_jsonl(Path(rec.path) / "scores.jsonl")}
            augment = next(r for r in ctx.records if r.stage == "augment")
            cands = read_jsonl(Path(augment.path) / "candidates.jsonl")[:n]
            tracker.log_table(f"samples/{rec.name}/ratings", [
                {"instruction": c["instruction"], "output": c["output"], "score": scores[c["id"]]["score"],
                 "rating": (scores[c["id"]].get("raw") or [""])[0]} for c in cands if c["id"] in scores])
    tracker.summary({k: summary[k] for k in ("axes", "final", "models", "data", "curation", "curator_quality", "paired", "gold", "computed_stages",
                                             "cached_stages", "seconds") if k in summary})
