"""Records that flow between stages, and JSONL I/O that names the file and line of bad input.

A *pair* is a dict with at least `instruction` and `output` (str); optional `id`, `source`,
`tag`, `score`, `family` ... travel along untouched. A *document* is a dict with `id` and either
`html` or `text` (plus optional `url`). Eval records are AlpacaEval-shaped: `instruction`,
`output` (the reference output), `generator`, `dataset`, plus optional metadata.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator


class DataError(ValueError):
    """Bad input, with the file and line it came from."""


def iter_jsonl_located(path: str | os.PathLike) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ("file:line", object) for each non-blank line of a JSONL file (gzip when it ends in .gz)."""
    path = Path(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{where}: not valid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
            yield where, row


def iter_jsonl(path: str | os.PathLike, required: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    """Yield the objects of a JSONL file; blank lines are skipped, anything else bad raises DataError."""
    for where, row in iter_jsonl_located(path):
        missing = [k for k in required if k not in row]
        if missing:
            raise DataError(f"{where}: missing field(s) {missing}")
        yield row


def iter_json_list_located(path: str | os.PathLike) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ("file[i]", object) for each element of a file holding one JSON list of objects."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of objects, got {type(data).__name__}")
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            raise DataError(f"{path}[{i}]: expected a JSON object, got {type(row).__name__}")
        yield f"{path}[{i}]", row


def read_jsonl(path: str | os.PathLike, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return list(iter_jsonl(path, required))


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows atomically (temp file + rename); returns the row count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write one JSON document atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False, default=str)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def length_stats(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Table 1 statistics: count and mean ± sd (population) of instruction and output length in characters."""
    import statistics

    def ms(xs: list[int]) -> tuple[float, float]:
        if not xs:
            return float("nan"), float("nan")
        return float(statistics.fmean(xs)), float(statistics.pstdev(xs))

    ins_m, ins_s = ms([len(r["instruction"]) for r in rows])
    out_m, out_s = ms([len(r["output"]) for r in rows])
    return {"count": len(rows), "instruction_mean": ins_m, "instruction_sd": ins_s, "output_mean": out_m, "output_sd": out_s}
