"""W&B as its users expect, read back from the offline run's own .wandb file: training curves stream live
(train/<model>/* against train/<model>/step), every stage is an artifact referencing the cache, cached
stages are the run's inputs, a W&B failure never fails the job, and no secret reaches the run."""

from __future__ import annotations

import json
import logging
import struct
import time
from pathlib import Path

import pytest
import wandb
from wandb.proto import wandb_internal_pb2 as pb

from humpback.app import run_job
from humpback.stages.context import StageRecord
from humpback.tracking.wandb_tracker import ARTIFACT_TYPES, Tracker, artifact_name, redact
from tests.helpers import TEST_SCALE, compose_config

BLOCK = 32768  # the .wandb file: a 7-byte file header, then LevelDB-log records of protobuf Records


def _records(path: Path) -> list[pb.Record]:
    data = path.read_bytes()
    assert data[:4] == b":W&B", path
    pos, buf, out = 7, b"", []
    while pos + 7 <= len(data):
        if BLOCK - pos % BLOCK < 7:  # a block's tail too short for a chunk header is padding
            pos += BLOCK - pos % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if kind == 0:
            break
        buf += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL, or LAST of FIRST/MIDDLE.../LAST
            record = pb.Record()
            record.ParseFromString(buf)
            out.append(record)
            buf = b""
    return out


def read_run(job_dir: Path) -> dict:
    """The one offline run under `job_dir`: its history rows, artifact records and config items."""
    (run_dir,) = (job_dir / "wandb").glob("offline-run-*")
    (path,) = run_dir.glob("*.wandb")
    for _ in range(50):  # the W&B service may still be writing the exit record when finish() returns
        records = _records(path)
        if any(r.WhichOneof("record_type") == "exit" for r in records):
            break
        time.sleep(0.1)
    kinds = [(r.WhichOneof("record_type"), r) for r in records]
    history = [{i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in r.history.item} for k, r in kinds if k == "history"]
    artifacts = {r.artifact.name: r.artifact for k, r in kinds if k == "artifact" and r.artifact.type != "run_table"}
    return {"history": history, "artifacts": artifacts, "bytes": path.read_bytes()}


def curves(history: list[dict]) -> dict[str, list[dict]]:
    """model -> its train/<model>/* rows."""
    out: dict[str, list[dict]] = {}
    for row in history:
        models = {k.split("/")[1] for k in row if k.startswith("train/")}
        for m in models:
            out.setdefault(m, []).append(row)
    return out


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    """A fresh test-scale job, then one that changes only the final student (the rest comes from the cache)."""
    root = tmp_path_factory.mktemp("wandb")
    base = [*TEST_SCALE, f"cache_dir={root / 'cache'}", "student.threshold=null"]
    first = run_job(compose_config(base), job_dir=str(root / "first"))
    second = run_job(compose_config([*base, "student.size=4"]), job_dir=str(root / "second"))
    return root, base, first, second


def _stage_dir(summary: dict, name: str) -> Path:
    s = next(s for s in summary["stages"] if s["name"] == name)
    return Path(summary["cache_dir"]) / s["stage"] / s["key"]


pytestmark = pytest.mark.slow


def test_training_curves_stream_while_each_stage_trains(jobs):
    root, _, first, _ = jobs
    by_model = curves(read_run(root / "first")["history"])
    assert set(by_model) == {"base", "M_yx", "M_0", "M_1", "M_2"}
    for model, rows in by_model.items():
        stage_dir = _stage_dir(first, model)
        history = json.loads((stage_dir / "manifest.json").read_text())["metrics"]["history"]
        assert [r[f"train/{model}/step"] for r in rows] == [h["step"] for h in history], model
        assert [r[f"train/{model}/loss"] for r in rows] == pytest.approx([h["loss"] for h in history]), model
        assert [r[f"train/{model}/lr"] for r in rows] == pytest.approx([h["lr"] for h in history]), model
        # Live: every row reached W&B before its stage wrote its manifest (not at the end of the job).
        assert max(r["_timestamp"] for r in rows) <= (stage_dir / "manifest.json").stat().st_mtime, model
    first_row = min(r["_timestamp"] for rows in by_model.values() for r in rows)
    assert first_row < (_stage_dir(first, "gen M_0") / "manifest.json").stat().st_mtime  # before evaluation began


def test_cached_models_log_their_history_once(jobs):
    root, _, _, second = jobs
    by_model = curves(read_run(root / "second")["history"])
    for model, rows in by_model.items():  # cached (from history) or trained here (live): one row per step either way
        history = json.loads((_stage_dir(second, model) / "manifest.json").read_text())["metrics"]["history"]
        assert [r[f"train/{model}/step"] for r in rows] == [h["step"] for h in history], model


def test_one_artifact_per_stage_by_reference_to_the_cache(jobs):
    root, _, first, _ = jobs
    artifacts = read_run(root / "first")["artifacts"]
    assert set(artifacts) == {artifact_name(s["name"]) for s in first["stages"]} and len(artifacts) == len(first["stages"]) == 17
    for s in first["stages"]:
        art = artifacts[artifact_name(s["name"])]
        assert art.type == ARTIFACT_TYPES[s["stage"]] and not art.use_after_commit  # all computed here: outputs
        folder = _stage_dir(first, s["name"]).as_uri()
        entries = list(art.manifest.contents)
        assert entries and all(e.ref.startswith(folder + "/") and not e.local_path for e in entries), s["name"]  # nothing uploaded
        assert json.loads(art.metadata)["key"] == s["key"]
    assert "model/model.safetensors" in {e.path for e in artifacts["M_1"].manifest.contents}  # the weights, by reference


