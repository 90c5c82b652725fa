"""Server engines: a stage starts OpenAI-compatible servers for its model, sends its batches to them, and
stops them after. humpback-serve stands in for vLLM and SGLang (same launcher code, another command)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from humpback.app import run_job
from humpback.inference import make_engine
from humpback.inference.config import DecodeConfig, GenerateConfig, ServerSpec
from humpback.inference.servers import ServerPool, missing_command
from humpback.models.config import ModelConfig
from humpback.validate import ConfigError
from tests.helpers import TEST_SCALE, compose_config

GENERATED = {"augment": "candidates.jsonl", "curate": "scores.jsonl", "generate": "outputs.jsonl"}


def _stage_files(summary: dict) -> dict[str, bytes]:
    """Every file a generating stage wrote, by the stage's name in the run."""
    cache = Path(summary["cache_dir"])
    return {s["name"]: (cache / s["stage"] / s["key"] / GENERATED[s["stage"]]).read_bytes()
            for s in summary["stages"] if s["stage"] in GENERATED}


@pytest.mark.slow
def test_pipeline_through_humpback_serve_equals_the_in_process_runner(tmp_path: Path) -> None:
    # Greedy answers and instructions (generate=tiny_cpu); ratings sample, under the same per-batch seeds.
    common = [*TEST_SCALE, f"cache_dir={tmp_path / 'cache'}", "generate.batch_size=4", "logger.wandb.mode=disabled"]
    local = run_job(compose_config(common), job_dir=str(tmp_path / "hf"))
    served = run_job(compose_config([*common, "generate.engine=humpback-serve", "generate.data_parallel=2"]),
                     job_dir=str(tmp_path / "served"))
    ours, theirs = _stage_files(local), _stage_files(served)
    assert set(ours) == set(theirs) and len(ours) >= 6  # augment, scores_1, gen M_0..M_2 at least
    assert {name: theirs[name] == ours[name] for name in ours} == dict.fromkeys(ours, True)
    def scores(summary: dict) -> dict:
        return {name: (m.get("win_rate"), m.get("standard_error")) for name, m in summary["models"].items()}

    assert scores(local) == scores(served) and local["curation"] == served["curation"]
    engine_keyed = [s for s in served["stages"] if s["stage"] in GENERATED]
    assert all(s["key"] != next(t["key"] for t in local["stages"] if t["name"] == s["name"]) for s in engine_keyed)


def test_a_missing_server_command_stops_the_run_before_any_stage(tmp_path: Path) -> None:
    cfg = compose_config([*TEST_SCALE, f"cache_dir={tmp_path / 'cache'}", "generate.engine=vllm",
                          "generate.servers.vllm.executable=/nowhere/venv/bin/vllm"])
    with pytest.raises(ConfigError, match=r"generate.engine=vllm: the command '/nowhere/venv/bin/vllm' is not found"):
        run_job(cfg, job_dir=str(tmp_path / "job"))
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())  # nothing was trained
    assert "generate.servers.sglang.executable" in missing_command("sglang", ServerSpec("no-such-python"))
    assert missing_command("humpback-serve", GenerateConfig().servers["humpback-serve"]) is None  # beside this python


def test_a_server_that_dies_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    spec = ServerSpec("python3", ["-c", "import sys; print('cannot load {model}', sys.argv[1:]); sys.exit(3)"],
                      extra_args=["--tp", "{tensor_parallel}"], startup_timeout_s=30)
    with pytest.raises(RuntimeError, match=r"(?s)exited with code 3 before it was ready.*cannot load /models/x \['--tp', '1'\]"):
        ServerPool("vllm", spec, "/models/x").start()


def test_data_parallel_servers_share_the_batches(judge_model_dir: Path) -> None:
    gen = OmegaConf.structured(GenerateConfig(engine="humpback-serve", batch_size=2, data_parallel=2))
    engine = make_engine(str(judge_model_dir), ModelConfig(), gen)
    assert pickle.loads(pickle.dumps(engine))._impl is None  # a worker rebuilds it (and starts its own servers)
    with engine:
        texts = engine.generate(["a", "bb", "ccc", "dddd"], DecodeConfig(temperature=0.0, max_new_tokens=2))
        pool = engine._pool
        assert len(pool.urls) == 2 and all(p.poll() is None for p in pool.procs)
        stats = [_stats(url) for url in pool.urls]
    assert texts == ["MM"] * 4
    assert [s["completions"] for s in stats] == [1, 1]  # two batches of two, one per server
    assert all(p.poll() is not None for p in pool.procs)  # stopped with the stage


def _stats(url: str) -> dict:
    import json
    import urllib.request

    with urllib.request.urlopen(url.removesuffix("/v1") + "/humpback/stats", timeout=5) as r:
        return json.loads(r.read())
