"""A long stage's shards computed by separate worker processes (stages.workers) that share its work
folder: the same files as one process, each shard computed once, failures left to the main process,
and no `workers.*` field in any key."""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import pytest

from humpback.data.records import write_jsonl
from humpback.stages.sharded import map_in_shards
from humpback.stages.workers import WorkersConfig, slurm_parameters
from tests.helpers import TEST_SCALE, compose_config

ROWS = [{"id": f"r{i:02d}", "x": i} for i in range(20)]
SHARD = 3  # 7 shards, the last one short
N_SHARDS = 7
TWO = WorkersConfig(count=2, launcher="local", min_rows=0)


_CALLED: list[int] = []  # calls of a Toy in this process


class Toy:
    """A picklable shard function that leaves one marker file per call (which shard, which process).
    With `meet`, a process's first call waits (up to 60 s) until that many processes have made one, so
    every worker takes part however the start-ups fall."""

    def __init__(self, markers: Path, fail_in_workers_on: str | None = None, meet: int = 0):
        self.markers, self.fail, self.meet = markers, fail_in_workers_on, meet

    def __call__(self, chunk):
        self.markers.mkdir(parents=True, exist_ok=True)
        in_worker = os.environ.get("SUBMITIT_EXECUTOR") == "local"
        (self.markers / f"{chunk[0]['id']}.{os.getpid()}.{time.monotonic_ns()}").touch()
        _CALLED.append(1)
        deadline = time.time() + 60
        while len(_CALLED) == 1 and len(set(calls(self.markers, by_pid=True))) < self.meet and time.time() < deadline:
            time.sleep(0.05)
        if in_worker and chunk[0]["id"] == self.fail:
            raise ValueError(f"toy failure on {self.fail}")
        return [{"id": r["id"], "y": r["x"] ** 2, "text": f"row {r['id']} é"} for r in chunk]


def calls(markers: Path, by_pid: bool = False) -> dict:
    """{first id of a shard: pids of the processes that computed it} (by_pid: {pid: first ids})."""
    out: dict = {}
    for p in markers.iterdir():
        first, pid, _ = p.name.split(".")
        out.setdefault(int(pid) if by_pid else first, []).append(first if by_pid else int(pid))
    return out


def shard_bytes(work: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((work / "shards").iterdir())}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    work = tmp_path_factory.mktemp("one")
    rows, stats = map_in_shards(ROWS, Toy(work / "markers"), work, "toy", SHARD)
    assert stats == {"resumed_shards": 0, "shards_recomputed": 0}
    return rows, shard_bytes(work)


def test_two_local_workers_write_the_same_shards_each_once(tmp_path, clean):
    rows, stats = map_in_shards(ROWS, Toy(tmp_path / "markers", meet=2), tmp_path, "toy", SHARD, workers=TWO)
    assert (rows, shard_bytes(tmp_path)) == clean  # same rows, byte-identical shards, no lock files left
    assert stats == {"resumed_shards": 0, "shards_recomputed": 0, "workers": 2, "worker_shards": N_SHARDS,
                     "worker_failures": 0}
    done = calls(tmp_path / "markers")
    assert sorted(done) == [ROWS[i]["id"] for i in range(0, len(ROWS), SHARD)]
    assert all(len(pids) == 1 and pids[0] != os.getpid() for pids in done.values())  # once each, in a worker
    assert len(calls(tmp_path / "markers", by_pid=True)) == 2  # both took part
    assert not (tmp_path / "workers").exists()  # submitit's files go after a clean run


def test_a_shard_with_wrong_ids_is_recomputed_by_a_worker(tmp_path, clean):
    rows, files = clean
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "00000.jsonl").write_bytes(files["00000.jsonl"])  # intact: resumed
    write_jsonl(tmp_path / "shards" / "00001.jsonl", [{"id": "other", "y": 0}])  # another layout's: recomputed
    got, stats = map_in_shards(ROWS, Toy(tmp_path / "markers"), tmp_path, "toy", SHARD, workers=TWO)
    assert (got, shard_bytes(tmp_path)) == clean
    assert stats == {"resumed_shards": 1, "shards_recomputed": 1, "workers": 2, "worker_shards": N_SHARDS - 1,
                     "worker_failures": 0}
    assert "r00" not in calls(tmp_path / "markers")


