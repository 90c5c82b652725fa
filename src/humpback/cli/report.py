"""`humpback-report DIR [DIR ...]`: the paper's tables (markdown + CSV) and figures (PNG) from the
summary.json of every job under one or more multirun dirs.

  humpback-report outputs/multirun/2026-11-26/quality_vs_quantity_07-43-03
  humpback-report outputs/multirun/2026-11-26/reproduce_cpu_09-00-00     # every contrast, paired over seeds
  humpback-report outputs/multirun/2026-11-26/*_* --out paper_tables --wandb

Jobs that differ only in `seed` are replicates: tables show their mean ± SE across seeds, and contrasts
are paired differences over (seed, prompt) (docs/sweeps.md).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="humpback-report", description="Tables and figures of the Humpback paper from "
                                "humpback runs: reads every summary.json under the given dirs.")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="multirun dirs (or any folders holding job dirs)")
    p.add_argument("--out", help="where to write (default: DIR/report of the first DIR)")
    p.add_argument("--wandb", action="store_true", help="also log the tables and figures to a W&B report run")
    p.add_argument("--wandb-project", default="humpback")
    p.add_argument("--wandb-entity", default=None)
    p.add_argument("--wandb-mode", default="auto", choices=["auto", "online", "offline"],
                   help="auto: online when logged in, else offline")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from humpback.report.build import build_report

    try:
        report = build_report(args.dirs, args.out)
    except (FileNotFoundError, NotADirectoryError) as e:
        print(f"humpback-report: {e}", file=sys.stderr)
        return 2
    for g in report.groups:
        print(f"{g.path}: {len(g.jobs)} jobs" + (f" of {g.expected_points}" if g.expected_points else "")
              + f" (sweep: {g.sweep or 'unknown'})")
    for path in report.files:
        print(f"wrote {path}")
    if args.wandb:
        from humpback.tracking.wandb_report import log_report

        where = log_report(report, args.wandb_project, args.wandb_entity, args.wandb_mode)
        print(f"W&B: {where or 'not logged (see warning above)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
