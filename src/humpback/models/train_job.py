"""One multi-process fine-tune as its own command (see train._finetune_in_child):

    python -m humpback.models.train_job JOB_DIR      # JOB_DIR holds job.json and examples.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from humpback.data.records import read_jsonl
from humpback.models.config import LoraConfig, ModelConfig, ScratchModelConfig, TrainConfig
from humpback.models.train import finetune


def main(job_dir: str) -> None:
    job = json.loads((Path(job_dir) / "job.json").read_text())
    m = job["model"]
    model_cfg = ModelConfig(**{**m, "scratch": ScratchModelConfig(**m["scratch"]), "lora": LoraConfig(**m["lora"])})
    finetune(job["base"], read_jsonl(Path(job_dir) / "examples.jsonl"), model_cfg, TrainConfig(**job["train"]), Path(job["out"]))


if __name__ == "__main__":
    from humpback.quiet import quiet_libraries

    quiet_libraries()
    main(sys.argv[1])
