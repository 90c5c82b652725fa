"""sweeps/reproduce_cpu.yaml: every point (conf/contrast/) composes and differs from the default run in
exactly the axes its contrast changes, every arm of the report's contrasts is exactly one point, and
the sweep runs at test scale (2 seeds, 2 points) into tables with paired differences over seeds."""

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

from humpback.axes import REPLICATE_AXIS, ablation_axes
from humpback.config.schema import register_configs
from humpback.evaluation.annotations import read_annotations
from humpback.evaluation.gold import prompt_accuracy
from humpback.evaluation.paired import paired_over_seeds, paired_scores_over_seeds
from humpback.paths import conf_dir, register_resolvers
from humpback.report import build_report
from humpback.report.load import canon
from humpback.report.reproduce import CONTRASTS, HUMPBACK
from tests.helpers import TEST_SCALE

REPO = Path(__file__).resolve().parents[1]
SWEEPS_DIR = REPO / "sweeps"
NAME = "reproduce_cpu"
FAST = [o for o in TEST_SCALE if not o.startswith("logger.")] + ["logger.wandb.mode=disabled"]

# point -> the axes it changes from the default run (canonical values)
DELTAS = {"default": {}, "no_curation": {"curation_threshold": "none"}, "a4": {"curation_threshold": "4"},
          "seed_only": {"augmented": "false"}, "a5_only": {"seed_data": "false"}, "untagged": {"train_tags": "false"},
          "inference_sa": {"inference_tags": "S_a"}, "inference_none": {"inference_tags": "none"},
          "curator_m0": {"curator": "M_0"}, "curator_oracle": {"curator": "oracle"}}


def sweep_params() -> dict[str, list[str]]:
    params = yaml.safe_load((SWEEPS_DIR / f"{NAME}.yaml").read_text())["hydra"]["sweeper"]["params"]
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    return {o.get_key_element(): list(o.sweep_string_iterator()) for o in parsed}


# The sweep's own world, and a preset whose students are asked with S_a rather than the paper's S_a+S_w
EXPERIMENTS = ("toy_cpu_long", "toy_cpu_focused")


@pytest.fixture(scope="module", params=EXPERIMENTS)
def points(request) -> dict[str, dict[str, str]]:
    """Every point's ablation axes (canonical), composed as
    `humpback -cd sweeps -cn reproduce_cpu experiment=<preset> --cfg job`."""
    register_resolvers()
    register_configs()
    out = {}
    with initialize_config_dir(config_dir=str(SWEEPS_DIR), version_base="1.3"):
        for point in sweep_params()["+contrast"]:
            cfg = compose(config_name=NAME, overrides=[f"hydra.searchpath=[file://{conf_dir()}]", f"+contrast={point}",
                                                       "seed=2", f"experiment={request.param}"])
            assert cfg.experiment_name == request.param and list(cfg.logger.wandb.tags) == [NAME], point
            assert cfg.data.world.n_pages == 192 and cfg.pretrain.steps == 2400, point  # the wider web
            assert cfg.student.size == 100 and cfg.seed == 2, point  # one N for every point; the replicate seed
            out[point] = {k: canon(v) for k, v in ablation_axes(cfg).items()}
    return out


def test_sweep_is_seeds_times_points_and_names_every_contrast_file():
    params = sweep_params()
    assert set(params) == {"seed", "+contrast"} and params["seed"] == ["0", "1", "2"]
    assert sorted(params["+contrast"]) == sorted(p.stem for p in (REPO / "conf" / "contrast").glob("*.yaml"))
    assert len(params["seed"]) * len(params["+contrast"]) == 30 and len(params["+contrast"]) <= 20
    assert f"#   humpback -m -cd sweeps -cn {NAME} " in (SWEEPS_DIR / f"{NAME}.yaml").read_text()


