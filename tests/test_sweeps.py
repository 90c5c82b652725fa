"""The paper sweeps in sweeps/: every file composes (CLI `--cfg job`, and every grid point at every
scale preset in conf/experiment/), matches its W&B spec, and runs at test scale with shared stages
computed once, under the basic launcher and under joblib (same numbers)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from humpback.config.schema import register_configs
from humpback.paths import conf_dir, register_resolvers
from humpback.report import build_report
from humpback.report.load import canon
from tests.helpers import TEST_SCALE

REPO = Path(__file__).resolve().parents[1]
SWEEPS_DIR = REPO / "sweeps"
SWEEPS = sorted(p.stem for p in SWEEPS_DIR.glob("*.yaml"))
PRESETS = sorted(p.stem for p in (REPO / "conf" / "experiment").glob("*.yaml"))
PAPER_SWEEPS = {"quality_vs_quantity", "data_scaling", "joint_training", "system_prompt", "curator_quality",
                "model_size", "iterations"}
FAST = [o for o in TEST_SCALE if not o.startswith("logger.")] + ["logger.wandb.mode=disabled"]
SHARED = ["world", "seed", "eval_set", "segments", "base", "M_yx", "augment", "M_0", "scores_1", "M_1",
          "gen M_0", "judge M_0", "gen M_1", "judge M_1"]


def sweep_params(name: str) -> dict[str, list[str]]:
    params = yaml.safe_load((SWEEPS_DIR / f"{name}.yaml").read_text())["hydra"]["sweeper"]["params"]
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    return {o.get_key_element(): list(o.sweep_string_iterator()) for o in parsed}


def humpback(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "humpback.cli.main", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def multirun(name: str, tmp: Path, cache: Path, *overrides: str) -> list[dict]:
    sweep_dir = tmp / f"{name}-mr"
    done = humpback("-m", "-cd", "sweeps", "-cn", name, *FAST, f"cache_dir={cache}", f"hydra.sweep.dir={sweep_dir}",
                    *overrides)
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = sorted((p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))
    return [json.loads((j / "summary.json").read_text()) for j in jobs]


def smallest(name: str) -> list[str]:
    """The sweep's first value of every swept key: its smallest instance, one job."""
    return [f"{k}={v[0]}" for k, v in sweep_params(name).items()]


def test_every_paper_experiment_has_a_sweep_and_a_wandb_spec():
    assert set(SWEEPS) == PAPER_SWEEPS
    for name in SWEEPS:
        text = (SWEEPS_DIR / f"{name}.yaml").read_text()
        assert f"#   humpback -m -cd sweeps -cn {name} " in text, f"{name}: the header lacks the exact command"
        spec = yaml.safe_load((SWEEPS_DIR / "wandb" / f"{name}.yaml").read_text())
        hydra_grid = {k: [canon(v) for v in vs] for k, vs in sweep_params(name).items()}
        wandb_grid = {k: [canon(v) for v in p["values"]] for k, p in spec["parameters"].items()}
        assert wandb_grid == hydra_grid, name
        assert spec["method"] == "grid" and spec["command"][-5:] == ["-cd", "sweeps", "-cn", name, "${args_no_hyphens}"]


@pytest.mark.parametrize("name", SWEEPS)
def test_sweep_composes_with_cfg_job(name):
    done = humpback("-cd", "sweeps", "-cn", name, "--cfg", "job", timeout=120)
    assert done.returncode == 0, done.stderr
    cfg = OmegaConf.create(done.stdout)
    assert cfg.experiment_name == "sweep_cpu" and list(cfg.logger.wandb.tags) == [name]


def _compose(name: str, *overrides: str):
    return compose(config_name=name, overrides=[f"hydra.searchpath=[file://{conf_dir()}]", *overrides])


