"""The paper sweeps in sweeps/: every file composes (CLI `--cfg job`, every swept value against the
schema, every scale preset in conf/experiment/), matches its W&B spec, and runs at test scale with the
shared stages computed once, under the basic launcher and under joblib (same numbers)."""

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
from humpback.report.load import AXIS_OF_OVERRIDE, canon, load_job
from tests.helpers import TEST_SCALE

REPO = Path(__file__).resolve().parents[1]
SWEEPS_DIR = REPO / "sweeps"
SWEEPS = sorted(p.stem for p in SWEEPS_DIR.glob("*.yaml") if p.stem != "reproduce_cpu")  # its own tests: test_reproduce_sweep.py
PRESETS = sorted(p.stem for p in (REPO / "conf" / "experiment").glob("*.yaml"))
PAPER_SWEEPS = {"quality_vs_quantity", "data_scaling", "joint_training", "system_prompt", "curator_quality",
                "model_size", "iterations"}
FAST = [o for o in TEST_SCALE if not o.startswith("logger.")] + ["logger.wandb.mode=disabled"]
SHARED = ["world", "seed", "eval_set", "segments", "base", "M_yx", "augment", "M_0", "scores_1", "M_1",
          "gen M_0", "judge M_0", "gen M_1", "judge M_1"]
TINY_QVQ = ["student.threshold=null", "student.size=4,8"]

# Test-scale models cannot write "Score: k" yet, so M_0 / M_1 select nothing: the curator sweep's
# smallest instance that trains a student is the oracle's.
FIRST = {"curator_quality": {"student.curator": "oracle"}}


def sweep_params(name: str) -> dict[str, list[str]]:
    params = yaml.safe_load((SWEEPS_DIR / f"{name}.yaml").read_text())["hydra"]["sweeper"]["params"]
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    return {o.get_key_element(): list(o.sweep_string_iterator()) for o in parsed}


def smallest(name: str) -> dict[str, str]:
    """One value of every swept key (the first, unless FIRST says otherwise): one job."""
    return {k: FIRST.get(name, {}).get(k, v[0]) for k, v in sweep_params(name).items()}


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "humpback.cli.main", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def start_multirun(name: str, sweep_dir: Path, cache: Path, *overrides: str) -> subprocess.Popen:
    return start("-m", "-cd", "sweeps", "-cn", name, *FAST, f"cache_dir={cache}", f"hydra.sweep.dir={sweep_dir}", *overrides)


def summaries(proc: subprocess.Popen, sweep_dir: Path, timeout: int = 300) -> list[dict]:
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    jobs = sorted((p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))
    return [json.loads((j / "summary.json").read_text()) for j in jobs]


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


def test_every_sweep_composes_with_cfg_job():
    procs = {name: start("-cd", "sweeps", "-cn", name, "--cfg", "job") for name in SWEEPS}  # side by side: ~2 s each
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, (name, err[-2000:])
        cfg = OmegaConf.create(out)
        assert cfg.experiment_name == "sweep_cpu" and list(cfg.logger.wandb.tags) == [name], name


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
                        assert (SWEEPS_DIR / key.split("@")[0] / f"{value}.yaml").is_file(), (name, key, value)
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


@pytest.fixture(scope="module")
def tiny_qvq(tmp_path_factory, shared_cache):
    """quality_vs_quantity's smallest instance with two points, basic launcher."""
    sweep_dir = tmp_path_factory.mktemp("qvq") / "mr"
    return sweep_dir, summaries(start_multirun("quality_vs_quantity", sweep_dir, shared_cache, *TINY_QVQ), sweep_dir)


@pytest.mark.slow
def test_tiny_multirun_shares_upstream_stages_and_reports(tiny_qvq, tmp_path):
    sweep_dir, (first, second) = tiny_qvq
    assert first["computed_stages"] == len(first["stages"])
    by_name = {s["name"]: s for s in second["stages"]}
    assert all(by_name[n]["cached"] for n in SHARED), [n for n in SHARED if not by_name[n]["cached"]]
    assert {s["name"] for s in second["stages"] if not s["cached"]} == {"M_2", "gen M_2", "judge M_2"}
    assert [by_name[n]["key"] for n in SHARED] == [next(s["key"] for s in first["stages"] if s["name"] == n) for n in SHARED]
    assert (first["axes"]["augmented_size"], second["axes"]["augmented_size"]) == (4, 8)
    report = build_report([sweep_dir], tmp_path / "report")
    table = (tmp_path / "report" / "quality_vs_quantity.md").read_text()
    cells = [f"{s['models']['M_2']['win_rate']:.2f} ± {s['models']['M_2']['standard_error']:.2f}" for s in (first, second)]
    assert f"| no curation | {cells[0]} | {cells[1]} |" in table
    assert (tmp_path / "report" / "quality_vs_quantity.png") in report.files


