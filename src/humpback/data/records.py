"""Records that flow between stages, and JSONL I/O that names the file and line of bad input.

A *pair* is a dict with at least `instruction` and `output` (str); optional `id`, `source`,
`tag`, `score`, `family` ... travel along untouched. A *document* is a dict with `id` and either
`html` or `text` (plus optional `url`). Eval records are AlpacaEval-shaped: `instruction`,
`output` (the reference output), `generator`, `dataset`, plus optional metadata.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import secrets
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, TextIO


class DataError(ValueError):
    """Bad input, with the file and line it came from."""


_BOM = b"\xef\xbb\xbf"  # editors on Windows start UTF-8 files with it; json.loads refuses it


def _decode(data: bytes, path: Path, first_line: int = 1) -> str:
    """UTF-8 text of a line (or a whole file); a bad byte is a DataError naming its line and column."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = first_line + data.count(b"\n", 0, e.start)
        column = e.start - data.rfind(b"\n", 0, e.start)  # 1-based byte column
        raise DataError(f"{path}:{line}: not valid UTF-8 (byte 0x{data[e.start]:02x} at column {column}); "
                        f"re-encode the file as UTF-8") from None


def _numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of a plain or gzip file; a truncated or corrupt gzip stream is a DataError."""
    gz = path.name.lower().endswith(".gz")
    lineno = 0
    with (gzip.open(path, "rb") if gz else open(path, "rb")) as f:
        try:
            for lineno, line in enumerate(f, start=1):
                yield lineno, line
        except (EOFError, OSError, zlib.error) as e:  # gzip reports a cut-off stream as EOFError
            if not gz:
                raise
            raise DataError(f"{path}:{lineno + 1}: truncated or corrupt gzip file, unreadable from this line on "
                            f"({type(e).__name__}: {e})") from None


def iter_jsonl_located(path: str | os.PathLike) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ("file:line", object) for each non-blank line of a JSONL file (gzip when it ends in .gz)."""
    path = Path(path)
    for lineno, raw in _numbered_lines(path):
        where = f"{path}:{lineno}"
        line = _decode(raw.removeprefix(_BOM) if lineno == 1 else raw, path, lineno)
        if not line.strip():
            continue
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
        data = json.loads(_decode(path.read_bytes().removeprefix(_BOM), path))
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


@contextmanager
def atomic_open(path: str | os.PathLike, encoding: str = "utf-8", newline: str | None = None) -> Iterator[TextIO]:
    """Write `path` through a temp file renamed over it, so readers never see half a file. The temp file
    is created 0666 so the umask sets its mode, as for a plain open() (mkstemp's 0600 kept teammates
    out of a shared cache)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline=newline) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def follow_umask(folder: str | os.PathLike) -> None:
    """Give the files in `folder` the mode the umask allows (0644 under 022): libraries that write 0600
    themselves (safetensors) would keep a shared cache unreadable to teammates."""
    mask = os.umask(0)  # the umask can only be read by setting it; put it back at once
    os.umask(mask)
    for p in Path(folder).rglob("*"):
        if p.is_file() and not p.is_symlink():
            os.chmod(p, 0o666 & ~mask)


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows atomically (temp file + rename); returns the row count."""
    n = 0
    with atomic_open(path) as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def strict_json(obj: Any) -> Any:
    """`obj` with NaN and infinities as None: JSON has no such numbers (Python would write bare NaN)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write one strict JSON document atomically (NaN/inf become null)."""
    with atomic_open(path) as f:
        json.dump(strict_json(obj), f, indent=2, ensure_ascii=False, default=str, allow_nan=False)
        f.write("\n")


def length_stats(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Table 1 statistics: count and mean ± sd (population) of instruction and output length in characters."""
    import statistics

    def ms(xs: list[int]) -> tuple[float | None, float | None]:
        if not xs:
            return None, None  # no rows: no mean (null in JSON, never NaN)
        return float(statistics.fmean(xs)), float(statistics.pstdev(xs))

    ins_m, ins_s = ms([len(r["instruction"]) for r in rows])
    out_m, out_s = ms([len(r["output"]) for r in rows])
    return {"count": len(rows), "instruction_mean": ins_m, "instruction_sd": ins_s, "output_mean": out_m, "output_sd": out_s}