def test_every_swept_value_fits_the_schema_and_sweeps_compose_at_every_scale():
    """Each swept value against the structured schema; each scale preset in conf/experiment/ (GPU toy world,
    paper_7b, ...) composed under a plain sweep and under the one that adds a config group."""
    register_resolvers()
    register_configs()
    with initialize_config_dir(config_dir=str(SWEEPS_DIR), version_base="1.3"):
        for name in SWEEPS:
            cfg = _compose(name)
            for key, values in sweep_params(name).items():
                for value in values:
                    if "@" in key:  # a config group option (student_model@roles.student=scratch_xs)
                        group, package = key.split("@")
                        assert (SWEEPS_DIR / group / f"{value}.yaml").is_file(), (name, key, value)
                        continue
                    point = OmegaConf.merge(cfg, OmegaConf.from_dotlist([f"{key}={value}"]))  # type-checked
                    assert canon(OmegaConf.select(point, key)) == canon(value), (name, key, value)
        for name, override in [("quality_vs_quantity", "student.size=25"),
                               ("model_size", "student_model@roles.student=scratch_xs")]:
            cpu = OmegaConf.to_container(_compose(name, override))
            for preset in PRESETS:
                cfg = _compose(name, f"experiment={preset}", override)
                assert (OmegaConf.to_container(cfg) == cpu) == (preset == "sweep_cpu"), (name, preset)
                assert list(cfg.logger.wandb.tags) == [name] and cfg.student.size in (25, None)
        assert _compose("model_size", "student_model@roles.student=scratch_s").roles.student.scratch.hidden_size == 96


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("sweep_cache")


@pytest.mark.slow
def test_tiny_multirun_shares_upstream_stages_and_reports(tmp_path, shared_cache):
    first, second = multirun("quality_vs_quantity", tmp_path, shared_cache, "student.threshold=null", "student.size=4,8")
    assert first["computed_stages"] == len(first["stages"])
    by_name = {s["name"]: s for s in second["stages"]}
    assert all(by_name[n]["cached"] for n in SHARED), [n for n in SHARED if not by_name[n]["cached"]]
    assert {s["name"] for s in second["stages"] if not s["cached"]} == {"M_2", "gen M_2", "judge M_2"}
    assert [by_name[n]["key"] for n in SHARED] == [next(s["key"] for s in first["stages"] if s["name"] == n) for n in SHARED]
    assert (first["axes"]["augmented_size"], second["axes"]["augmented_size"]) == (4, 8)
    report = build_report([tmp_path / "quality_vs_quantity-mr"], tmp_path / "report")
    table = (tmp_path / "report" / "quality_vs_quantity.md").read_text()
    cells = [f"{s['models']['M_2']['win_rate']:.2f} ± {s['models']['M_2']['standard_error']:.2f}" for s in (first, second)]
    assert f"| no curation | {cells[0]} | {cells[1]} |" in table
    assert (tmp_path / "report" / "quality_vs_quantity.png") in report.files


@pytest.mark.slow
def test_joblib_launcher_gives_the_same_numbers_and_builds_each_stage_once(tmp_path, shared_cache):
    basic = multirun("quality_vs_quantity", tmp_path / "b", shared_cache, "student.threshold=null", "student.size=4,8")
    parallel = multirun("quality_vs_quantity", tmp_path / "p", tmp_path / "fresh_cache", "student.threshold=null",
                        "student.size=4,8", "hydra/launcher=local_parallel")
    for b, p in zip(basic, parallel):
        assert p["axes"] == b["axes"]
        assert {n: m["win_rate"] for n, m in p["models"].items()} == {n: m["win_rate"] for n, m in b["models"].items()}
        keys = lambda s: {x["name"]: x["key"] for x in s["stages"] if x["stage"] != "judge"}  # judge keys hold cache_dir
        assert keys(p) == keys(b)
    built: dict[str, int] = {}
    for s in parallel:
        for x in s["stages"]:
            built[x["key"]] = built.get(x["key"], 0) + (not x["cached"])
    assert set(built.values()) == {1}, {k: v for k, v in built.items() if v != 1}  # raced for, built once


@pytest.mark.slow
@pytest.mark.parametrize("name", [s for s in SWEEPS if s != "quality_vs_quantity"])
def test_smallest_instance_runs(name, tmp_path, shared_cache):
    [summary] = multirun(name, tmp_path, shared_cache, *smallest(name))
    final = summary["models"][summary["final_model"]]
    assert final["win_rate"] is not None and final["n_total"] == 8
    for key, values in sweep_params(name).items():
        if "@" not in key:
            axis = {"student.threshold": "curation_threshold", "student.size": "augmented_size", "student.tags": "train_tags",
                    "eval.inference_tags": "inference_tags", "curate.iterations": "iterations", "student.seed_data": "seed_data",
                    "student.curator": "curator"}[key]
            assert canon(summary["axes"][axis]) == canon(values[0])
