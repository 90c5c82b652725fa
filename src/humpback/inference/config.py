"""Decoding configs (paper: nucleus sampling T=0.7, top-p 0.9 for answers; instruction generation and
curation decoding unreported, the follow-up paper uses T=1.0, top-p 0.9)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DecodeConfig:
    temperature: float = 0.7  # 0 -> greedy
    top_p: float = 0.9
    max_new_tokens: int = 512


@dataclass
class GenerateConfig:
    engine: str = "hf"  # hf (transformers) | vllm (GPU extra) | openai (any OpenAI-compatible server)
    batch_size: int = 16
    shard_size: int = 256  # rows per shard file: a crashed stage resumes from its finished shards
    base_url: str = "http://127.0.0.1:8000/v1"  # for engine=openai; the key comes from OPENAI_API_KEY only
    answer: DecodeConfig = field(default_factory=DecodeConfig)  # eval answers (paper)
    instruction: DecodeConfig = field(default_factory=lambda: DecodeConfig(temperature=1.0, top_p=0.9, max_new_tokens=128))  # unreported
    seed: int = 0  # sampling seed; a job sets it from the top-level `seed` (config/schema.py)