def test_every_point_differs_from_the_default_in_its_own_axes(points):
    assert set(points) == set(DELTAS)
    base = points["default"]
    assert {a: base[a] for a in HUMPBACK} == HUMPBACK  # the default point is the report's Humpback setting
    for point, axes in points.items():
        changed = {a: v for a, v in axes.items() if v != base[a]}
        assert changed == DELTAS[point], point


def test_every_report_arm_is_exactly_one_point(points):
    for contrast in CONTRASTS:
        for arm in contrast.arms:
            wanted = {**HUMPBACK, **arm.delta}
            matches = [p for p, axes in points.items() if all(axes[a] == v for a, v in wanted.items())]
            assert len(matches) == 1, (contrast.name, arm.label, matches)


def test_the_cli_composes_a_point():
    proc = subprocess.run([sys.executable, "-m", "humpback.cli.main", "-cd", "sweeps", "-cn", NAME, "+contrast=a4", "seed=1",
                           "--cfg", "job"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cfg = OmegaConf.create(proc.stdout)
    assert (cfg.student.threshold, cfg.student.size, cfg.seed) == (4.0, 100, 1)


@pytest.mark.slow
def test_reproduction_sweep_runs_at_test_scale_into_paired_tables(tmp_path):
    """2 seeds x {default, no_curation}, one internal iteration to stay near a minute: the report pairs the
    quality-vs-quantity contrast and M_1 - M_0 over (seed, prompt)."""
    sweep_dir = tmp_path / "mr"
    proc = subprocess.run([sys.executable, "-m", "humpback.cli.main", "-m", "-cd", "sweeps", "-cn", NAME, *FAST,
                           "curate.iterations=1", f"cache_dir={tmp_path / 'cache'}", f"hydra.sweep.dir={sweep_dir}",
                           "seed=0,1", "+contrast=default,no_curation"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = [json.loads((sweep_dir / str(n) / "summary.json").read_text()) for n in range(4)]
    assert [canon(j["axes"][REPLICATE_AXIS]) for j in jobs] == ["0", "0", "1", "1"]  # seed is the outer loop
    report = build_report([sweep_dir], tmp_path / "report")
    out = tmp_path / "report"
    qvq = (out / "reproduce_quality_vs_quantity.md").read_text()
    assert "| augmented data | win rate | SE (seeds) | SE (prompts) | seeds | seed + aug | Δ vs no curation (paired) | z |" in qvq
    [record] = [r for r in _csv(out / "reproduce_quality_vs_quantity.csv") if r["arm"] == "A_5"]
    rows = {n: {j["axes"]["seed"]: read_annotations(j["models"]["M_1"]["annotations"]) for j in jobs[n::2]} for n in (0, 1)}
    expected = paired_over_seeds(rows[1], rows[0])  # A_5 (default) minus no curation, by hand from the files
    assert int(record["diff_n"]) == expected["n"] == 2 * 8 and record["diff_n_seeds"] == "2"
    assert float(record["diff_mean_difference"]) == pytest.approx(expected["mean_difference"])
    # the toy world's oracle accuracy is paired the same way, from each job's per-prompt gold
    assert "| accuracy seed / web-only | Δ web-only accuracy vs no curation | z (accuracy) |" in qvq
    web = {n: {j["axes"]["seed"]: prompt_accuracy(j["models"]["M_1"]["gold"], "web_only") for j in jobs[n::2]} for n in (0, 1)}
    expected_web = paired_scores_over_seeds(web[1], web[0])
    assert int(record["accuracy_diff_web-only_n"]) == expected_web["n"] > 0
    assert float(record["accuracy_diff_web-only_mean_difference"]) == pytest.approx(expected_web["mean_difference"])
    assert "| M_1 | " in (out / "reproduce_iterations.md").read_text()
    effects = (out / "reproduce_effects.md").read_text()
    assert "| quality_vs_quantity | A_5 − no curation |" in effects and "| iterations | M_1 − M_0 |" in effects
    for name in ("effects", "quality_vs_quantity", "iterations"):
        assert out / f"reproduce_{name}.png" in report.files


def _csv(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="") as f:
        return list(csv.DictReader(f))
