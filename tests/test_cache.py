"""Content-addressed artifact store: keys, reuse, atomic completion, locking."""

import json
import threading

import pytest

from humpback.cache import ArtifactStore, artifact_key


def test_key_depends_on_every_input():
    base = artifact_key("s", 1, {"a": 1, "b": [1, 2]}, {"up": "k1"})
    assert base == artifact_key("s", 1, {"b": [1, 2], "a": 1}, {"up": "k1"})  # order-free
    assert base != artifact_key("s", 2, {"a": 1, "b": [1, 2]}, {"up": "k1"})
    assert base != artifact_key("s", 1, {"a": 2, "b": [1, 2]}, {"up": "k1"})
    assert base != artifact_key("s", 1, {"a": 1, "b": [1, 2]}, {"up": "k2"})
    assert base != artifact_key("t", 1, {"a": 1, "b": [1, 2]}, {"up": "k1"})


def test_build_once_then_cached(tmp_path):
    store = ArtifactStore(tmp_path)
    calls = []

    def fn(work):
        calls.append(1)
        (work / "x.txt").write_text("hello")
        return {"rows": 1}

    a = store.build("s", 1, {"k": 1}, {}, fn)
    b = store.build("s", 1, {"k": 1}, {}, fn)
    assert calls == [1] and not a.cached and b.cached
    assert (b.path / "x.txt").read_text() == "hello" and b.metrics == {"rows": 1}
    manifest = json.loads((a.path / "manifest.json").read_text())
    assert manifest["key"] == a.key and manifest["config"] == {"k": 1}


def test_crash_leaves_no_artifact_and_keeps_work_for_resume(tmp_path):
    store = ArtifactStore(tmp_path)

    def crash(work):
        (work / "shard-0.jsonl").write_text("{}\n")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.build("s", 1, {}, {}, crash)
    key = artifact_key("s", 1, {}, {})
    assert store.load("s", key) is None
    seen = []
    art = store.build("s", 1, {}, {}, lambda work: seen.append((work / "shard-0.jsonl").exists()) or {})
    assert seen == [True] and (art.path / "shard-0.jsonl").exists()


def test_concurrent_builders_compute_once(tmp_path):
    store = ArtifactStore(tmp_path)
    calls = []

    def slow(work):
        import time

        calls.append(1)
        time.sleep(0.3)
        return {}

    threads = [threading.Thread(target=store.build, args=("s", 1, {}, {}, slow)) for _ in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert calls == [1]


def test_upstream_change_propagates(tmp_path):
    store = ArtifactStore(tmp_path)
    up1 = store.build("up", 1, {"n": 1}, {}, lambda w: {})
    up2 = store.build("up", 1, {"n": 2}, {}, lambda w: {})
    d1 = store.build("down", 1, {}, {"up": up1}, lambda w: {})
    d2 = store.build("down", 1, {}, {"up": up2}, lambda w: {})
    assert d1.key != d2.key
