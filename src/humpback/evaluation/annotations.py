"""AlpacaEval annotation files: a JSON list of pairwise judgements.

Each row has `instruction`, `output_1` (the reference / baseline output), `output_2` (the model
output), `preference` (1 = reference wins, 2 = model wins, 1.5 = draw; legacy 0 = draw; null when the
judge gave no usable answer), `generator_1`, `generator_2`, `annotator`; any other fields
(`dataset`, `raw_completion`, `price_per_example` ...) are kept as they are.
"""

from __future__ import annotations

import os
from typing import Any

from humpback.data.records import DataError, iter_json_list_located, write_json

REQUIRED_FIELDS = ("instruction", "output_1", "output_2")


def read_annotations(path: str | os.PathLike, required: tuple[str, ...] = REQUIRED_FIELDS) -> list[dict[str, Any]]:
    """Load an annotation file; structural problems raise DataError naming the file (and row index).

    A missing or null `preference` is not an error here: the metrics drop and count such rows.
    """
    rows = []
    for where, row in iter_json_list_located(path):
        rows.append(row)
        missing = [k for k in required if k not in row]
        if missing:
            raise DataError(f"{where}: missing field(s) {missing}")
        for k in ("output_1", "output_2", "instruction"):
            if k in row and not isinstance(row[k], str):
                raise DataError(f"{where}: field {k!r} must be a string, got {type(row[k]).__name__}")
        pref = row.get("preference")
        if pref is not None and (isinstance(pref, bool) or not isinstance(pref, (int, float))):
            raise DataError(f"{where}: preference must be a number or null, got {pref!r}")
    return rows


def write_annotations(path: str | os.PathLike, rows: list[dict[str, Any]]) -> None:
    """Write annotations atomically in AlpacaEval's layout (a JSON list)."""
    write_json(path, list(rows))


def annotation_generators(rows: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """(baseline, model) names when every row agrees on them, else None for the one that varies."""
    base = {r.get("generator_1") for r in rows}
    model = {r.get("generator_2") for r in rows}
    return (base.pop() if len(base) == 1 else None, model.pop() if len(model) == 1 else None)
