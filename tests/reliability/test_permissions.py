"""A shared cache is readable by teammates: every artifact follows the umask (0644 under 022), as a
plain open() would; summary.json and the other JSON documents are strict JSON (null, never NaN)."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

import pytest

from humpback.data.records import atomic_open, length_stats, write_json, write_jsonl


@pytest.fixture
def umask():
    """Run under a chosen umask, restored afterwards."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*") if p.is_file()}


def _strict_loads(text: str):
    def refuse(constant: str):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_writes_follow_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    write_jsonl(tmp_path / "rows.jsonl", [{"a": 1}])
    write_json(tmp_path / "doc.json", {"a": 1})
    with atomic_open(tmp_path / "sheet.csv", encoding="utf-8-sig", newline="") as f:
        f.write("a,b\n")
    assert _modes(tmp_path) == {"rows.jsonl": mode, "doc.json": mode, "sheet.csv": mode}


def test_a_stage_artifact_is_readable_by_others(tmp_path, umask):
    from humpback.cache.store import ArtifactStore

    def run(work: Path):
        write_jsonl(work / "rows.jsonl", [{"id": 1}])
        return {"count": 1}

    art = ArtifactStore(tmp_path / "cache").build("seed", 1, {"x": 1}, {}, run)
    modes = _modes(art.path)
    assert modes == {"rows.jsonl": 0o644, "manifest.json": 0o644}
    assert stat.S_IMODE(art.path.stat().st_mode) == 0o755  # and its folder can be listed


def test_saved_models_follow_the_umask_though_safetensors_writes_0600(tmp_path, umask):
    from humpback.models import factory
    from humpback.models.config import ModelConfig, ScratchModelConfig
    from humpback.models.tokenizer import train_bpe_tokenizer

    tok = train_bpe_tokenizer(["a small corpus for a tiny tokenizer"] * 5, vocab_size=300)
    cfg = ModelConfig(scratch=ScratchModelConfig(hidden_size=16, intermediate_size=32, num_layers=1, num_heads=2, num_kv_heads=2))
    out = tmp_path / "model"
    out.mkdir()
    factory.save_model(factory.scratch_model(cfg, tok), tok, out, base="", cfg=cfg)
    modes = _modes(out)
    assert "model.safetensors" in modes and set(modes.values()) == {0o644}, modes


def test_summary_json_is_strict_json(tmp_path):
    from humpback.evaluation.metrics import win_rate_metrics

    one = win_rate_metrics([{"preference": 2.0}])  # a single verdict has no standard error
    summary = {"models": {"M_0": one, "M_1": win_rate_metrics([])}, "data": {"A_1": length_stats([])},
               "odd": [float("nan"), float("inf"), -math.inf, 1.5]}
    write_json(tmp_path / "summary.json", summary)
    back = _strict_loads((tmp_path / "summary.json").read_text())
    assert back["models"]["M_0"]["standard_error"] is None and back["models"]["M_0"]["win_rate"] == 100.0
    assert back["models"]["M_1"]["win_rate"] is None and back["data"]["A_1"]["output_mean"] is None
    assert back["odd"] == [None, None, None, 1.5]
    with pytest.raises(ValueError, match="not strict JSON: NaN"):  # the parser really refuses bare NaN
        _strict_loads('{"x": NaN}')
