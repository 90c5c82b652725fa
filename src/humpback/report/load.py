"""Read the jobs of one or more multirun dirs: each job's summary.json, its ablation axes, and the grid
its sweep asked for (multirun.yaml), so a report can show the points that never finished as missing."""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from humpback.axes import AXIS_OF_OVERRIDE, REPLICATE_AXIS, ablation_axes, axis_value

log = logging.getLogger("humpback.report")


def canon(value: Any) -> str:
    """One spelling per axis value, so 5, 5.0 and "5" (YAML, summary, override) compare equal."""
    if value is None or value in ("null", "None"):
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value in ("True", "False"):  # Hydra's sweep iterator spells booleans this way
        return value.lower()
    if isinstance(value, (int, float)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, str):
        try:
            return canon(float(value)) if value.strip().lstrip("-").replace(".", "", 1).isdigit() else value
        except ValueError:
            return value
    return str(value)


@dataclass
class Job:
    """One Hydra job that wrote summary.json."""

    path: Path
    summary: dict[str, Any]
    axes: dict[str, Any]
    sweep: Optional[str] = None  # the sweep file (Hydra config name) that launched it, when known
    num: int = 0  # Hydra job number within its multirun

    @property
    def final(self) -> Optional[dict[str, Any]]:
        return self.summary.get("models", {}).get(self.summary.get("final_model"))

    def axis(self, name: str) -> str:
        return canon(self.axes.get(name))

    @property
    def seed(self) -> str:
        """The replicate seed ("none" for summaries that predate it)."""
        return self.axis(REPLICATE_AXIS)

    @property
    def configuration(self) -> tuple[tuple[str, str], ...]:
        """Every axis but the replicate seed: jobs with the same configuration are replicates."""
        return tuple(sorted((a, self.axis(a)) for a in self.axes if a != REPLICATE_AXIS))

    @property
    def win_rate(self) -> Optional[float]:
        return (self.final or {}).get("win_rate")

    @property
    def standard_error(self) -> Optional[float]:
        return (self.final or {}).get("standard_error")


@dataclass
class Group:
    """The jobs of one multirun (or of one folder of plain runs) and the grid its sweep asked for."""

    path: Path
    jobs: list[Job] = field(default_factory=list)
    sweep: Optional[str] = None
    grid: dict[str, list[str]] = field(default_factory=dict)  # axis -> requested values (canonical)
    expected_points: int = 0  # jobs the sweep launched (0: unknown)
    unfinished: list[dict[str, Any]] = field(default_factory=list)  # axes (+ "_num") of launched jobs without summary.json

    @property
    def name(self) -> str:
        plain = not (self.path / "multirun.yaml").is_file()
        return f"{self.path.name}:{self.sweep}" if plain and self.sweep else self.path.name

    def values(self, axis: str) -> list[str]:
        """Requested values of an axis, then any others the jobs show, in a stable order."""
        seen = list(self.grid.get(axis, []))
        launched = [(j.num, j.axis(axis)) for j in self.jobs] + [(a["_num"], canon(a.get(axis))) for a in self.unfinished]
        for _, value in sorted(launched, key=lambda p: p[0]):
            if value not in seen:
                seen.append(value)
        return seen

    def varying(self) -> set[str]:
        axes = {a for job in self.jobs for a in job.axes}
        return {a for a in axes if len({job.axis(a) for job in self.jobs}) > 1} | {a for a, v in self.grid.items() if len(v) > 1}


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        log.warning("could not read %s: %s", path, e)
        return None


def _saved_config(job_dir: Path) -> dict[str, Any]:
    return _read_yaml(job_dir / ".hydra" / "config.yaml") or {}


def _axes_from_config(job_dir: Path) -> dict[str, Any]:
    """Axes from the job's saved Hydra config ({} without one): fills what older summaries lack (e.g. the
    seed) and names the points of jobs that never wrote a summary (so they show up as missing)."""
    cfg = _saved_config(job_dir)
    return ablation_axes(cfg) if cfg else {}


