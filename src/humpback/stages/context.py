"""What every stage gets: the job config, the artifact store, the tracker, and a record of what ran."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf

from humpback.cache import Artifact, ArtifactStore

log = logging.getLogger("humpback")


@dataclass
class StageRecord:
    name: str
    stage: str
    key: str
    cached: bool
    seconds: float
    metrics: dict[str, Any]
    path: str
    model: str | None = None  # the model it trains or evaluates (M_yx, M_0, base, ...); None for data stages


@dataclass
class RunContext:
    cfg: DictConfig
    store: ArtifactStore
    job_dir: Path
    tracker: Any = None  # humpback.tracking.Tracker; None in plain function calls
    plan: bool = False  # walk the DAG and compute keys only: nothing runs, no model loads
    records: list[StageRecord] = field(default_factory=list)

    def config(self, *paths: str) -> dict[str, Any]:
        """Resolved plain slices of the config by dotted path: the part of the config a stage's key hashes."""
        out = {}
        for path in paths:
            node = OmegaConf.select(self.cfg, path)
            out[path] = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
        return out

    def stage(self, name: str, stage: str, version: int, config: dict[str, Any], upstream: dict[str, Artifact],
              fn: Callable[[Path], dict[str, Any]], model: str | None = None) -> Artifact:
        """Build (or find in the cache) one artifact; `name` labels this use of `stage` in logs (e.g. gen M_1),
        `model` the model it trains or evaluates (M_1)."""
        if self.plan:
            art = self.store.peek(stage, version, config, upstream)
            self.records.append(StageRecord(name, stage, art.key, art.cached, 0.0, art.metrics, str(art.path), model))
            return art
        art = self.store.build(stage, version, config, upstream, fn)
        secs = float(art.manifest.get("seconds", 0.0))
        if art.cached:
            log.info("%-12s cached    %s (%s)", name, art.key, art.path)
        else:
            log.info("%-12s computed  %s in %.1fs", name, art.key, secs)
        record = StageRecord(name, stage, art.key, art.cached, secs, art.metrics, str(art.path), model)
        self.records.append(record)
        if self.tracker is not None:  # as each stage ends: its artifact, and its curve unless streamed live
            self.tracker.log_stage(record, upstream)
        return art

    def training_logger(self, model: str) -> Any:
        """A Lightning logger that streams `model`'s training curve to the job's tracker; None without one."""
        return self.tracker.training_logger(model) if self.tracker is not None else None
