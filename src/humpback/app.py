"""One Hydra job: tracker, pipeline, summary.json, console summary. Tests call `run_job` directly."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from humpback.axes import ablation_axes
from humpback.data.records import write_json
from humpback.pipeline import make_context, run_stages
from humpback.summary import build_summary
from humpback.tracking.console import print_summary
from humpback.tracking.wandb_tracker import Tracker, log_results
from humpback.validate import validate_config

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
    # Before any folder, store or stage: a bad value fails here, not after hours of training.
    missing = validate_config(cfg, plan=cfg.plan)
    name, group, hydra_dir = _job_identity(cfg)
    job = Path(job_dir or hydra_dir or Path.cwd())
    job.mkdir(parents=True, exist_ok=True)
    if cfg.plan:
        from humpback.plan import print_plan

        for problem in missing:
            log.warning("a run would stop here: %s", problem)
        ctx = make_context(cfg, job, plan=True)
        plan = {**print_plan(ctx, run_stages(ctx)), "warnings": missing}
        write_json(job / "plan.json", plan)
        return plan

    resolved = OmegaConf.to_container(cfg, resolve=True)
    w = cfg.logger.wandb
    tags = [*w.tags, cfg.experiment_name]
    tracker = Tracker(w.mode, job, w.project, w.entity, name, group, "pipeline", tags, {**ablation_axes(cfg), **resolved},
                      upload_artifacts=w.upload_artifacts)
    ctx = make_context(cfg, job, tracker)
    start = time.time()
    try:
        arts = run_stages(ctx)
    except BaseException:
        tracker.finish(exit_code=1)  # W&B shows a failed run, with what it streamed until then
        raise
    summary = build_summary(ctx, arts, time.time() - start)
    summary["wandb"] = {"mode": tracker.mode, "location": tracker.location(), "name": name, "group": group}
    write_json(job / "summary.json", summary)
    log_results(tracker, ctx.records, arts, summary, w.log_samples)
    tracker.finish()
    print_summary(summary)
    return summary

