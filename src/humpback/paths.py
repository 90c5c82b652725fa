"""Where the shipped configs live, and what relative paths in a config are relative to.

conf/ and sweeps/ sit at the top of the checkout and ship inside the wheel as humpback/conf and
humpback/sweeps (pyproject.toml maps them); an editable install reads the checkout's. Relative paths
(hydra.run.dir, hydra.sweep.dir, cache_dir, ...) are relative to the directory humpback was started
from, as in any Hydra app: `./outputs/...`."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from hydra.utils import to_absolute_path
from omegaconf import OmegaConf

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parents[1]  # src/humpback -> the checkout root (an editable install)


def _shipped(name: str) -> Path:
    """humpback/<name> in an installed wheel, else <checkout>/<name>."""
    inside = _PACKAGE / name
    return inside if inside.is_dir() else _CHECKOUT / name


def conf_dir() -> Path:
    return _shipped("conf")


def sweeps_dir() -> Path:
    """The paper sweeps, for `humpback -m -cd <this> -cn <sweep>`: printed by `humpback-sweeps`."""
    return _shipped("sweeps")


def resolve(path: str | os.PathLike) -> Path:
    """A path from the config: relative ones resolve against the directory humpback was started from
    (Hydra's original working directory, so a job with hydra.job.chdir=true still shares the cache)."""
    return Path(to_absolute_path(str(Path(path).expanduser())))


def run_id() -> str:
    """A short random suffix of job dirs: jobs started in the same second (on any host) get their own dir."""
    return secrets.token_hex(3)


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("hb_run_id"):
        # Cached per config, like Hydra's ${now:}: every read in a job (and, through Hydra's cache copy,
        # every job of one multirun) sees the same id.
        OmegaConf.register_new_resolver("hb_run_id", run_id, use_cache=True)
