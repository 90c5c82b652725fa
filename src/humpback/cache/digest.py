"""Content digests of input files (seed, eval set, corpus), so an input stage's key follows what its
files hold, not only where they are.

A file is hashed once while it is unchanged: its digest is remembered by (path, size, mtime_ns) in a
small memo in the cache root. As git does for "racily clean" files, an entry is trusted only when the
file's mtime lies well before the moment it was hashed, so an edit within the same timestamp tick (on
filesystems with coarse mtimes) is never missed; such a file is simply hashed again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Iterable, Optional

from humpback.data.records import write_json

log = logging.getLogger("humpback")

MEMO = ".input-digests.json"
_SETTLE_NS = 2_000_000_000  # the coarsest common mtime tick (FAT: 2 s)


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _Memo:
    def __init__(self, path: Path):
        self.path = path
        self.changed = False
        try:
            self.entries: dict[str, dict] = json.loads(path.read_text()) if path.is_file() else {}
        except (OSError, ValueError):  # a memo cut short costs a rehash, nothing else
            log.warning("%s: unreadable digest memo, rehashing inputs", path)
            self.entries = {}

    def file(self, path: Path) -> str:
        st = path.stat()
        e = self.entries.get(str(path))
        if e and (e["size"], e["mtime_ns"]) == (st.st_size, st.st_mtime_ns) and st.st_mtime_ns < e["hashed_ns"] - _SETTLE_NS:
            return e["sha256"]
        hashed_ns = time.time_ns()
        sha = _hash_file(path)
        self.entries[str(path)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "hashed_ns": hashed_ns, "sha256": sha}
        self.changed = True
        return sha

    def save(self) -> None:
        if self.changed:  # atomic: concurrent jobs may lose each other's entries, never corrupt the memo
            write_json(self.path, self.entries)


def _path_digest(path: Path, memo: _Memo) -> Optional[str]:
    if path.is_file():
        return memo.file(path)
    if path.is_dir():  # a folder of inputs (e.g. HTML pages): its files' relative names and contents
        h = hashlib.sha256()
        for p in sorted(q for q in path.rglob("*") if q.is_file()):
            h.update(f"{p.relative_to(path).as_posix()}\0{memo.file(p)}\n".encode())
        return h.hexdigest()
    return None


def input_digests(paths: Iterable[Optional[str]], cache_root: str | Path) -> dict[str, Optional[str]]:
    """{path as given: sha256 of its bytes (a folder: of its files)}, None for a path that names no local
    file or folder (a hub dataset name, an unset placeholder); unset paths (None) are left out."""
    memo = _Memo(Path(cache_root) / MEMO)
    out = {p: _path_digest(Path(p).expanduser().resolve(), memo) for p in paths if p is not None}
    memo.save()
    return out
