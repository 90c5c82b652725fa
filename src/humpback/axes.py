"""The ablation axes: the one table the summary, W&B and humpback-report read.

Each axis is a flat name (a W&B top-level config key, a report column) and the config path it comes
from. `seed` is the replicate axis: reports group jobs that differ only in it.
"""

from __future__ import annotations

from typing import Any, Mapping

from omegaconf import OmegaConf

# axis name -> config path (dotted). model_size reads roles.student first (see `axis_value`).
AXES: dict[str, str] = {
    "curation_threshold": "student.threshold",
    "augmented_size": "student.size",
    "train_tags": "student.tags",
    "inference_tags": "eval.inference_tags",
    "model_size": "model.name",
    "iterations": "curate.iterations",
    "seed_data": "student.seed_data",
    "augmented": "student.augmented",
    "curation_mode": "curate.mode",
    "curator": "student.curator",
    # what the world and the base model are: jobs of two presets, or two pretraining budgets, are never replicates
    "experiment_name": "experiment_name",
    "pretrain_steps": "pretrain.steps",
    "world_pages": "data.world.n_pages",
    "seed": "seed",
}
REPLICATE_AXIS = "seed"
AXIS_OF_OVERRIDE: dict[str, str] = {path: name for name, path in AXES.items()}
AXIS_OF_OVERRIDE["roles.student.name"] = "model_size"


def _select(cfg: Any, path: str) -> Any:
    if OmegaConf.is_config(cfg):
        return OmegaConf.select(cfg, path)
    node: Any = cfg
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def axis_value(cfg: Any, name: str) -> Any:
    """One axis from a config (a DictConfig, or the plain dict of a saved .hydra/config.yaml)."""
    if name == "model_size":
        return _select(cfg, "roles.student.name") or _select(cfg, "model.name")
    return _select(cfg, AXES[name])


def ablation_axes(cfg: Any) -> dict[str, Any]:
    """Every axis of a job as flat top-level keys (W&B tables and parallel coordinates, reports)."""
    return {name: axis_value(cfg, name) for name in AXES}
