"""One long stage, curation by generate-and-parse (the paper's: a sampled rating per pair), computed
in this process and by 2 local shard workers (`workers.count=2 workers.launcher=local`), in one run.

    python benchmarks/sharded_stage.py [SUMMARY_JSON] [--shard-size 64] [--workers 2]

SUMMARY_JSON: a finished toy-world job's summary.json (default: the newest under outputs/runs/); its cache
gives the curator M_0 and the candidates A. Both runs use the stage's own rating function and shard
layout, and write to fresh folders; prints seconds, the ratio, and whether the shard files are identical.
The workers' time includes starting them (a Python process each, importing torch and loading the model).
"""

from __future__ import annotations

import argparse
import filecmp
import tempfile
import time
from pathlib import Path

from omegaconf import OmegaConf

from humpback.data.records import read_jsonl
from humpback.inference import make_engine
from humpback.stages import files
from humpback.stages.curate import rate_by_generation
from humpback.stages.sharded import map_in_shards

from finished_job import load_job  # noqa: E402  (benchmarks/finished_job.py, beside this script)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("summary", nargs="?", type=Path)
    ap.add_argument("--shard-size", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    job = load_job(args.summary)
    summary_path, art, cfg = job.path, job.artifacts, job.cfg
    cands = read_jsonl(art["augment"] / files.CANDIDATES)
    engine = make_engine(str(art["M_0"] / files.MODEL), OmegaConf.to_object(cfg.model), cfg.generate)

    def rate(chunk: list[dict]) -> list[dict]:
        return rate_by_generation(engine, chunk, cfg)

    seconds, folders = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, count in (("1 process", 1), (f"{args.workers} workers", args.workers)):
            workers = OmegaConf.merge(cfg.workers, {"count": count, "launcher": "local", "min_rows": 0})
            folders[label] = Path(tmp) / label.replace(" ", "_")
            start = time.perf_counter()
            with engine:
                _, stats = map_in_shards(cands, rate, folders[label], f"curate ({label})", args.shard_size, workers=workers)
            seconds[label] = time.perf_counter() - start
            print(f"  {label:10s} {seconds[label]:7.2f} s  {stats}")
        one, many = (folders[k] / "shards" for k in seconds)
        names = sorted(p.name for p in one.glob("*.jsonl"))
        same = sorted(p.name for p in many.glob("*.jsonl")) == names and all(filecmp.cmp(one / n, many / n, shallow=False)
                                                                            for n in names)
    first, second = seconds
    print(f"{len(cands)} pairs in {len(names)} shards of {args.shard_size}, curator M_0 ({summary_path})")
    print(f"  {second} / {first}: {seconds[first] / seconds[second]:.2f}x; identical shard files: {same}")


if __name__ == "__main__":
    main()