def load_job(summary_path: Path) -> Optional[Job]:
    try:
        summary = json.loads(summary_path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        log.warning("skipping %s: %s", summary_path, e)
        return None
    job_dir = summary_path.parent
    cfg = _saved_config(job_dir)
    axes = {**(ablation_axes(cfg) if cfg else {}), **(summary.get("axes") or {})}
    if cfg and (student := axis_value(cfg, "model_size")):  # roles.student sets the size model_size varies
        axes["model_size"] = student
    hydra_cfg = _read_yaml(job_dir / ".hydra" / "hydra.yaml") or {}
    job_cfg = (hydra_cfg.get("hydra") or {}).get("job") or {}
    num = job_cfg.get("num")
    if not isinstance(num, int):  # absent, or `???` in a plain (not multirun) job's hydra.yaml
        num = int(job_dir.name) if job_dir.name.isdigit() else 0
    return Job(job_dir, summary, axes, job_cfg.get("config_name"), int(num))


def _sweep_grid(multirun_yaml: Path) -> tuple[Optional[str], dict[str, list[str]], int]:
    """(sweep name, axis -> requested values, number of points) from the multirun.yaml Hydra writes."""
    cfg = (_read_yaml(multirun_yaml) or {}).get("hydra") or {}
    args = [f"{k}={v}" for k, v in ((cfg.get("sweeper") or {}).get("params") or {}).items()]
    args += list(((cfg.get("overrides") or {}).get("task")) or [])
    grid: dict[str, list[str]] = {}
    points: dict[str, int] = {}
    try:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        for o in OverridesParser.create().parse_overrides(args):
            values = list(o.sweep_string_iterator()) if o.is_sweep_override() else [o.get_value_element_as_str()]
            key = o.get_key_element()
            points[key] = len(values)  # the command line replaces the sweep file's list, as in Hydra
            if key in AXIS_OF_OVERRIDE:
                grid[AXIS_OF_OVERRIDE[key]] = [canon(v) for v in values]
    except Exception as e:  # a grid we cannot parse only loses the "missing" rows
        log.warning("could not parse the sweep of %s: %s", multirun_yaml, e)
    n = 1
    for count in points.values():
        n *= count
    return (cfg.get("job") or {}).get("config_name"), grid, n if points else 0


def _group_root(job_dir: Path) -> Path:
    for parent in itertools.islice(job_dir.parents, 3):
        if (parent / "multirun.yaml").is_file():
            return parent
    return job_dir.parent


def load_groups(dirs: list[str | Path]) -> list[Group]:
    """Every job under `dirs`, grouped by multirun (plain runs, e.g. from `wandb agent`: by folder and
    sweep file); groups and jobs in a stable order."""
    groups: dict[tuple[Path, str], Group] = {}
    for d in dirs:
        root = Path(d).expanduser().resolve()
        if not root.exists():
            raise FileNotFoundError(f"{root}: no such directory")
        found = [root / "summary.json"] if (root / "summary.json").is_file() else sorted(root.rglob("summary.json"))
        for path in found:
            if "wandb" in path.parts or (job := load_job(path)) is None:
                continue
            home = _group_root(job.path)
            multirun = (home / "multirun.yaml").is_file()
            key = (home, "" if multirun else job.sweep or "")
            if key not in groups:
                groups[key] = Group(home, sweep=None if multirun else job.sweep)
                if multirun:
                    groups[key].sweep, groups[key].grid, groups[key].expected_points = _sweep_grid(home / "multirun.yaml")
            groups[key].jobs.append(job)
    for (home, _), g in groups.items():
        if (home / "multirun.yaml").is_file():  # job dirs Hydra made that hold no summary: failed or running
            done = {j.path for j in g.jobs}
            for d in sorted(home.iterdir()):
                if d.is_dir() and d.name.isdigit() and d.resolve() not in done and (axes := _axes_from_config(d)):
                    g.unfinished.append({**axes, "_num": int(d.name)})
        g.jobs.sort(key=lambda j: (j.num, str(j.path)))
        g.sweep = g.sweep or next((j.sweep for j in g.jobs if j.sweep), None)
    return [groups[k] for k in sorted(groups)]
