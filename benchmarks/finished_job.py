"""A finished toy-world job, for the benchmarks that reuse its models and data: its summary, the folder of
each stage's artifact by stage name, and the job's config recomposed from its own overrides."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from humpback.config.schema import register_configs
from humpback.paths import conf_dir, register_resolvers


@dataclass
class FinishedJob:
    path: Path  # its summary.json
    summary: dict[str, Any]
    artifacts: dict[str, Path]  # stage name (M_0, augment, world ...) -> artifact folder
    cfg: DictConfig


def load_job(summary_path: Optional[Path] = None) -> FinishedJob:
    """The job of `summary_path`, or the newest under outputs/runs/ (a `humpback` run from this folder)."""
    if summary_path is None:
        found = sorted(Path("outputs/runs").glob("*/*/summary.json"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise SystemExit("no outputs/runs/*/*/summary.json: run `humpback` first, or name a summary.json")
        summary_path = found[-1]
    summary = json.loads(summary_path.read_text())
    cache = Path(summary["cache_dir"])
    artifacts = {s["name"]: cache / s["stage"] / s["key"] for s in summary["stages"]}
    register_resolvers()
    register_configs()
    overrides = Path(summary["job_dir"]) / ".hydra" / "overrides.yaml"  # the job's own command-line overrides
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(OmegaConf.load(overrides)) if overrides.is_file() else [])
    return FinishedJob(summary_path, summary, artifacts, cfg)
