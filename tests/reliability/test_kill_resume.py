"""kill -9 at seeded random points of a test-scale `humpback` run, then a rerun to completion: its results
(stage keys, candidates, scores, answers, annotations, weights, win rates) must equal a clean run's, with
no row lost or duplicated and no work folder or temp file left in the cache (issue 9, "the suite").

The default suite runs one bounded trial (2 kills); `-m soak` runs the longer loop over several seeds."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import TEST_SCALE

# Shards of 4 rows, so kills also land inside augment, curate and answering; one curation iteration.
KILL_SCALE = [*TEST_SCALE, "curate.iterations=1", "generate.shard_size=4", "logger.wandb.mode=disabled"]
# Files of each stage kind compared byte for byte with the clean run's, and those whose ids are counted.
COMPARED = {"augment": ["candidates.jsonl", "empty_instructions.jsonl"], "curate": ["scores.jsonl"],
            "generate": ["outputs.jsonl"], "judge": ["annotations.json"], "finetune": ["train.jsonl", "model/model.safetensors"],
            "pretrain": ["model/model.safetensors"]}
ROWS = {"augment": ["candidates.jsonl", "empty_instructions.jsonl"], "curate": ["scores.jsonl"], "generate": ["outputs.jsonl"]}
RUN_TIMEOUT_S = 300


def start(cache: Path, job: Path) -> subprocess.Popen:
    job.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "humpback.cli.main", *KILL_SCALE, f"cache_dir={cache}", f"hydra.run.dir={job}"]
    with open(job.with_suffix(".log"), "w") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"},
                                start_new_session=True)  # its own process group: the kill reaches its children too


def finish(proc: subprocess.Popen, job: Path) -> dict:
    rc = proc.wait(timeout=RUN_TIMEOUT_S)
    assert rc == 0, f"run exited {rc}:\n" + job.with_suffix(".log").read_text()[-3000:]
    return json.loads((job / "summary.json").read_text())


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The uninterrupted run, started here and awaited when first compared: it runs alongside the killed ones."""
    root = tmp_path_factory.mktemp("clean")
    run = {"cache": root / "cache", "job": root / "job", "proc": start(root / "cache", root / "job")}
    yield run
    if run["proc"].poll() is None:
        os.killpg(run["proc"].pid, signal.SIGKILL)
        run["proc"].wait()


def clean_summary(clean: dict) -> dict:
    if "summary" not in clean:
        clean["summary"] = finish(clean["proc"], clean["job"])
    return clean["summary"]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> int:
    """How many artifacts a complete run leaves in the cache, from a plan (nothing runs)."""
    from humpback.pipeline import make_context, run_stages
    from tests.helpers import compose_config

    root = tmp_path_factory.mktemp("plan")
    ctx = make_context(compose_config([*KILL_SCALE, f"cache_dir={root / 'cache'}"]), root / "job", plan=True)
    run_stages(ctx)
    return len({(r.stage, r.key) for r in ctx.records})


def built(cache: Path) -> int:
    return len(list(cache.glob("*/*/manifest.json")))


def kill_and_resume(root: Path, seed: int, kills: int, stages: int) -> dict:
    """Runs killed at seeded random points (once the cache holds a random number of finished artifacts,
    plus a random delay: inside the next stage, or in the imports before it), then one run to completion.
    Each killed run first finishes one artifact of its own, so no kill only interrupts the start-up."""
    rng, cache, landed = random.Random(seed), root / "cache", []
    for n, planned in enumerate(sorted(rng.sample(range(1, stages), kills))):  # distinct points, in pipeline order
        target, delay = min(max(planned, built(cache) + 1), stages), rng.uniform(0.0, 1.5)
        proc, t0 = start(cache, root / f"job{n}"), time.monotonic()
        while proc.poll() is None and built(cache) < target and time.monotonic() - t0 < RUN_TIMEOUT_S:
            time.sleep(0.05)
        try:
            proc.wait(timeout=delay)  # it finished before its kill: this kill missed
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            landed.append({"after_artifacts": target, "at_s": round(time.monotonic() - t0, 1)})
    summary = finish(start(cache, root / "final"), root / "final")
    return {"landed": landed, "summary": summary}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compare(clean: dict, cache: Path, summary: dict) -> dict:
    """Differences from the clean run: stages whose key or files differ, rows lost / duplicated, litter."""
    ref = {s["name"]: s for s in clean_summary(clean)["stages"]}
    got = {s["name"]: s for s in summary["stages"]}
    keys = sorted(n for n in ref.keys() | got.keys() if ref.get(n, {}).get("key") != got.get(n, {}).get("key"))
    files, lost, duplicated = [], 0, 0
    for name, s in ref.items():
        if name in keys:
            continue
        a, b = clean["cache"] / s["stage"] / s["key"], cache / s["stage"] / s["key"]
        files += [f"{name}/{f}" for f in COMPARED.get(s["stage"], []) if sha(a / f) != sha(b / f)]
        for f in ROWS.get(s["stage"], []):
            want = Counter(json.loads(line)["id"] for line in (a / f).read_text().splitlines())
            have = Counter(json.loads(line)["id"] for line in (b / f).read_text().splitlines())
            lost += sum((want - have).values())
            duplicated += sum((have - want).values())
    win_rates = {m: v.get("win_rate") for m, v in summary["models"].items()}
    litter = sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.name.startswith(".work-") or p.name.endswith(".tmp"))
    return {"keys": keys, "files": files, "rows_lost": lost, "rows_duplicated": duplicated, "litter": litter,
            "win_rates_equal": win_rates == {m: v.get("win_rate") for m, v in clean_summary(clean)["models"].items()}}


def trial(clean: dict, artifacts: int, root: Path, seed: int, kills: int) -> dict:
    run = kill_and_resume(root, seed, kills, artifacts)
    diff = compare(clean, root / "cache", run["summary"])
    ok = diff["win_rates_equal"] and not any(diff[k] for k in ("keys", "files", "rows_lost", "rows_duplicated", "litter"))
    result = {"seed": seed, "kills": run["landed"], "ok": ok, **diff,
              "computed_after_kills": run["summary"]["computed_stages"]}
    print(json.dumps(result))  # the figures (pytest -s shows them)
    return result


def test_killed_runs_resume_to_the_clean_result(clean, artifacts, tmp_path):
    result = trial(clean, artifacts, tmp_path, seed=0, kills=2)
    assert built(clean["cache"]) == artifacts
    assert result["kills"], "no kill landed before the run finished"
    assert result["ok"], result


@pytest.mark.slow
@pytest.mark.soak
def test_kill_loop_over_seeds(clean, artifacts, tmp_path):
    results = [trial(clean, artifacts, tmp_path / f"seed{seed}", seed=seed, kills=3) for seed in range(1, 6)]
    total = sum(len(r["kills"]) for r in results)
    survived = sum(len(r["kills"]) for r in results if r["ok"])
    print(json.dumps({"kills_survived": survived, "kills_total": total,
                      "rows_lost": sum(r["rows_lost"] for r in results),
                      "rows_duplicated": sum(r["rows_duplicated"] for r in results)}))
    assert total and survived == total, results
