"""Resumable row-wise work: results go to shard files as they finish, so a crashed stage restarts
from the first missing shard instead of from zero."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from humpback.data.records import read_jsonl, write_jsonl


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), transient=False)


def map_in_shards(rows: list[dict[str, Any]], fn: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
                  work: Path, desc: str, shard_size: int) -> tuple[list[dict[str, Any]], int]:
    """Apply `fn` to consecutive chunks of `rows`; returns (all results, shards reused from a crash)."""
    shard_dir = work / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    out: list[dict[str, Any]] = []
    reused = 0
    with progress_bar() as progress:
        task = progress.add_task(desc, total=len(rows))
        for i in range(0, len(rows), shard_size):
            path = shard_dir / f"{i // shard_size:05d}.jsonl"
            chunk = rows[i : i + shard_size]
            if path.is_file():
                done = read_jsonl(path)
                reused += 1
            else:
                done = fn(chunk)
                if len(done) != len(chunk):
                    raise RuntimeError(f"{desc}: shard {path.name} produced {len(done)} rows for {len(chunk)} inputs")
                write_jsonl(path, done)
            out += done
            progress.advance(task, len(chunk))
    return out, reused
