"""A reused shard must be the one its chunk would write (issue 9, "resume that verifies")."""

from __future__ import annotations

import pytest

from humpback.data.records import read_jsonl
from humpback.stages.sharded import map_in_shards

ROWS = [{"id": f"r{i:02d}"} for i in range(10)]


def double(chunk):
    return [{"id": r["id"], "y": 2 * int(r["id"][1:])} for r in chunk]


def run(work, shard_size, fn=double):
    return map_in_shards(ROWS, fn, work, "test", shard_size)


def test_shards_of_another_shard_size_are_recomputed(tmp_path):
    clean, _ = run(tmp_path / "clean", 3)
    calls = []

    def crash_on_third(chunk):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("killed")
        return double(chunk)

    with pytest.raises(RuntimeError):
        run(tmp_path / "work", 4, crash_on_third)  # leaves 00000 (r00-r03) and 00001 (r04-r07)
    rows, stats = run(tmp_path / "work", 3)
    assert rows == clean  # no duplicated, lost or shifted rows
    assert stats == {"resumed_shards": 0, "shards_recomputed": 2}


def test_truncated_and_short_shards_are_recomputed(tmp_path):
    clean, _ = run(tmp_path, 4)
    shards = tmp_path / "shards"
    (shards / "00000.jsonl").write_text((shards / "00000.jsonl").read_text()[:-9])  # cut inside the last row
    (shards / "00001.jsonl").write_text((shards / "00001.jsonl").read_text().split("\n", 1)[1])  # first row gone
    rows, stats = run(tmp_path, 4)
    assert rows == clean and stats == {"resumed_shards": 1, "shards_recomputed": 2}
    assert read_jsonl(shards / "00000.jsonl") == clean[:4]  # rewritten whole


def test_intact_shards_are_reused_without_calls(tmp_path):
    clean, _ = run(tmp_path, 4)
    rows, stats = run(tmp_path, 4, lambda chunk: pytest.fail("recomputed an intact shard"))
    assert rows == clean and stats == {"resumed_shards": 3, "shards_recomputed": 0}


def augment_rows(tmp_path, cache, shard_size: int) -> dict:
    """The augment stage (and what it needs) at test scale: {file: rows} of its artifact, and its metrics."""
    from humpback.pipeline import make_context, role_model
    from humpback.stages import inputs, models
    from humpback.stages.augment import augment
    from tests.helpers import TEST_SCALE, compose_config

    cfg = compose_config([*TEST_SCALE, f"cache_dir={cache}", f"generate.shard_size={shard_size}"])
    ctx = make_context(cfg, tmp_path / "job")
    world = inputs.world(ctx)
    seed, segs = inputs.seed(ctx, world), inputs.segments(ctx, world)
    model_cfg = role_model(cfg, "backward")
    m_yx = models.backward_model(ctx, model_cfg, models.base(ctx, model_cfg, world, seed, segs), seed)
    art = augment(ctx, model_cfg, m_yx, segs)
    return {**{f: read_jsonl(art.path / f) for f in ("candidates.jsonl", "empty_instructions.jsonl")},
            "metrics": art.metrics}


def test_augment_killed_then_rerun_with_another_shard_size_equals_a_clean_run(tmp_path, monkeypatch):
    from humpback.inference.hf_runner import HFRunner

    real, calls = HFRunner.generate, []

    def dies_on_third_shard(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt("killed mid-augment")
        return real(self, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(HFRunner, "generate", dies_on_third_shard)
        with pytest.raises(KeyboardInterrupt):
            augment_rows(tmp_path, tmp_path / "cache", shard_size=4)  # 16 segments: 2 of 4 shards written
    resumed = augment_rows(tmp_path, tmp_path / "cache", shard_size=3)
    clean = augment_rows(tmp_path, tmp_path / "clean", shard_size=3)
    for f in ("candidates.jsonl", "empty_instructions.jsonl"):
        assert resumed[f] == clean[f], f
    ids = [r["id"] for f in ("candidates.jsonl", "empty_instructions.jsonl") for r in resumed[f]]
    assert len(ids) == len(set(ids)) == resumed["metrics"]["segments"] == 16
