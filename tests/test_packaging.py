"""What a new user meets first (issue 10): the wheel carries conf/ and sweeps/, so a plain install runs
from any directory and writes ./outputs there; `humpback --help` names the groups, the presets and the
main commands; Lightning's progress bar follows the terminal.

The fast tests build the wheel and read its file list; the slow one installs it into a fresh venv (on
top of this environment's packages, --no-deps) and runs it from an empty folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from humpback.paths import conf_dir, resolve, sweeps_dir
from tests.helpers import compose_config

REPO = Path(__file__).resolve().parents[1]
BUILD_INPUTS = ["pyproject.toml", "setup.py", "README.md", "src", "conf", "sweeps"]
PRESETS = sorted(p.stem for p in (REPO / "conf" / "experiment").glob("*.yaml"))
SCRIPTS = ["humpback", "humpback-report", "humpback-sweeps", "humpback-winrate", "humpback-serve", "humpback-human-eval"]


def shipped(folder: str) -> set[str]:
    """The wheel paths the YAML files under the checkout's `folder` must have."""
    return {f"humpback/{folder}/{p.relative_to(REPO / folder).as_posix()}" for p in (REPO / folder).rglob("*.yaml")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the build inputs (setuptools writes build/ and *.egg-info beside
    its sources) with this environment's setuptools: no build isolation, no network."""
    tmp = tmp_path_factory.mktemp("wheel")
    for name in BUILD_INPUTS:
        src, dst = REPO / name, tmp / "src" / name
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp / "dist"), str(tmp / "src")], check=True, capture_output=True, text=True, timeout=300)
    (built,) = (tmp / "dist").glob("humpback-*.whl")
    return built


def test_wheel_holds_every_config_sweep_and_module(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert len(shipped("conf")) > 30 and "humpback/conf/config.yaml" in shipped("conf")
    assert shipped("conf") <= names, sorted(shipped("conf") - names)
    assert "humpback/sweeps/quality_vs_quantity.yaml" in shipped("sweeps")
    assert shipped("sweeps") <= names, sorted(shipped("sweeps") - names)
    code = {f"humpback/{p.relative_to(REPO / 'src' / 'humpback').as_posix()}" for p in (REPO / "src" / "humpback").rglob("*.py")}
    assert code <= names, sorted(code - names)
    assert {n.split("/")[0] for n in names} == {"humpback", wheel.name.split("-py3")[0] + ".dist-info"}
    entry_points = next(zipfile.Path(wheel, n).read_text() for n in names if n.endswith("entry_points.txt"))
    assert all(f"\n{s} = " in entry_points for s in SCRIPTS), entry_points


def test_this_checkout_reads_its_own_conf_and_sweeps() -> None:
    """An editable install has no humpback/conf: paths.py falls back to the checkout's top level."""
    assert (conf_dir(), sweeps_dir()) == (REPO / "conf", REPO / "sweeps")


def test_relative_paths_resolve_against_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve("outputs/cache") == tmp_path / "outputs" / "cache"
    assert resolve("/abs/cache") == Path("/abs/cache")
    assert resolve(compose_config().cache_dir) == tmp_path / "outputs" / "cache"


def test_help_names_the_groups_presets_and_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "humpback.cli.main", "--help"], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "powered by Hydra" not in text and text.startswith("humpback: instruction backtranslation")
    presets = text.split("== Presets")[1].split("== Configuration groups ==")[0]
    assert all(p in presets for p in PRESETS), (PRESETS, presets)
    assert f"experiment: {', '.join(PRESETS)}" in text  # the group list Hydra builds from conf/
    assert 'humpback -m -cd "$(humpback-sweeps)" -cn quality_vs_quantity' in text  # `$$` came out as `$`
    assert "humpback-report outputs/multirun/" in text


def test_progress_bar_follows_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = compose_config()
    assert OmegaConf.to_object(cfg.train).progress_bar is False  # pytest captures stdout: not a terminal

    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    assert OmegaConf.to_object(cfg.train).progress_bar is True  # read when resolved, not at import
    assert compose_config(["train.progress_bar=false"]).train.progress_bar is False


def humpback(venv: Path, cwd: Path, *args: str, timeout: int = 300) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, f"{args}: {out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    return out.stdout


@pytest.mark.slow
def test_installed_wheel_runs_from_an_empty_directory(wheel: Path, tmp_path: Path) -> None:
    venv, work = tmp_path.resolve() / "venv", tmp_path / "work"
    work.mkdir()
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    humpback(venv, tmp_path, "python", "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel))
    # the venv's copy, not this checkout (its editable install is visible through the system site-packages)
    where = humpback(venv, work, "python", "-c", "import humpback.paths as p; print(p.conf_dir())").strip()
    assert Path(where).is_relative_to(venv) and (Path(where) / "config.yaml").is_file(), where

    assert humpback(venv, work, "humpback", "--help").startswith("humpback: instruction backtranslation")
    humpback(venv, work, "humpback", "plan=true")
    assert list(work.glob("outputs/runs/*/*/plan.json")) and (work / "outputs" / "cache").is_dir()

    sweeps = Path(humpback(venv, work, "humpback-sweeps").strip())
    assert sweeps.is_relative_to(venv) and (sweeps / "quality_vs_quantity.yaml").is_file(), sweeps
    humpback(venv, work, "humpback", "-m", "-cd", str(sweeps), "-cn", "quality_vs_quantity", "plan=true",
             "student.threshold=4", "student.size=25")
    assert list(work.glob("outputs/multirun/*/quality_vs_quantity_*/0/plan.json"))
    assert sorted(p.name for p in work.iterdir()) == ["outputs"]  # nothing else written where it ran