def test_a_shard_that_fails_in_the_workers_is_computed_by_the_main_process(tmp_path, clean, caplog):
    caplog.set_level(logging.WARNING, logger="humpback")
    got, stats = map_in_shards(ROWS, Toy(tmp_path / "markers", fail_in_workers_on="r06"), tmp_path, "toy", SHARD,
                               workers=TWO)
    assert (got, shard_bytes(tmp_path)) == clean  # complete all the same
    assert stats["worker_shards"] == N_SHARDS - 1 and stats["worker_failures"] >= 1
    assert os.getpid() in calls(tmp_path / "markers")["r06"]  # the main process did it
    failed = [r.getMessage() for r in caplog.records if "failed" in r.getMessage() and "Log: " in r.getMessage()]
    assert failed and "toy failure on r06" in failed[0]
    log = Path(failed[0].split("Log: ")[1].split("\n")[0])
    assert log.is_file() and "toy failure on r06" in log.read_text()  # the worker's log is kept, named
    assert not list((tmp_path / "workers").glob("*.pkl"))


def test_few_rows_stay_in_process(tmp_path, clean):
    rows, stats = map_in_shards(ROWS, Toy(tmp_path / "markers"), tmp_path, "toy", SHARD,
                                workers=WorkersConfig(count=2, min_rows=len(ROWS) + 1))
    assert (rows, shard_bytes(tmp_path)) == clean and stats == {"resumed_shards": 0, "shards_recomputed": 0}
    assert {pid for pids in calls(tmp_path / "markers").values() for pid in pids} == {os.getpid()}


def test_slurm_workers_are_one_array_task_with_one_gpu_each(tmp_path):
    from submitit.slurm.slurm import _make_sbatch_string

    cfg = WorkersConfig(count=3, launcher="slurm")
    cfg.slurm.partition, cfg.slurm.setup = "gpu", ["source ~/venv/bin/activate"]
    cfg.slurm.additional_parameters = {"gres": "gpu:a100:1"}
    params = slurm_parameters(cfg, 3, "humpback-augment")
    assert params["array_parallelism"] == 3 and params["gpus_per_node"] == 1 and params["ntasks_per_node"] == 1
    text = _make_sbatch_string(command="python -m x", folder=str(tmp_path), **params)
    for line in ("#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=1", "#SBATCH --mem=64GB", "#SBATCH --time=720",
                 "#SBATCH --gres=gpu:a100:1", "source ~/venv/bin/activate"):
        assert line in text, line


WORKER_KNOBS = ["workers.count=4", "workers.launcher=slurm", "workers.min_rows=1", "workers.threads=3",
                "workers.folder=/elsewhere/logs", "workers.slurm.partition=gpu", "workers.slurm.gpus_per_task=2"]


def test_workers_enter_no_key(tmp_path):
    from humpback.pipeline import make_context, run_stages

    def keys(*overrides):
        ctx = make_context(compose_config([*TEST_SCALE, f"cache_dir={tmp_path / 'cache'}", *overrides]),
                           tmp_path / "job", plan=True)
        run_stages(ctx)
        return {r.name: (r.stage, r.key) for r in ctx.records}

    base = keys()
    assert {"augment", "curate", "generate"} <= {stage for stage, _ in base.values()}  # the stages that shard
    assert keys(*WORKER_KNOBS) == base


def build_augment(tmp_path: Path, cache: Path, *overrides: str):
    """The augment stage (and what it needs, cached after the first call) at test scale: 16 segments, 4 shards."""
    from humpback.pipeline import make_context, role_model
    from humpback.stages import inputs, models
    from humpback.stages.augment import augment

    cfg = compose_config([*TEST_SCALE, f"cache_dir={cache}", "generate.shard_size=4", *overrides])
    ctx = make_context(cfg, tmp_path / "job")
    world = inputs.world(ctx)
    seed, segs = inputs.seed(ctx, world), inputs.segments(ctx, world)
    model_cfg = role_model(cfg, "backward")
    m_yx = models.backward_model(ctx, model_cfg, models.base(ctx, model_cfg, world, seed, segs), seed)
    return augment(ctx, model_cfg, m_yx, segs)


def artifact_files(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file() and p.name != "manifest.json"}


def test_augment_with_two_local_workers_equals_one_process(tmp_path, monkeypatch):
    from humpback.inference import Engine

    cache = tmp_path / "cache"
    one = build_augment(tmp_path, cache)
    files = artifact_files(one.path)
    assert "shards/00003.jsonl" in files and one.metrics["segments"] == 16
    shutil.rmtree(one.path)  # the upstream stages stay cached; augment is computed again, by workers
    monkeypatch.setattr(Engine, "_build", lambda self: pytest.fail("the main process built an engine"))  # not theirs
    two = build_augment(tmp_path, cache, "workers.count=2", "workers.launcher=local", "workers.min_rows=0")
    assert not two.cached and two.key == one.key
    assert artifact_files(two.path) == files  # byte-identical: shards, candidates, empty instructions
    assert two.manifest["config"] == one.manifest["config"]
    assert two.metrics["worker_shards"] == 4 and two.metrics["workers"] == 2 and two.metrics["worker_failures"] == 0
    assert {k: v for k, v in two.metrics.items() if not k.startswith("worker")} == one.metrics
