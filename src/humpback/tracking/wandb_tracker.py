"""One W&B run per Hydra job. Offline unless logged in; any W&B failure is logged and the job goes on."""

from __future__ import annotations

import logging
import netrc
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("humpback")


def _logged_in() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def resolve_mode(mode: str) -> str:
    if mode == "auto":
        return "online" if _logged_in() else "offline"
    if mode not in ("online", "offline", "disabled"):
        raise ValueError(f"logger.wandb.mode={mode!r}: choose auto, online, offline or disabled")
    return mode


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "/"))
        elif isinstance(v, (int, float, str, bool)) or v is None:
            out[key] = v
    return out


class Tracker:
    """Thin, failure-proof wrapper: every method is a no-op once W&B has failed or is disabled."""

    def __init__(self, mode: str, job_dir: Path, project: str, entity: str | None, name: str, group: str | None,
                 job_type: str, tags: list[str], config: dict[str, Any]):
        self.run = None
        self.mode = resolve_mode(mode)
        if self.mode == "disabled":
            return
        try:
            import wandb

            self.run = wandb.init(project=project, entity=entity, name=name, group=group, job_type=job_type, tags=tags,
                                  config=config, dir=str(job_dir), mode=self.mode, save_code=False, reinit="finish_previous",
                                  settings=wandb.Settings(console="off", quiet=True))
        except Exception as e:  # W&B must never fail the job
            log.warning("W&B disabled for this job: %s", e)
            self.run = None

    def _safe(self, what: str, fn) -> None:
        if self.run is None:
            return
        try:
            fn()
        except Exception as e:
            log.warning("W&B %s failed (the job goes on): %s", what, e)

    def log_curve(self, name: str, history: list[dict[str, float]]) -> None:
        def do():
            step = f"train/{name}/step"
            self.run.define_metric(step)
            self.run.define_metric(f"train/{name}/*", step_metric=step)
            for h in history:
                self.run.log({step: h["step"], f"train/{name}/loss": h["loss"], f"train/{name}/lr": h["lr"]})

        self._safe("curve", do)

    def log_table(self, key: str, rows: list[dict[str, Any]]) -> None:
        def do():
            import wandb

            if rows:
                cols = list(rows[0])
                self.run.log({key: wandb.Table(columns=cols, data=[[r.get(c) for c in cols] for r in rows])})

        self._safe("table", do)

    def log_histogram(self, key: str, counts: dict[str, int]) -> None:
        def do():
            import wandb

            table = wandb.Table(columns=["score", "count"], data=[[k, v] for k, v in counts.items()])
            self.run.log({key: wandb.plot.bar(table, "score", "count", title=key)})

        self._safe("histogram", do)

    def summary(self, summary: dict[str, Any]) -> None:
        self._safe("summary", lambda: self.run.summary.update(flatten(summary)))

    def location(self) -> str | None:
        if self.run is None:
            return None
        if self.mode == "offline":
            return str(Path(self.run.dir).parent)
        return self.run.url

    def finish(self) -> None:
        self._safe("finish", lambda: self.run.finish())
