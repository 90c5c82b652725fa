"""Inference engines behind one interface: `generate(prompts, decode, seed)` and
`next_token_probs(prompts, candidates)`."""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf


def make_engine(model_dir: str, cfg: Any) -> Any:
    """Engine for a model folder, per `cfg.generate.engine`."""
    from humpback.models.config import ModelConfig

    model_cfg = OmegaConf.to_object(cfg.model) if OmegaConf.is_config(cfg.model) else cfg.model
    engine = cfg.generate.engine
    if engine == "hf":
        from humpback.inference.hf_engine import HFEngine

        return HFEngine(model_dir, model_cfg if isinstance(model_cfg, ModelConfig) else ModelConfig(**model_cfg), cfg.generate.batch_size)
    if engine == "openai":  # a server that hosts this model folder, e.g. `humpback-serve --model DIR`
        from pathlib import Path

        from humpback.inference.openai_engine import OpenAIEngine

        return OpenAIEngine(cfg.generate.base_url, str(Path(model_dir).resolve()), cfg.generate.batch_size)
    raise ValueError(f"generate.engine={engine!r} is not available here (hf | openai)")
