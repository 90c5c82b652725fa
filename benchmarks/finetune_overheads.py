"""What live W&B curves and periodic checkpoints cost a fine-tune, against a plain one, in one run.

    python benchmarks/finetune_overheads.py BASE_MODEL_DIR SEED_JSONL [--rounds 1]

BASE_MODEL_DIR: a pretrained base (e.g. outputs/cache/pretrain/<key>/model after `humpback`);
SEED_JSONL: its seed set (outputs/cache/seed/<key>/seed.jsonl). Each round fine-tunes M_0 with the
default config three ways, in turn: no logger and no checkpoints (the baseline), checkpoints every
`train.checkpoint_every_n_steps`, and checkpoints plus a W&B offline StageLogger. Prints seconds and
each variant's time / baseline.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from humpback.config.schema import register_configs
from humpback.models.train import finetune
from humpback.paths import conf_dir, register_resolvers
from humpback.tracking.wandb_tracker import Tracker


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("seed")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    register_resolvers()
    register_configs()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="config")
    model_cfg = OmegaConf.to_object(cfg.model)
    train_cfg = dataclasses.replace(OmegaConf.to_object(cfg.train), progress_bar=False)
    rows = [json.loads(line) for line in Path(args.seed).read_text().splitlines() if line.strip()]
    examples = [{"user": r["instruction"], "target": " " + r["output"]} for r in rows]
    times: dict[str, list[float]] = {"baseline": [], "checkpoints": [], "checkpoints + W&B": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name in times:
                tc = train_cfg if name != "baseline" else dataclasses.replace(train_cfg, checkpoint_every_n_steps=0)
                logger = None
                if name == "checkpoints + W&B":
                    tracker = Tracker("offline", Path(tmp) / f"wb{r}", "bench", None, "bench", None, "pipeline", [], {})
                    logger = tracker.training_logger("M_0")
                start = time.perf_counter()
                finetune(args.base, examples, model_cfg, tc, Path(tmp) / f"{name}-{r}", logger=logger)
                times[name].append(time.perf_counter() - start)
                if logger is not None:
                    tracker.finish()
    base = statistics.median(times["baseline"])
    print(f"fine-tune of M_0 on {len(examples)} examples, checkpoint every {train_cfg.checkpoint_every_n_steps} steps, "
          f"{args.rounds} round(s)")
    for name, ts in times.items():
        print(f"{name:18s} {statistics.median(ts):6.1f} s   ratio {statistics.median(ts) / base:.3f}")


if __name__ == "__main__":
    main()
