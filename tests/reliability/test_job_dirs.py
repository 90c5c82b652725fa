"""Two jobs started in the same second get their own job dirs (issue 9, "sharing")."""

from __future__ import annotations

import re
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from humpback.config.schema import register_configs
from humpback.paths import conf_dir, register_resolvers

READABLE = r"\d{4}-\d{2}-\d{2}/(\w+_)?\d{2}-\d{2}-\d{2}_[0-9a-f]{6}"


def hydra_dirs(name: str, extra_dir: Path | None = None) -> tuple[str, str]:
    """run.dir and sweep.dir of config `name`, composed as `humpback [-cd extra_dir] -cn name` does."""
    register_resolvers()
    register_configs()
    overrides = [f"hydra.searchpath=[file://{conf_dir()}]"] if extra_dir else []
    with initialize_config_dir(config_dir=str(extra_dir or conf_dir()), version_base="1.3"):
        cfg = compose(config_name=name, overrides=overrides, return_hydra_config=True)
    OmegaConf.resolve(cfg.hydra.run)  # once, as Hydra does; later reads are the same value
    assert cfg.hydra.run.dir == cfg.hydra.run.dir
    return cfg.hydra.run.dir, cfg.hydra.sweep.dir


def test_jobs_started_together_get_distinct_readable_dirs():
    first, second = hydra_dirs("config"), hydra_dirs("config")
    for run, sweep in (first, second):
        assert re.search(r"outputs/runs/" + READABLE + "$", run), run
        assert re.search(r"outputs/multirun/" + READABLE + "$", sweep), sweep
    assert first[0] != second[0] and first[1] != second[1]


def test_every_sweep_file_names_unique_dirs():
    sweeps = sorted((conf_dir().parent / "sweeps").glob("*.yaml"))
    assert sweeps
    for path in sweeps:
        first, second = hydra_dirs(path.stem, path.parent)[1], hydra_dirs(path.stem, path.parent)[1]
        assert first != second and re.search(READABLE + "$", first), (path.name, first)