def stage_keys(summary: dict) -> dict[str, str]:
    return {x["name"]: x["key"] for x in summary["stages"] if x["stage"] != "judge"}  # judge keys hold cache_dir


@pytest.mark.slow
def test_joblib_launcher_gives_the_same_numbers_and_builds_each_stage_once(tiny_qvq, tmp_path):
    _, basic = tiny_qvq
    parallel = summaries(start_multirun("quality_vs_quantity", tmp_path / "mr", tmp_path / "fresh_cache", *TINY_QVQ,
                                        "hydra/launcher=local_parallel"), tmp_path / "mr")
    for b, p in zip(basic, parallel):
        assert p["axes"] == b["axes"]
        assert {n: m["win_rate"] for n, m in p["models"].items()} == {n: m["win_rate"] for n, m in b["models"].items()}
        assert stage_keys(p) == stage_keys(b)
    built: dict[str, int] = {}
    for s in parallel:
        for x in s["stages"]:
            built[x["key"]] = built.get(x["key"], 0) + (not x["cached"])
    assert set(built.values()) == {1}, {k: v for k, v in built.items() if v != 1}  # raced for, built once


@pytest.mark.slow
def test_submitit_local_launcher_runs_the_sweep(tiny_qvq, tmp_path, shared_cache):
    """The SLURM launcher's plugin without a scheduler: jobs run as submitit processes, same results."""
    _, basic = tiny_qvq
    local = summaries(start_multirun("quality_vs_quantity", tmp_path / "mr", shared_cache, *TINY_QVQ,
                                     "hydra/launcher=submitit_local"), tmp_path / "mr")
    assert [s["models"]["M_2"]["win_rate"] for s in local] == [s["models"]["M_2"]["win_rate"] for s in basic]
    assert all(s["computed_stages"] == 0 for s in local) and (tmp_path / "mr" / ".submitit").is_dir()


def test_launcher_presets_compose():
    register_resolvers()
    register_configs()
    with initialize_config_dir(config_dir=str(SWEEPS_DIR), version_base="1.3"):
        slurm = compose(config_name="quality_vs_quantity", return_hydra_config=True,
                        overrides=[f"hydra.searchpath=[file://{conf_dir()}]", "hydra/launcher=slurm",
                                   "hydra.launcher.partition=gpu"]).hydra.launcher
        assert slurm._target_.endswith("SlurmLauncher")
        assert (slurm.partition, slurm.gpus_per_node, slurm.tasks_per_node) == ("gpu", 1, 1)
        cpu = compose(config_name="iterations", return_hydra_config=True,
                      overrides=[f"hydra.searchpath=[file://{conf_dir()}]", "hydra/launcher=slurm_cpu"]).hydra.launcher
        assert cpu.gpus_per_node is None and cpu.cpus_per_task == 4 and cpu._target_.endswith("SlurmLauncher")
        local = compose(config_name="iterations", return_hydra_config=True,
                        overrides=[f"hydra.searchpath=[file://{conf_dir()}]", "hydra/launcher=local_parallel"]).hydra.launcher
        assert local._target_.endswith("JoblibLauncher") and local.n_jobs == 2


@pytest.fixture(scope="module")
def smallest_runs(tmp_path_factory, shared_cache, tiny_qvq):
    """The smallest instance of every other sweep, launched side by side on the shared cache."""
    root = tmp_path_factory.mktemp("smallest")
    procs = {name: start_multirun(name, root / name, shared_cache, *(f"{k}={v}" for k, v in smallest(name).items()))
             for name in SWEEPS if name != "quality_vs_quantity"}
    results = {}
    for name, proc in procs.items():
        try:
            results[name] = summaries(proc, root / name)
        except AssertionError as e:  # reported by that sweep's test, not by all of them
            results[name] = e
    return results


@pytest.mark.slow
@pytest.mark.parametrize("name", [s for s in SWEEPS if s != "quality_vs_quantity"])
def test_smallest_instance_runs(name, smallest_runs):
    if isinstance(smallest_runs[name], AssertionError):
        raise smallest_runs[name]
    [summary] = smallest_runs[name]
    final = summary["models"][summary["final_model"]]
    assert final["win_rate"] is not None and final["n_total"] == 8
    for key, value in smallest(name).items():
        if "@" in key:  # the student's model name, as the report reads it (roles.student.name)
            assert load_job(Path(summary["job_dir"]) / "summary.json").axes["model_size"] == value.replace("_", "-")
        else:
            assert canon(summary["axes"][AXIS_OF_OVERRIDE[key]]) == canon(value)
