"""`humpback-report --wandb`: the report's tables and figures in one W&B run (job_type "report").
Online when logged in, offline otherwise; any W&B failure is logged and the report stands."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Optional

from humpback.report.build import Report

log = logging.getLogger("humpback.report")


def log_report(report: Report, project: str = "humpback", entity: Optional[str] = None, mode: str = "auto",
               name: Optional[str] = None, group: Optional[str] = None) -> Optional[str]:
    """Log every table (as a W&B Table) and figure (as an Image); returns the run's URL or offline dir."""
    try:
        import wandb

        from humpback.tracking.wandb_tracker import resolve_mode

        mode = resolve_mode(mode)
        if mode == "disabled":
            return None
        run = wandb.init(project=project, entity=entity, name=name or f"report {report.out.parent.name}", group=group,
                         job_type="report", dir=str(report.out), mode=mode, reinit="finish_previous",
                         config={"sweeps": [str(g.path) for g in report.groups]},
                         settings=wandb.Settings(console="off", quiet=True))
        for t in report.tables:
            with (report.out / f"{t.name}.csv").open(newline="") as f:
                rows = list(csv.reader(f))
            if rows:
                run.log({f"tables/{t.name}": wandb.Table(columns=rows[0], data=rows[1:])})
            for fig in t.figures:
                if Path(fig).is_file():
                    run.log({f"figures/{Path(fig).stem}": wandb.Image(str(fig), caption=t.title)})
        where = str(Path(run.dir).parent) if mode == "offline" else run.url
        run.finish()
        return where
    except Exception as e:  # the report on disk is the product; W&B is a copy
        log.warning("W&B logging of the report failed (the report files stand): %s", e)
        return None
