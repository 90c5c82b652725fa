"""The artifact store after faults (issue 9): a damaged manifest is "not built", not a crash on every
rerun; a failed stage's work folder is reused by the rerun of its key, minus the temp files it left."""

from __future__ import annotations

import logging

import pytest

from humpback.cache import ArtifactStore, artifact_key


@pytest.mark.parametrize("damage", ["", '{"stage": "s", "ke'])
def test_damaged_manifest_is_rebuilt_with_a_warning(tmp_path, caplog, damage):
    store = ArtifactStore(tmp_path)
    art = store.build("s", 1, {}, {}, lambda work: (work / "out.txt").write_text("v1") and {"n": 1})
    (art.path / "manifest.json").write_text(damage)
    with caplog.at_level(logging.WARNING):
        assert store.load("s", art.key) is None
    assert str(art.path / "manifest.json") in caplog.text
    again = store.build("s", 1, {}, {}, lambda work: (work / "out.txt").write_text("v2") and {"n": 2})
    assert not again.cached and again.metrics == {"n": 2} and (again.path / "out.txt").read_text() == "v2"
    assert store.load("s", art.key).metrics == {"n": 2}


def test_rerun_reuses_the_work_folder_without_its_temp_files(tmp_path):
    store = ArtifactStore(tmp_path)

    def killed(work):
        (work / "shards").mkdir()
        (work / "shards" / "00000.jsonl").write_text('{"id": "a"}\n')  # finished: resume state
        (work / "shards" / ".00001.jsonl.x1y2.tmp").write_text('{"id": "b"')  # cut mid-write
        (work / "model").mkdir()
        (work / "model" / "model.safetensors").write_bytes(b"")  # created, never written
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        store.build("s", 1, {}, {}, killed)
    work = tmp_path / "s" / f".work-{artifact_key('s', 1, {}, {})}"
    assert work.is_dir()  # kept for the rerun: it holds resume state
    seen = {}

    def resume(work):
        seen["files"] = sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file())
        return {}

    art = store.build("s", 1, {}, {}, resume)
    assert seen["files"] == ["shards/00000.jsonl"]
    assert not work.exists() and (art.path / "shards" / "00000.jsonl").is_file()
