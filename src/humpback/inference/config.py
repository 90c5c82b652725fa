"""Decoding configs (paper: nucleus sampling T=0.7, top-p 0.9 for answers; instruction generation and
curation decoding unreported, the follow-up paper uses T=1.0, top-p 0.9)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class DecodeConfig:
    temperature: float = 0.7  # 0 -> greedy
    top_p: float = 0.9
    max_new_tokens: int = 512


@dataclass
class ServerSpec:
    """How to start one OpenAI-compatible server for a model folder. `args` may hold {model} (the folder),
    {host}, {port}, {batch_size} (generate.batch_size) and {tensor_parallel} (generate.tensor_parallel).
    vLLM and SGLang need their own venvs (their torch and transformers pins differ from ours): point
    `executable` at that venv's command, e.g. generate.servers.vllm.executable=/opt/vllm/bin/vllm."""
    executable: str = ""
    args: list[str] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)  # appended to args: your flags, e.g. [--max-model-len, "4096"]
    env: dict[str, str] = field(default_factory=dict)  # added to this process's environment (never a key: use the env)
    health_path: str = "/health"  # polled until 200 before the first request
    startup_timeout_s: float = 900.0  # a 70B model can take minutes to load


def _server_presets() -> dict[str, ServerSpec]:
    common = ["--host", "{host}", "--port", "{port}"]
    return {
        "humpback-serve": ServerSpec("humpback-serve", ["--model", "{model}", *common, "--batch-size", "{batch_size}"],
                                     startup_timeout_s=300.0),
        "vllm": ServerSpec("vllm", ["serve", "{model}", *common, "--tensor-parallel-size", "{tensor_parallel}",
                                    "--max-logprobs", "20"]),
        "sglang": ServerSpec("python3", ["-m", "sglang.launch_server", "--model-path", "{model}", *common,
                                         "--tp-size", "{tensor_parallel}"]),
    }


SERVER_ENGINES = tuple(_server_presets())  # engines that start a server per stage (inference.servers)


@dataclass
class GenerateConfig:
    # hf: in process (inference.hf_runner) | openai: an OpenAI-compatible server already running at base_url |
    # humpback-serve, vllm, sglang: a server started for each stage's model from `servers`, stopped after it
    engine: str = "hf"
    batch_size: int = 16  # prompts per forward pass (in process), per request (server engines)
    shard_size: int = 256  # rows per shard file: a crashed stage resumes from its finished shards
    base_url: str = "http://127.0.0.1:8000/v1"  # for engine=openai; the key comes from OPENAI_API_KEY only
    tensor_parallel: int = 1  # GPUs per server (vllm / sglang); changes float results, so it is in the key
    data_parallel: int = 1  # servers per stage, each on its own tensor_parallel GPUs; requests spread over them
    max_concurrency: int = 4  # requests in flight per server
    servers: dict[str, ServerSpec] = field(default_factory=_server_presets)
    answer: DecodeConfig = field(default_factory=DecodeConfig)  # eval answers (paper)
    instruction: DecodeConfig = field(default_factory=lambda: DecodeConfig(temperature=1.0, top_p=0.9, max_new_tokens=128))  # unreported
    seed: int = 0  # sampling seed; a job sets it from the top-level `seed` (config/schema.py)
