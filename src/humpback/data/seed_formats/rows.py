"""Rows of a local file (JSONL, JSONL.gz, JSON list, Parquet) or of a hub dataset, each with where it came from.

Every row is yielded as `(where, row)`; `where` ("file:line", "file[index]", "owner/name[split] row i") goes
into every error message about that row, so a bad record can be found and fixed.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Any, Iterator, Optional

from humpback.data.records import DataError, iter_json_list_located, iter_jsonl_located

_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

Row = tuple[str, dict[str, Any]]


def is_hub_name(path: str) -> bool:
    """True for "owner/name" strings that are not an existing local path (those are read as files)."""
    return not Path(path).exists() and bool(_HUB_NAME.match(path))


def iter_rows(path: str, split: str = "train") -> Iterator[Row]:
    """Rows of `path`: a local file chosen by suffix, else a hub dataset name loaded with `datasets`."""
    p = Path(path)
    if p.is_file():
        name = p.name.lower()
        if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
            yield from iter_jsonl_located(p)
        elif name.endswith(".json"):
            yield from iter_json_list_located(p)
        elif name.endswith(".parquet"):
            yield from _iter_parquet(p)
        else:
            raise DataError(f"{p}: unknown file type (expected .jsonl, .jsonl.gz, .json or .parquet)")
    elif p.exists():
        raise DataError(f"{p}: is not a file")
    elif _HUB_NAME.match(path):
        yield from _iter_hub(path, split)
    else:
        raise DataError(f"{path}: no such file, and not a hub dataset name of the form owner/name")


def _iter_parquet(path: Path) -> Iterator[Row]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as e:  # truncated, or not Parquet at all
        raise DataError(f"{path}: not a readable Parquet file ({e})") from None
    for i, row in enumerate(table.to_pylist()):
        yield f"{path} row {i + 1}", row


def _iter_hub(name: str, split: str) -> Iterator[Row]:
    import datasets  # imported late: loading from a hub needs network, local files never do

    ds = datasets.load_dataset(name, split=split)
    for i, row in enumerate(ds):
        yield f"{name}[{split}] row {i + 1}", dict(row)


def require_str(row: dict[str, Any], key: str, where: str, optional: bool = False) -> Optional[str]:
    """row[key] as a string; a missing key or a non-string value is a DataError (None allowed when optional)."""
    if key not in row:
        if optional:
            return None
        raise DataError(f"{where}: missing field {key!r}")
    value = row[key]
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise DataError(f"{where}: field {key!r} should be a string, got {type(value).__name__}")
    return value


def clean_number(value: Any) -> Optional[float]:
    """A rank-like number, or None for missing/NaN (Parquet and pandas write a null rank as NaN)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    raise TypeError(type(value).__name__)


def content_id(prefix: str, *texts: str) -> str:
    """An id made from the content, so ids (and hence sampling) do not depend on row order."""
    h = hashlib.sha1("\x00".join(texts).encode("utf-8")).hexdigest()[:12]
    return f"{prefix}-{h}"
