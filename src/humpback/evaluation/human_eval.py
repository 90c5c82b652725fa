"""Side-by-side human evaluation: export a sheet for annotators, import their judgements.

Input rows are annotation-shaped pairs: `instruction`, `output_1` (the baseline's answer),
`output_2` (the model's answer), optional `id`, `generator_1`, `generator_2`. The exported CSV
(UTF-8 with BOM so spreadsheets detect the encoding) has columns

    id, instruction, response_A, response_B, choice

with `choice` left empty for the annotator: "A" (first better), "B" (second better) or "tie" (no
significant difference). Which response is A is decided per row by a coin seeded from
(seed, instruction), so the order is random to annotators yet reproducible; a separate key file
(JSON, keep it away from annotators) maps A/B back to model/baseline.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable

from humpback.data.records import DataError, atomic_open, write_json

COLUMNS = ["id", "instruction", "response_A", "response_B", "choice"]
CHOICES = {"a": "A", "b": "B", "tie": "tie"}


def model_is_first(seed: int, instruction: str) -> bool:
    """The per-row coin: True puts the model's answer in column A."""
    digest = hashlib.sha256(f"{seed}\x00{instruction}".encode("utf-8")).digest()
    return bool(digest[0] & 1)


def default_key_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.stem + ".key.json")


def export_side_by_side(
    rows: Iterable[dict[str, Any]], path: str | os.PathLike, seed: int, key_path: str | os.PathLike | None = None
) -> Path:
    """Write the annotator sheet to `path` and the hidden key (default: <stem>.key.json); returns the key path."""
    path, key_path = Path(path), Path(key_path) if key_path else default_key_path(path)
    rows = list(rows)
    sheet, items, seen = [], {}, set()
    for i, row in enumerate(rows):
        missing = [k for k in ("instruction", "output_1", "output_2") if k not in row]
        if missing:
            raise DataError(f"human-eval export: row {i}: missing field(s) {missing}")
        rid = str(row.get("id", i))
        if rid in seen:
            raise DataError(f"human-eval export: row {i}: duplicate id {rid!r}")
        seen.add(rid)
        first = model_is_first(seed, row["instruction"])
        a, b = (row["output_2"], row["output_1"]) if first else (row["output_1"], row["output_2"])
        sheet.append({"id": rid, "instruction": row["instruction"], "response_A": a, "response_B": b, "choice": ""})
        items[rid] = {"A": "model" if first else "baseline", "B": "baseline" if first else "model"}
    names = lambda field: sorted({str(r[field]) for r in rows if field in r})  # noqa: E731
    key = {"seed": seed, "sheet": path.name, "model": names("generator_2"), "baseline": names("generator_1"), "items": items}
    _write_csv(path, sheet)
    write_json(key_path, key)
    return key_path


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with atomic_open(path, encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def import_judgements(filled_path: str | os.PathLike, key_path: str | os.PathLike) -> dict[str, Any]:
    """Tally a filled sheet into model win / tie / lose percentages (of judged rows) and counts.

    Empty choices count as `n_unfilled`; key rows absent from the sheet as `n_missing`. An unknown
    choice or id, a duplicate id or a missing column raises DataError naming the file and line.
    """
    filled_path, key_path = Path(filled_path), Path(key_path)
    try:
        with key_path.open(encoding="utf-8") as f:
            items = json.load(f)["items"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise DataError(f"{key_path}: not a human-eval key file ({e})") from None
    counts = {"win": 0, "tie": 0, "lose": 0}
    n_unfilled, seen = 0, set()
    with filled_path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        absent = [c for c in ("id", "choice") if c not in (reader.fieldnames or [])]
        if absent:
            raise DataError(f"{filled_path}:1: missing column(s) {absent}")
        line = reader.line_num + 1  # physical line where the next record starts (cells may span lines)
        for rec in reader:
            where = f"{filled_path}:{line}"
            line = reader.line_num + 1
            rid = (rec["id"] or "").strip()
            if rid not in items:
                raise DataError(f"{where}: id {rid!r} is not in the key file {key_path}")
            if rid in seen:
                raise DataError(f"{where}: duplicate id {rid!r}")
            seen.add(rid)
            raw = (rec["choice"] or "").strip()
            if not raw:
                n_unfilled += 1
                continue
            choice = CHOICES.get(raw.lower())
            if choice is None:
                raise DataError(f"{where}: choice {raw!r} is not one of 'A', 'B', 'tie'")
            if choice == "tie":
                counts["tie"] += 1
            else:
                counts["win" if items[rid][choice] == "model" else "lose"] += 1
    n_judged = sum(counts.values())
    pct = {k: (100.0 * v / n_judged if n_judged else float("nan")) for k, v in counts.items()}
    return {
        **pct,
        "n_win": counts["win"],
        "n_tie": counts["tie"],
        "n_lose": counts["lose"],
        "n_judged": n_judged,
        "n_unfilled": n_unfilled,
        "n_missing": len(set(items) - seen),
    }
