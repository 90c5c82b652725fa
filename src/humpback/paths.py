"""Where configs and outputs live. Outputs never depend on the working directory: relative paths in the
config resolve against the project root (the folder holding `conf/`), or HUMPBACK_HOME when set."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

_SOURCE_ROOT = Path(__file__).resolve().parents[2]  # src/humpback/paths.py -> the checkout


def project_root() -> Path:
    if os.environ.get("HUMPBACK_HOME"):
        return Path(os.environ["HUMPBACK_HOME"]).expanduser().resolve()
    if (_SOURCE_ROOT / "conf").is_dir():
        return _SOURCE_ROOT
    return Path.cwd().resolve()  # a non-editable install: the user's folder


def conf_dir() -> Path:
    return Path(os.environ.get("HUMPBACK_CONF", _SOURCE_ROOT / "conf")).resolve()


def resolve(path: str | os.PathLike) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else project_root() / p


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("hb_root"):
        OmegaConf.register_new_resolver("hb_root", lambda: str(project_root()))
