"""One long stage's shards computed by several workers that share the stage's work folder: processes on
this machine (submitit's LocalExecutor) or a SLURM array (one task, and by default one GPU, per worker).

`stages.sharded.map_in_shards` starts them when `workers.count > 1` and enough rows are left to do. Each
worker walks the pending shards in order and claims one at a time with a non-blocking file lock next to
the shard (`shards/<name>.lock`): a shard another worker holds is skipped, one already written and
holding its chunk's ids is left alone. A claimed shard is computed, its ids checked, and written
atomically, exactly as the in-process loop would write it, so the result files do not depend on how
many workers ran. The main process then runs the usual loop, which reuses every shard a worker wrote
and computes whatever is still missing (a worker that failed) itself.

Every `workers.*` field is operational: none is in any stage's key.

A worker gets the stage's `fn` pickled (cloudpickle): closures over the lazy `inference.Engine` handle and
the job's DictConfig are fine, the handle builds its own engine (or starts its own server) in the worker.
The inputs travel as one pickle per pending shard under the workers folder, so each job's own pickle
stays small however large the stage is.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import time
import traceback
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

log = logging.getLogger("humpback")

LOCAL_TIMEOUT_MIN = 60 * 24 * 365  # submitit's LocalExecutor kills a job after 2 minutes unless told otherwise
POLL_S = {"local": 0.5, "slurm": 15.0}  # how often the main process looks at its jobs and the shard files


@dataclass
class SlurmWorkersConfig:
    """workers.launcher=slurm: one array job, one task per worker. Null fields take the cluster's defaults."""

    partition: Optional[str] = None
    account: Optional[str] = None
    qos: Optional[str] = None
    constraint: Optional[str] = None
    timeout_min: int = 720
    gpus_per_task: Optional[int] = 1  # one GPU, and with a server engine one server, per task; null: no GPU
    cpus_per_task: Optional[int] = 10
    mem_gb: Optional[int] = 64
    setup: list[str] = field(default_factory=list)  # shell lines run before the worker, e.g. "source ~/venv/bin/activate"
    additional_parameters: dict[str, Any] = field(default_factory=dict)  # more sbatch options, e.g. {gres: "gpu:a100:1"}


@dataclass
class WorkersConfig:
    count: int = 1  # 1: every shard in this process (as always); N > 1: N workers share the shards
    launcher: str = "local"  # local: processes on this machine | slurm: a SLURM array job
    # Pending rows below this (or a single pending shard) run in this process: not worth a worker's start.
    min_rows: int = 1024
    threads: Optional[int] = None  # torch threads per worker (null: local: cores // count, slurm: cpus_per_task)
    folder: Optional[str] = None  # submitit's files and logs (null: <stage work folder>/workers); kept when a worker fails
    slurm: SlurmWorkersConfig = field(default_factory=SlurmWorkersConfig)


# --- in the worker -------------------------------------------------------------------------------------

def _start_worker(threads: Optional[int], devices: Optional[str]) -> None:
    """What a fresh worker process needs before it touches a model: the job's resolvers (its DictConfig
    may hold ${hb_isatty:} and the like), its share of the GPUs and cores, and log lines in its log."""
    from humpback.config.schema import register_configs
    from humpback.paths import register_resolvers

    register_resolvers()
    register_configs()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if devices is not None:  # before CUDA is initialised (nothing in the unpickled job touches it)
        os.environ["CUDA_VISIBLE_DEVICES"] = devices
    if threads is not None:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # also for what the worker starts (a server)
            os.environ[var] = str(threads)
        with suppress(ImportError):
            import torch

            torch.set_num_threads(threads)


def work_shards(names: list[str], fn: Callable[[list[dict[str, Any]]], list[dict[str, Any]]], shard_dir: str,
                inputs_dir: str, desc: str, worker: int, threads: Optional[int] = None,
                devices: Optional[str] = None) -> list[str]:
    """A worker's job: compute every pending shard nobody else holds or has written; returns the names it wrote.

    A shard that raises is logged and left for another worker or the main process; the job then fails
    at the end, naming those shards, after doing all the others."""
    from filelock import FileLock, Timeout

    from humpback.stages.sharded import compute_shard, holds_chunk

    _start_worker(threads, devices)
    shards, inputs = Path(shard_dir), Path(inputs_dir)
    written: list[str] = []
    failed: dict[str, str] = {}

    def attempt(name: str) -> bool:
        """False when another worker holds the shard."""
        path = shards / f"{name}.jsonl"
        with open(inputs / f"{name}.pkl", "rb") as f:
            chunk = pickle.load(f)
        if holds_chunk(path, chunk):
            return True
        lock = FileLock(str(shards / f"{name}.lock"))
        try:
            lock.acquire(blocking=False)
        except Timeout:
            return False
        try:
            if holds_chunk(path, chunk):  # written by the worker that held it a moment ago
                return True
            start = time.time()
            compute_shard(path, chunk, fn, desc)
            written.append(name)
            log.info("worker %d: %s done (%d rows, %.1fs)", worker, name, len(chunk), time.time() - start)
        except Exception as e:
            log.error("worker %d: %s failed, left for another worker or the main process:\n%s", worker, name,
                      traceback.format_exc())
            failed[name] = f"{type(e).__name__}: {e}"
        finally:
            lock.release()
        return True

    busy = [name for name in names if not attempt(name)]
    for name in busy:  # held by another worker when passed: done by now, or left by a worker that failed
        attempt(name)
    log.info("worker %d: wrote %d shards", worker, len(written))
    if failed:
        first = next(iter(failed.items()))
        raise RuntimeError(f"{desc}: worker {worker}: {len(failed)} shard(s) failed ({', '.join(failed)}); "
                           f"first: {first[0]}: {first[1]}")
    return written