def test_lineage_edges(jobs):
    root, _, first, second = jobs
    meta = {n: json.loads(a.metadata) for n, a in read_run(root / "first")["artifacts"].items()}
    # Within a job, each artifact names the artifacts it was made from: M_0 -> scores_1 -> M_1.
    assert meta["scores_1"]["inputs"]["curator"]["artifact"] == "M_0"
    assert meta["M_1"]["inputs"]["scores"]["artifact"] == "scores_1"
    assert meta["M_1"]["inputs"]["start"]["artifact"] == "base"
    assert meta["judge-M_1"]["inputs"]["answers"]["artifact"] == "gen-M_1"
    # Across jobs: what the second job found in the cache is its input (use_artifact), what it computed its output.
    arts = read_run(root / "second")["artifacts"]
    cached = {artifact_name(s["name"]): s["cached"] for s in second["stages"]}
    assert {n for n, c in cached.items() if not c} == {"M_2", "gen-M_2", "judge-M_2"}
    assert {n: a.use_after_commit for n, a in arts.items()} == cached
    m2_inputs = json.loads(arts["M_2"].metadata)["inputs"]
    assert all(arts[i["artifact"]].use_after_commit for i in m2_inputs.values())


def test_wandb_failures_never_fail_a_job(jobs, monkeypatch, caplog):
    root, base, _, _ = jobs

    def broken(*args, **kwargs):
        raise RuntimeError("W&B is down")

    for method in ("log", "log_artifact", "_log_artifact"):
        monkeypatch.setattr(wandb.Run, method, broken)
    with caplog.at_level(logging.WARNING, logger="humpback"):
        summary = run_job(compose_config([*base, "student.size=3"]), job_dir=str(root / "broken"))
    assert not summary["stages"][-1]["cached"] and summary["models"]["M_2"]["win_rate"] is not None
    failures = [r.getMessage() for r in caplog.records if "W&B" in r.getMessage() and "failed" in r.getMessage()]
    assert len([m for m in failures if m.startswith("W&B curve failed")]) == 1, failures  # once, though every row failed
    assert any(m.startswith("W&B artifact failed") for m in failures)


def test_no_secret_reaches_the_run(tmp_path, monkeypatch):
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("HUMPBACK_TEST_API_KEY", secret)
    cfg = compose_config([*TEST_SCALE, "judge=api", "+judge.extra.api_key=${oc.env:HUMPBACK_TEST_API_KEY}"])
    from omegaconf import OmegaConf

    config = OmegaConf.to_container(cfg, resolve=True)
    assert config["judge"]["extra"]["api_key"] == secret  # the interpolation did pull it in
    tracker = Tracker("offline", tmp_path, "humpback", None, "t", None, "pipeline", [], config)
    tracker.finish()
    run = read_run(tmp_path)
    assert secret.encode() not in run["bytes"]
    assert not [p for p in (tmp_path / "wandb").rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert redact({"a": [f"Bearer {secret}"], "b": "HUMPBACK_TEST_API_KEY"}) == {"a": ["<redacted>"], "b": "HUMPBACK_TEST_API_KEY"}


def test_console_says_where_the_run_is_at_start(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="humpback"):
        tracker = Tracker("offline", tmp_path, "humpback", None, "t", None, "pipeline", [], {})
    where = tracker.location()
    tracker.finish()
    assert where and f"W&B offline run: {where} (upload: wandb sync {where})" in caplog.text


def _record(path: Path, name: str, cached: bool, history=None) -> StageRecord:
    path.mkdir(parents=True, exist_ok=True)
    (path / "weights.bin").write_bytes(b"\0" * 64)
    return StageRecord(name, "finetune", "k" + name, cached, 0.0, {"history": history or []}, str(path), model=name)


def test_history_is_logged_only_when_it_did_not_stream(tmp_path):
    """The multi-process child and cached models: their history when the stage ends; a streamed one is not doubled."""
    history = [{"step": 1, "loss": 2.0, "lr": 0.1}, {"step": 2, "loss": 1.5, "lr": 0.05}]
    tracker = Tracker("offline", tmp_path, "humpback", None, "t", None, "pipeline", [], {}, upload_artifacts=True)
    tracker.log_stage(_record(tmp_path / "c" / "a", "M_0", False, history), {})  # e.g. trained in a child process
    for h in history:  # what StageLogger sends while M_1 trains here
        tracker.log_train("M_1", {"loss": h["loss"], "lr": h["lr"]}, h["step"], live=True)
    tracker.log_stage(_record(tmp_path / "c" / "b", "M_1", False, history), {})
    tracker.finish()
    run = read_run(tmp_path)
    by_model = curves(run["history"])
    assert [r["train/M_0/step"] for r in by_model["M_0"]] == [1, 2] and [r["train/M_1/step"] for r in by_model["M_1"]] == [1, 2]
    entries = list(run["artifacts"]["M_0"].manifest.contents)
    assert entries and all(not e.ref for e in entries)  # upload_artifacts: copied into the run, not referenced
