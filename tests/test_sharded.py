"""Long stages resume from the shards a crashed run finished."""

import pytest

from humpback.stages.sharded import map_in_shards


def test_resume_after_crash(tmp_path):
    rows = [{"id": str(i)} for i in range(10)]
    calls = []

    def flaky(chunk):
        calls.append(len(chunk))
        if len(calls) == 3:
            raise RuntimeError("killed")
        return [{"id": r["id"], "y": int(r["id"]) * 2} for r in chunk]

    with pytest.raises(RuntimeError):
        map_in_shards(rows, flaky, tmp_path, "test", shard_size=4)
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == ["00000.jsonl", "00001.jsonl"]
    out, stats = map_in_shards(rows, flaky, tmp_path, "test", shard_size=4)
    assert stats["resumed_shards"] == 2 and calls == [4, 4, 2, 2]  # only the unfinished last shard ran again
    assert [r["y"] for r in out] == [2 * i for i in range(10)]


def test_shard_must_cover_its_rows(tmp_path):
    with pytest.raises(RuntimeError, match="produced 1 rows for 2"):
        map_in_shards([{"id": "a"}, {"id": "b"}], lambda c: c[:1], tmp_path, "test", shard_size=2)


def test_shard_rows_must_be_their_inputs_in_order(tmp_path):
    with pytest.raises(RuntimeError, match="same ids, same order"):
        map_in_shards([{"id": "a"}, {"id": "b"}], lambda c: c[::-1], tmp_path, "test", shard_size=2)