# --- in the main process -------------------------------------------------------------------------------

def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _local_devices(count: int) -> list[str]:
    """CUDA_VISIBLE_DEVICES of each local worker: the visible GPUs split evenly (shared round-robin when
    there are fewer GPUs than workers); "" (none) on a machine without GPUs."""
    from humpback.inference.servers import visible_gpus

    ids = visible_gpus()
    if not ids:
        return [""] * count
    if len(ids) < count:
        return [ids[k % len(ids)] for k in range(count)]
    per = len(ids) // count
    return [",".join(ids[k * per:(k + 1) * per]) for k in range(count)]


def slurm_parameters(cfg: Any, count: int, name: str) -> dict[str, Any]:
    """submitit.SlurmExecutor parameters of a worker array (also what the sbatch text is made from)."""
    s = cfg.slurm
    params: dict[str, Any] = {
        "job_name": name,
        "time": int(s.timeout_min),
        "nodes": 1,
        "ntasks_per_node": 1,  # one process per worker: the stage's engine is not rank-aware
        "array_parallelism": count,
        "setup": list(s.setup or []),
        "additional_parameters": dict(s.additional_parameters or {}),
    }
    for key, value in (("partition", s.partition), ("account", s.account), ("qos", s.qos), ("constraint", s.constraint),
                       ("gpus_per_node", s.gpus_per_task), ("cpus_per_task", s.cpus_per_task)):
        if value is not None:
            params[key] = value
    if s.mem_gb is not None:
        params["mem"] = f"{int(s.mem_gb)}GB"
    return params


def _folder(cfg: Any, work: Path) -> tuple[Path, bool]:
    """(submitit folder, whether it is ours to delete after a clean run)."""
    if cfg.folder is None:
        return work / "workers", True
    from humpback.paths import resolve

    return resolve(cfg.folder) / f"{work.parent.name}-{work.name.lstrip('.')}", False


def _executor(cfg: Any, folder: Path, count: int, desc: str) -> Any:
    import submitit

    if cfg.launcher == "local":
        executor = submitit.LocalExecutor(folder=folder)
        executor.update_parameters(timeout_min=LOCAL_TIMEOUT_MIN)
        return executor
    if cfg.launcher == "slurm":
        executor = submitit.SlurmExecutor(folder=folder)
        executor.update_parameters(**slurm_parameters(cfg, count, "humpback-" + desc.split(":")[0].replace(" ", "-")))
        return executor
    raise ValueError(f"workers.launcher={cfg.launcher!r}: choose local or slurm")


def _tail(text: str, lines: int = 6) -> str:
    return "\n".join(str(text).strip().splitlines()[-lines:])


def run_workers(pending: list[tuple[Path, list[dict[str, Any]]]], fn: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
                work: Path, desc: str, cfg: Any, on_written: Callable[[int], None] = lambda k: None) -> dict[str, Any]:
    """Start min(count, len(pending)) workers on the pending shards (their files under work/shards) and wait
    for all of them. A worker that fails is reported with its log; the shards it finished stay. Calls
    `on_written(i)` as the i-th pending shard's file appears. Returns {workers, worker_failures}."""
    count = min(int(cfg.count), len(pending))
    folder, ours = _folder(cfg, work)
    inputs = folder / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    names = []
    for path, chunk in pending:
        name = path.name.removesuffix(".jsonl")
        with open(inputs / f"{name}.pkl", "wb") as f:
            pickle.dump(chunk, f, protocol=pickle.HIGHEST_PROTOCOL)
        names.append(name)
    shard_dir = pending[0][0].parent
    if cfg.launcher == "local":
        threads = cfg.threads if cfg.threads is not None else max(1, _cores() // count)
        devices: list[Optional[str]] = list(_local_devices(count))
    else:
        threads = cfg.threads if cfg.threads is not None else cfg.slurm.cpus_per_task
        devices = [None] * count  # SLURM hands each task its GPUs
    executor = _executor(cfg, folder, count, desc)
    with executor.batch():  # one array job on SLURM
        jobs = [executor.submit(work_shards, names, fn, str(shard_dir), str(inputs), desc, k, threads, devices[k])
                for k in range(count)]
    log.info("%s: %d %s workers on %d shards (logs: %s)", desc, count, cfg.launcher, len(pending), folder)
    seen: set[int] = set()

    def look() -> None:
        for i, (path, _) in enumerate(pending):
            if i not in seen and path.is_file():
                seen.add(i)
                on_written(i)

    try:
        while not all(job.done() for job in jobs):
            look()
            time.sleep(POLL_S.get(cfg.launcher, 5.0))
    except BaseException:  # interrupted: stop the workers too; their finished shards stay for the rerun
        for job in jobs:
            with suppress(Exception):
                job.cancel(check=False)
        raise
    finally:
        look()
    failures = 0
    for k, job in enumerate(jobs):
        try:
            job.result()
        except Exception as e:  # noqa: BLE001 - reported, and its shards are computed by the main process
            failures += 1
            log.warning("%s: worker %d of %d failed; its shards still missing are computed here. Log: %s\n%s",
                        desc, k, count, job.paths.stderr, _tail(e))
    for lock in shard_dir.glob("*.lock"):
        lock.unlink(missing_ok=True)
    shutil.rmtree(inputs, ignore_errors=True)
    if ours and not failures:
        shutil.rmtree(folder, ignore_errors=True)
    else:  # keep the logs; drop what only submitit reads (the pickled job and its result)
        for p in folder.glob("*.pkl"):
            p.unlink(missing_ok=True)
    return {"workers": count, "worker_failures": failures}
