"""How much a rerun with an unchanged config saves: the same pipeline twice in one process, the second
time against the warm artifact cache. Prints both wall times and their ratio.

    python benchmarks/rerun_speed.py                 # test scale (seconds)
    python benchmarks/rerun_speed.py --default       # the README's default pipeline (minutes)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from humpback.app import run_job  # noqa: E402
from tests.helpers import TEST_SCALE, compose_config  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--default", action="store_true", help="the default pipeline instead of the test scale")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="humpback-bench-"))
    overrides = [] if args.default else list(TEST_SCALE)
    cfg = compose_config([*overrides, f"cache_dir={root / 'cache'}", "logger.wandb.mode=disabled"])
    times = []
    for i in range(2):
        start = time.perf_counter()
        summary = run_job(cfg, job_dir=str(root / f"job{i}"))
        times.append(time.perf_counter() - start)
        print(f"run {i + 1}: {times[-1]:.1f}s, {summary['computed_stages']} computed, {summary['cached_stages']} cached")
    print(f"rerun / first = {times[1] / times[0]:.3f}")


if __name__ == "__main__":
    main()
