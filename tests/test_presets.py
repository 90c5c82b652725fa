"""The paper presets (experiment=paper_7b/33b/65b) and toy_gpu: they compose through the real CLI with
no network, hold the paper's values, differ only where they should, and plan without data or weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from humpback.data.toyworld.config import GPU_PRESET
from tests.helpers import compose_config

REPO = Path(__file__).resolve().parents[1]
PAPER_PRESETS = ["paper_7b", "paper_33b", "paper_65b"]
INPUT_ENV = ("HUMPBACK_WARC", "HUMPBACK_ALPACA_EVAL", "HUMPBACK_SEED", "HUMPBACK_MODEL")

# Loaded first by every subprocess below (PYTHONPATH): any TCP/UDP connection or DNS lookup fails loudly.
NO_NETWORK = '''
import socket
def _blocked(*args, **kwargs):
    raise OSError("network blocked by tests/test_presets.py")
_connect = socket.socket.connect
def _connect_local_only(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _blocked()
    return _connect(self, address)
socket.socket.connect = _connect_local_only
socket.socket.connect_ex = _connect_local_only
socket.getaddrinfo = _blocked
'''


@pytest.fixture(scope="module")
def offline_env(tmp_path_factory) -> dict[str, str]:
    guard = tmp_path_factory.mktemp("no_network")
    (guard / "sitecustomize.py").write_text(NO_NETWORK)
    env = {k: v for k, v in os.environ.items() if k not in INPUT_ENV and not k.startswith("OPENAI_")}
    env.update(PYTHONPATH=os.pathsep.join([str(guard), str(REPO / "src"), str(REPO)]), HF_HUB_OFFLINE="1",
               HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", WANDB_MODE="disabled")
    return env


def humpback(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "humpback.cli.main", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


def resolved(overrides: list[str]) -> dict:
    return OmegaConf.to_container(compose_config(overrides), resolve=True)


def flat(tree: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


@pytest.fixture
def no_input_env(monkeypatch):
    for name in INPUT_ENV:
        monkeypatch.delenv(name, raising=False)


def test_the_network_guard_blocks_connections(offline_env):
    probe = "import socket; socket.create_connection(('192.0.2.1', 80), timeout=1)"
    r = subprocess.run([sys.executable, "-c", probe], env=offline_env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "network blocked by tests/test_presets.py" in r.stderr


@pytest.mark.parametrize("preset", [*PAPER_PRESETS, "toy_gpu"])
def test_preset_composes_through_the_cli_offline(offline_env, preset):
    r = humpback(offline_env, f"experiment={preset}", "--cfg", "job", "--resolve")
    assert r.returncode == 0, r.stderr
    cfg = yaml.safe_load(r.stdout)
    assert cfg["experiment_name"] == preset
    if preset != "toy_gpu":  # unset user inputs compose as readable placeholders
        assert cfg["data"]["corpus"]["paths"] == ["???"] and cfg["eval"]["set"]["path"] == "???"
        assert cfg["data"]["seed"]["path"] is None  # OASST from the hub unless HUMPBACK_SEED is set


def test_cli_reads_input_paths_from_the_environment(offline_env):
    env = {**offline_env, "HUMPBACK_WARC": "/data/cc/*.warc.gz", "HUMPBACK_ALPACA_EVAL": "/data/alpaca_eval.json",
           "HUMPBACK_SEED": "/data/oasst/messages.jsonl.gz", "HUMPBACK_MODEL": "/models/llama-7b"}
    r = humpback(env, "experiment=paper_7b", "--cfg", "job", "--resolve")
    assert r.returncode == 0, r.stderr
    cfg = yaml.safe_load(r.stdout)
    assert cfg["data"]["corpus"]["paths"] == ["/data/cc/*.warc.gz"]
    assert cfg["eval"]["set"]["path"] == "/data/alpaca_eval.json"
    assert cfg["data"]["seed"]["path"] == "/data/oasst/messages.jsonl.gz"
    assert cfg["model"]["path"] == "/models/llama-7b"


def test_paper_7b_holds_the_paper_values(no_input_env):
    c = resolved(["experiment=paper_7b"])
    assert c["data"]["source"] == "files"
    assert {k: c["data"]["seed"][k] for k in ("format", "n", "lang", "turns")} == {"format": "oasst", "n": 3200, "lang": "en",
                                                                                "turns": "first"}
    assert c["data"]["corpus"]["format"] == "warc"
    assert (c["data"]["segment"]["min_chars"], c["data"]["segment"]["max_chars"]) == (600, 3000)
    assert c["model"] == {**c["model"], "source": "hub", "path": "meta-llama/Llama-2-7b-hf", "dtype": "bfloat16",
                          "prompt_template": "inst", "trust_remote_code": False}
    assert not c["model"]["lora"]["enabled"]
    t = c["train"]
    assert (t["lr"], t["lr_end"], t["weight_decay"], t["dropout"]) == (1e-5, 9e-6, 0.1, 0.1)
    assert (t["batch_size"], t["small_data_batch_size"], t["small_data_threshold"], t["steps"]) == (32, 8, 3000, None)
    assert t["schedule"] == {"100": [8, 30], "800": [8, 300], "1600": [8, 600], "3200": [32, 500], "6400": [32, 600],
                             "12800": [32, 600], "25600": [32, 1200], "51200": [32, 1600]}  # paper Table 18
    assert (c["generate"]["engine"], c["generate"]["answer"]["temperature"], c["generate"]["answer"]["top_p"]) == ("hf", 0.7, 0.9)
    assert (c["curate"]["iterations"], c["curate"]["mode"], c["curate"]["threshold"]) == (2, "generate", 5.0)
    assert (c["student"]["threshold"], c["student"]["size"], c["student"]["tags"]) == (5.0, None, True)
    assert c["eval"]["set"]["format"] == "alpaca_eval" and c["eval"]["set"]["split"] == "all"
    assert c["eval"]["inference_tags"] == "S_a+S_w"
    j = c["judge"]
    assert (j["kind"], j["model"], j["prompt_format"], j["api_key_env"]) == ("api", "gpt-4-0613", "ranking", "OPENAI_API_KEY")
    assert "key" not in json.dumps({k: v for k, v in j.items() if k != "api_key_env"}).lower()


@pytest.mark.parametrize("preset,model,micro,gen_batch", [("paper_33b", "huggyllama/llama-30b", 2, 16),
                                                          ("paper_65b", "huggyllama/llama-65b", 1, 8)])
def test_bigger_presets_differ_only_in_model_and_batch(no_input_env, preset, model, micro, gen_batch):
    base, big = flat(resolved(["experiment=paper_7b"])), flat(resolved([f"experiment={preset}"]))
    assert base.keys() == big.keys()
    changed = {k: (base[k], big[k]) for k in base if base[k] != big[k]}
    assert changed == {
        "experiment_name": ("paper_7b", preset),
        "model.name": ("llama-7b", preset.replace("paper_", "llama-")),
        "model.path": ("meta-llama/Llama-2-7b-hf", model),
        "train.micro_batch_size": (4, micro),
        "generate.batch_size": (32, gen_batch),
    }


def test_toy_gpu_is_the_toy_world_at_gpu_scale():
    c = resolved(["experiment=toy_gpu"])
    assert {k: c["data"]["world"][k] for k in GPU_PRESET} == GPU_PRESET
    assert (c["data"]["source"], c["model"]["source"], c["model"]["name"], c["judge"]["kind"]) == (
        "toyworld", "scratch", "scratch-small", "oracle")
    assert c["model"]["scratch"]["hidden_size"] == 512


def test_alpaca_eval_preset_reads_805_prompts_with_davinci_references(shared_data):
    from humpback.data.evalsets import load_eval_set

    cfg = compose_config(["experiment=paper_7b", f"eval.set.path={shared_data / 'alpaca_eval' / 'alpaca_eval_davinci003.jsonl'}"])
    rows = load_eval_set(OmegaConf.to_object(cfg.eval.set))
    assert len(rows) == 805
    assert {r["generator"] for r in rows} == {"text_davinci_003"} and all(r["output"] for r in rows)


def test_paper_seed_settings_select_first_turn_english_rank0_pairs(shared_data):
    """The preset's OASST selection on real Open Assistant trees (the hub's flat table is format=oasst; a
    tree dump like this one is format=oasst_tree): 100 trees -> 94 pairs, every exclusion counted."""
    from humpback.data.seed import load_seed_with_stats

    cfg = compose_config(["experiment=paper_7b", "data.seed.format=oasst_tree",
                          f"data.seed.path={shared_data / 'oasst' / 'en_100_tree.jsonl'}"])
    rows, stats = load_seed_with_stats(OmegaConf.to_object(cfg.data.seed))
    assert (stats["trees"], stats["returned"], stats["excluded"]) == (100, 94, {"no_rank0_reply": 1, "prompt_synthetic": 5})
    assert len(rows) == 94 and len({r["id"] for r in rows}) == 94


def test_paper_7b_plans_without_network_data_or_weights(offline_env, tmp_path):
    """The plan hashes config only: input paths that do not exist and a model folder whose config.json is
    not even JSON (any load would fail) still give a full plan, offline."""
    stand_in = tmp_path / "llama-stand-in"
    stand_in.mkdir()
    (stand_in / "config.json").write_text("not a model config: reading it would fail")
    run_dir = tmp_path / "run"
    r = humpback(offline_env, "experiment=paper_7b", "plan=true", "model.source=local", f"model.path={stand_in}",
                 "data.corpus.paths=[/nonexistent/cc/*.warc.gz]", "eval.set.path=/nonexistent/alpaca_eval.json",
                 "data.seed.path=/nonexistent/oasst.jsonl", f"cache_dir={tmp_path / 'cache'}", f"hydra.run.dir={run_dir}")
    assert "humpback plan: paper_7b" in r.stdout, r.stderr
    assert "input paths not set" not in r.stdout + r.stderr
    plan = json.loads((run_dir / "plan.json").read_text())
    assert [s["name"] for s in plan["stages"]] == [
        "seed", "eval_set", "segments", "base llama-7b", "M_yx", "augment", "M_0", "scores_1", "M_1", "scores_2", "M_2",
        "gen M_0", "judge M_0", "gen M_1", "judge M_1", "gen M_2", "judge M_2"]
    assert not any(s["cached"] for s in plan["stages"])
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("manifest.json"))
    assert r.returncode == 0, r.stderr


def test_paper_7b_plan_warns_about_unset_inputs_and_a_run_stops(no_input_env, tmp_path, caplog):
    from humpback.app import run_job

    cfg = compose_config(["experiment=paper_7b", "plan=true", f"cache_dir={tmp_path / 'cache'}"])
    with caplog.at_level("WARNING", logger="humpback"):
        run_job(cfg, job_dir=str(tmp_path / "plan"))
    assert ("input paths not set: data.corpus.paths (set $HUMPBACK_WARC or override data.corpus.paths=...); "
            "eval.set.path (set $HUMPBACK_ALPACA_EVAL or override eval.set.path=...)") in caplog.text
    run = compose_config(["experiment=paper_7b", "logger=none", f"cache_dir={tmp_path / 'cache'}"])
    with pytest.raises(ValueError, match=r"input paths not set: data\.corpus\.paths .*HUMPBACK_WARC.*eval\.set\.path"):
        run_job(run, job_dir=str(tmp_path / "run"))
    assert not any((tmp_path / "cache").rglob("manifest.json"))  # nothing ran


def test_toy_cpu_focused_is_toy_cpu_long_with_unpadded_blocks_gentler_fine_tunes_and_greedy_ratings() -> None:
    long, focused = flat(resolved(["experiment=toy_cpu_long"])), flat(resolved(["experiment=toy_cpu_focused"]))
    assert long.keys() == focused.keys()
    assert {k: (long[k], focused[k]) for k in long if long[k] != focused[k]} == {
        "experiment_name": ("toy_cpu_long", "toy_cpu_focused"),
        "data.world.min_block_chars": (250, 100),
        "data.segment.min_chars": (200, 100),
        "data.world.articles_per_entity": (3, 6),
        "train.lr": (1e-3, 3e-4),
        "train.lr_end": (1e-4, 3e-5),
        "curate.decode.temperature": (1.0, 0.0),
        "eval.inference_tags": ("S_a+S_w", "S_a"),
    }
