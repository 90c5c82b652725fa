"""Inference engines behind one interface: `format(message)`, `generate(prompts, decode, seed)` and
`next_token_probs(prompts, candidates)`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from humpback.models.config import ModelConfig


def make_engine(model_dir: str, model_cfg: ModelConfig, generate_cfg: Any) -> Any:
    """Engine for a model folder, per `generate.engine`."""
    engine = generate_cfg.engine
    if engine == "hf":
        from humpback.inference.hf_runner import HFRunner

        return HFRunner(model_dir, model_cfg, batch_size=generate_cfg.batch_size)
    if engine == "openai":  # a server that hosts this model folder, e.g. `humpback-serve --model DIR`
        from humpback.inference.openai_engine import OpenAIEngine

        return OpenAIEngine(generate_cfg.base_url, str(Path(model_dir).resolve()), generate_cfg.batch_size)
    if engine == "vllm":
        raise ValueError("generate.engine=vllm needs the vllm extra on a GPU machine (pip install humpback[vllm])")
    raise ValueError(f"generate.engine={engine!r} is not available (hf | openai)")
