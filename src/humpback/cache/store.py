"""Content-addressed artifact store.

An artifact's key hashes (stage name, stage version, the stage's config slice, upstream keys), so a
change to an upstream knob changes that stage's key and every key downstream, and nothing else.
Each artifact is a folder `<root>/<stage>/<key>/` with `manifest.json` (written last, so its presence
means complete; one that does not parse is treated as absent, with a warning, and rebuilt). A stage
builds in `<root>/<stage>/.work-<key>/`, which survives a crash so long stages can resume from the
shards (and checkpoints) they already wrote; a rerun of the key reuses it after deleting the temp
files a kill left there. The finished folder is renamed into place. A file lock per key makes
concurrent jobs (sweep points, parallel launchers) compute it once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from filelock import FileLock

from humpback.data.records import write_json

MANIFEST = "manifest.json"

log = logging.getLogger("humpback")


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def artifact_key(stage: str, version: int, config: dict[str, Any], upstream: dict[str, str]) -> str:
    payload = _canonical({"stage": stage, "version": version, "config": config, "upstream": upstream})
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _drop_temp_files(work: Path) -> None:
    """Before a rerun resumes in `work`: delete what a killed write left (atomic writes' `*.tmp`, files
    created but never written); finished shards and checkpoints stay."""
    dropped = [p for p in work.rglob("*") if p.is_file() and (p.name.endswith(".tmp") or p.stat().st_size == 0)]
    for p in dropped:
        p.unlink()
    log.info("resuming in %s%s", work, f" (removed {len(dropped)} temp files)" if dropped else "")


@dataclass
class Artifact:
    stage: str
    key: str
    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    cached: bool = False  # True when this job found it already built

    @property
    def metrics(self) -> dict[str, Any]:
        return self.manifest.get("metrics", {})


class ArtifactStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def load(self, stage: str, key: str) -> Artifact | None:
        path = self.path(stage, key)
        manifest = path / MANIFEST
        if not manifest.is_file():
            return None
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:  # cut short or emptied (a full disk, a hand edit): rebuild, never crash
            log.warning("%s: unreadable manifest (%s); treating %s/%s as not built", manifest, e, stage, key)
            return None
        if not isinstance(data, dict) or data.get("key") != key:
            log.warning("%s: not the manifest of %s/%s; treating it as not built", manifest, stage, key)
            return None
        return Artifact(stage, key, path, data, cached=True)

    def peek(self, stage: str, version: int, config: dict[str, Any], upstream: dict[str, Artifact]) -> Artifact:
        """The artifact these inputs would give: cached if built, else an empty placeholder (for plans)."""
        key = artifact_key(stage, version, config, {name: a.key for name, a in upstream.items()})
        return self.load(stage, key) or Artifact(stage, key, self.path(stage, key), {}, cached=False)

    def build(
        self,
        stage: str,
        version: int,
        config: dict[str, Any],
        upstream: dict[str, Artifact],
        fn: Callable[[Path], dict[str, Any]],
    ) -> Artifact:
        """Return the artifact for these inputs, running `fn(work_dir) -> metrics` only if it is missing."""
        key = artifact_key(stage, version, config, {name: a.key for name, a in upstream.items()})
        if (found := self.load(stage, key)) is not None:
            return found
        lock_dir = self.root / ".locks"
        lock_dir.mkdir(exist_ok=True)
        with FileLock(str(lock_dir / f"{stage}-{key}.lock")):
            if (found := self.load(stage, key)) is not None:  # another job built it while we waited
                return found
            work = self.path(stage, f".work-{key}")
            if work.is_dir():
                _drop_temp_files(work)
            work.mkdir(parents=True, exist_ok=True)
            start = time.time()
            metrics = fn(work) or {}
            manifest = {
                "stage": stage,
                "version": version,
                "key": key,
                "config": config,
                "upstream": {name: a.key for name, a in upstream.items()},
                "metrics": metrics,
                "seconds": round(time.time() - start, 3),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "host": socket.gethostname(),
            }
            write_json(work / MANIFEST, manifest)
            final = self.path(stage, key)
            if final.exists():  # a stale incomplete folder (no manifest) from an older layout
                shutil.rmtree(final)
            os.replace(work, final)
            return Artifact(stage, key, final, manifest, cached=False)
