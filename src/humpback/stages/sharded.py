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
# a row lands in (padding, `seed + b` per batch, inference.hf_runner) follows batch_size and the shard layout.
# generate.base_url (where an openai engine is served) is operational and left out.
GENERATION_KEY = ("generate.engine", "generate.seed", "generate.batch_size", "generate.shard_size")


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), transient=False)


def _ids(rows: list[dict[str, Any]]) -> list[Any]:
    return [r.get("id") for r in rows]


def _reusable(path: Path, chunk: list[dict[str, Any]]) -> Optional[list[dict[str, Any]]]:
    """The shard's rows if they are this chunk's (same ids in the same order), else None."""
    try:
        done = read_jsonl(path)
    except (OSError, ValueError) as e:  # cut short, not JSON, not UTF-8
        log.warning("%s: unreadable shard (%s), recomputing it", path, e)
        return None
    if _ids(done) != _ids(chunk):
        log.warning("%s: holds %d rows that are not its chunk's %d (another shard layout, or cut short), recomputing it",
                    path, len(done), len(chunk))
        return None
    return done


def map_in_shards(rows: list[dict[str, Any]], fn: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
                  work: Path, desc: str, shard_size: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Apply `fn` to consecutive chunks of `rows`; returns (all results, {resumed_shards, shards_recomputed}):
    shards reused from a crashed run, and shards found on disk that did not match their chunk."""
    shard_dir = work / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    out: list[dict[str, Any]] = []
    stats = {"resumed_shards": 0, "shards_recomputed": 0}
    with progress_bar() as progress:
        task = progress.add_task(desc, total=len(rows))
        for i in range(0, len(rows), shard_size):
            path = shard_dir / f"{i // shard_size:05d}.jsonl"
            chunk = rows[i : i + shard_size]
            done = _reusable(path, chunk) if path.is_file() else None
            if done is not None:
                stats["resumed_shards"] += 1
            else:
                stats["shards_recomputed"] += path.is_file()
                done = fn(chunk)
                if _ids(done) != _ids(chunk):  # what a rerun checks before reusing the shard
                    raise RuntimeError(f"{desc}: shard {path.name} produced {len(done)} rows for {len(chunk)} inputs "
                                       "(one per input, same ids, same order)")
                write_jsonl(path, done)
            out += done
            progress.advance(task, len(chunk))
    return out, stats
