"""Resumable row-wise work: results go to shard files as they finish, so a crashed stage restarts
from the first missing shard instead of from zero. A shard is reused only when it holds its chunk's
rows (same ids, same order); any other file (cut short, or written under another shard layout) is
recomputed, counted and logged."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Optional

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from humpback.data.records import read_jsonl, write_jsonl

log = logging.getLogger("humpback")

# generate.* fields that change what an engine returns, hashed by every stage that generates: the batch
# a row lands in (padding, `seed + b` per batch, inference.hf_runner) follows batch_size and the shard layout;
# tensor-parallel servers sum in another order. Where servers run and how many (base_url, servers.*,
# data_parallel, max_concurrency) is operational and left out: a batch's reply does not depend on them.
GENERATION_KEY = ("generate.engine", "generate.seed", "generate.batch_size", "generate.shard_size", "generate.tensor_parallel")
# The version of every stage that generates (augment, curate, generate): raised when the engines' output
# changes for the same config (2: a turn ends at the template's turn markers, models.templates).
GENERATION_VERSION = 2


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), transient=False)


def _ids(rows: list[dict[str, Any]]) -> list[Any]:
    return [r.get("id") for r in rows]


def _reusable(path: Path, chunk: list[dict[str, Any]], quiet: bool = False) -> Optional[list[dict[str, Any]]]:
    """The shard's rows if they are this chunk's (same ids in the same order), else None."""
    try:
        done = read_jsonl(path)
    except (OSError, ValueError) as e:  # cut short, not JSON, not UTF-8
        if not quiet:
            log.warning("%s: unreadable shard (%s), recomputing it", path, e)
        return None
    if _ids(done) != _ids(chunk):
        if not quiet:
            log.warning("%s: holds %d rows that are not its chunk's %d (another shard layout, or cut short), "
                        "recomputing it", path, len(done), len(chunk))
        return None
    return done


def holds_chunk(path: Path, chunk: list[dict[str, Any]]) -> bool:
    """Whether `path` is a finished shard of `chunk` (quietly: a worker asks before and after claiming it)."""
    return path.is_file() and _reusable(path, chunk, quiet=True) is not None


def compute_shard(path: Path, chunk: list[dict[str, Any]], fn: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
                  desc: str) -> list[dict[str, Any]]:
    """`fn(chunk)`, checked the way a rerun checks it before reusing the shard, then written atomically."""
    done = fn(chunk)
    if _ids(done) != _ids(chunk):
        raise RuntimeError(f"{desc}: shard {path.name} produced {len(done)} rows for {len(chunk)} inputs "
                           "(one per input, same ids, same order)")
    write_jsonl(path, done)
    return done


def map_in_shards(rows: list[dict[str, Any]], fn: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
                  work: Path, desc: str, shard_size: int, workers: Any = None) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Apply `fn` to consecutive chunks of `rows`; returns (all results, {resumed_shards, shards_recomputed}):
    shards reused from a crashed run, and shards found on disk that did not match their chunk.

    With `workers` (config `workers`, stages.workers) of count > 1 and at least `min_rows` rows in two or
    more shards left to do, worker processes or SLURM tasks compute those shards first; this loop then
    reuses what they wrote and computes what they left. The stats then add `workers` (jobs started),
    `worker_shards` (shards they wrote) and `worker_failures` (jobs that failed). The files are the same
    whichever way a shard was computed; `fn` must pickle (cloudpickle) for workers to run it."""
    shard_dir = work / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    shards = [(shard_dir / f"{k:05d}.jsonl", rows[i : i + shard_size]) for k, i in enumerate(range(0, len(rows), shard_size))]
    out: list[dict[str, Any]] = []
    stats = {"resumed_shards": 0, "shards_recomputed": 0}
    with progress_bar() as progress:
        task = progress.add_task(desc, total=len(rows))
        shown: set[int] = set()  # shards on the bar

        def show(k: int) -> None:
            if k not in shown:
                shown.add(k)
                progress.advance(task, len(shards[k][1]))

        found = _start_workers(shards, fn, work, desc, workers, stats, show) if _wants_workers(workers) else None
        for k, (path, chunk) in enumerate(shards):
            if found is None:  # the plain loop: look at each shard as it comes
                done = _reusable(path, chunk) if path.is_file() else None
                stats["resumed_shards"] += done is not None
                stats["shards_recomputed"] += done is None and path.is_file()
            elif (done := found.get(k)) is not None:  # looked at before the workers started
                stats["resumed_shards"] += 1
            elif "worker_shards" in stats and path.is_file():  # written by a worker (it checked the ids too)
                if (done := _reusable(path, chunk)) is not None:
                    stats["worker_shards"] += 1
            if done is None:
                done = compute_shard(path, chunk, fn, desc)
            out += done
            show(k)
    return out, stats


def _wants_workers(workers: Any) -> bool:
    return workers is not None and int(workers.count) > 1


def _start_workers(shards: list[tuple[Path, list[dict[str, Any]]]], fn: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
                   work: Path, desc: str, workers: Any, stats: dict[str, int], show: Callable[[int], None]) -> dict[int, list[dict[str, Any]]]:
    """Look at every shard on disk (resumed ones are {index: rows}, returned), then, when enough is left to
    do, run workers on the rest (stages.workers); adds their counts to `stats`."""
    found: dict[int, list[dict[str, Any]]] = {}
    for k, (path, chunk) in enumerate(shards):
        if path.is_file():
            done = _reusable(path, chunk)
            if done is None:
                stats["shards_recomputed"] += 1
            else:
                found[k] = done
                show(k)
    pending = [k for k in range(len(shards)) if k not in found]
    left = sum(len(shards[k][1]) for k in pending)
    if len(pending) < 2 or left < int(workers.min_rows):
        log.info("%s: %d rows in %d shards left, computed here (workers.min_rows=%d, two shards at least)",
                 desc, left, len(pending), workers.min_rows)
        return found
    from humpback.stages.workers import run_workers

    stats.update(run_workers([shards[k] for k in pending], fn, work, desc, workers, lambda i: show(pending[i])))
    stats["worker_shards"] = 0  # counted as the loop reads what they wrote
    return found
