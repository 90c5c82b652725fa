"""The whole pipeline at test scale: artifacts, summary numbers, caching, W&B offline run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from humpback.app import run_job
from humpback.data.records import read_jsonl
from humpback.evaluation.annotations import read_annotations
from humpback.evaluation.metrics import win_rate_metrics
from humpback.prompts import TAG_SEED, TAG_WEB
from tests.helpers import RATING_PROMPT_HEAD, TEST_SCALE, compose_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    cfg = compose_config([*TEST_SCALE, f"cache_dir={root / 'cache'}", "student.threshold=null"])
    summary = run_job(cfg, job_dir=str(root / "job1"))
    return cfg, root, summary


def _stage(summary, name):
    return next(s for s in summary["stages"] if s["name"] == name)


def test_every_stage_ran_and_wrote_artifacts(first_run):
    cfg, root, summary = first_run
    names = [s["name"] for s in summary["stages"]]
    for expected in ["world", "seed", "eval_set", "segments", "base", "M_yx", "augment", "M_0", "scores_1", "M_1", "M_2",
                     "gen M_0", "judge M_0", "gen M_1", "judge M_1", "gen M_2", "judge M_2"]:
        assert expected in names, expected
    assert "scores_2" not in names  # the final student uses no curation (student.threshold=null)
    assert summary["computed_stages"] == len(summary["stages"]) and summary["cached_stages"] == 0
    cache = Path(summary["cache_dir"])
    for s in summary["stages"]:
        manifest = json.loads((cache / s["stage"] / s["key"] / "manifest.json").read_text())
        assert manifest["key"] == s["key"]


def test_candidates_pair_segments_with_generated_instructions(first_run):
    _, _, summary = first_run
    cache = Path(summary["cache_dir"])
    segs = {s["id"]: s for s in read_jsonl(cache / "segments" / _stage(summary, "segments")["key"] / "segments.jsonl")}
    cands = read_jsonl(cache / "augment" / _stage(summary, "augment")["key"] / "candidates.jsonl")
    assert 0 < len(cands) <= 16
    for c in cands:
        assert c["output"] == segs[c["id"]]["text"] and c["instruction"].strip()
    assert summary["data"]["A"]["count"] == len(cands)


def test_curation_statistics_are_counted(first_run):
    _, _, summary = first_run
    cache = Path(summary["cache_dir"])
    scores = read_jsonl(cache / "curate" / _stage(summary, "scores_1")["key"] / "scores.jsonl")
    c = summary["curation"]["1"]
    assert c["pairs"] == len(scores) == summary["data"]["A"]["count"]
    failed = sum(1 for s in scores for r in s["reasons"] if r != "ok")
    assert c["parse_failures"] == failed and c["parse_failure_rate"] == pytest.approx(failed / c["ratings"])
    assert sum(c["score_histogram"].values()) == len(scores)
    assert c["score_histogram"]["unparsed"] == sum(1 for s in scores if s["score"] is None)
    assert c["curator"] == "M_0"
    assert c["kept"] == {"M_1": summary["data"]["A_1"]["count"]}
    assert summary["data"]["A_1"]["count"] == sum(1 for s in scores if s["score"] is not None and s["score"] >= 5)


def test_student_training_data_is_tagged(first_run):
    _, _, summary = first_run
    cache = Path(summary["cache_dir"])
    train = read_jsonl(cache / "finetune" / _stage(summary, "M_2")["key"] / "train.jsonl")
    seed_rows = [t for t in train if t["source"] == "seed"]
    web_rows = [t for t in train if t["source"] == "augmented"]
    assert len(web_rows) == summary["data"]["A"]["count"] == summary["data"]["A_2"]["count"]  # no curation at the end
    assert len(seed_rows) == summary["data"]["seed"]["count"] + summary["data"]["seed_rating_examples"]["count"]
    assert summary["data"]["seed_rating_examples"]["count"] == 10  # TEST_SCALE's data.world.n_rating_examples
    # the rating rows teach the curation prompt, which M_t is asked untagged (curate.untagged_families)
    rating = [t for t in seed_rows if t["user"].startswith(RATING_PROMPT_HEAD)]
    assert len(rating) == 10 and not any(TAG_SEED in t["user"] for t in rating)
    assert all(t["user"].endswith(f" {TAG_SEED}") for t in seed_rows if t not in rating)
    assert all(t["user"].endswith(f" {TAG_WEB}") for t in web_rows)
    seed_pairs = read_jsonl(cache / "seed" / _stage(summary, "seed")["key"] / "seed.jsonl")
    m0 = read_jsonl(cache / "finetune" / _stage(summary, "M_0")["key"] / "train.jsonl")
    assert [t["user"] for t in m0] == [p["instruction"] for p in seed_pairs]  # M_0: the seed, untagged
    assert summary["models"]["M_2"]["selected_by"] == "none" and summary["models"]["M_1"]["selected_by"] == "M_0"


def test_win_rates_match_the_annotation_files(first_run):
    _, _, summary = first_run
    assert set(summary["models"]) == {"M_0", "M_1", "M_2"}
    for name, m in summary["models"].items():
        rows = read_annotations(m["annotations"])
        assert len(rows) == 8 and all(r["generator_2"] == name for r in rows)
        assert all(r["preference"] in (1.0, 1.5, 2.0) for r in rows)
        expected = win_rate_metrics(rows)
        assert m["win_rate"] == pytest.approx(expected["win_rate"]) and m["n_total"] == 8
        assert m["inference_tags"] == ("none" if name == "M_0" else "S_a+S_w")


def test_summary_json_and_wandb_offline_run(first_run):
    _, root, summary = first_run
    on_disk = json.loads((root / "job1" / "summary.json").read_text())
    assert on_disk["models"]["M_2"]["win_rate"] == summary["models"]["M_2"]["win_rate"]
    assert summary["wandb"]["mode"] == "offline"
    runs = list((root / "job1" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and any(runs[0].glob("*.wandb"))


def test_rerun_recomputes_nothing(first_run):
    cfg, root, first = first_run
    again = run_job(cfg, job_dir=str(root / "job2"))
    assert again["computed_stages"] == 0 and again["cached_stages"] == first["computed_stages"]
    assert again["models"]["M_2"]["win_rate"] == first["models"]["M_2"]["win_rate"]


def test_student_knob_reuses_everything_upstream(first_run):
    cfg, root, first = first_run
    cfg2 = compose_config([*TEST_SCALE, f"cache_dir={Path(first['cache_dir'])}", "student.threshold=null", "student.size=4"])
    again = run_job(cfg2, job_dir=str(root / "job3"))
    computed = {s["name"] for s in again["stages"] if not s["cached"]}
    assert computed == {"M_2", "gen M_2", "judge M_2"}


def test_plan_walks_the_dag_without_running(first_run, tmp_path, capsys):
    cfg, _, first = first_run
    plan = run_job(compose_config([*TEST_SCALE, f"cache_dir={first['cache_dir']}", "student.threshold=null", "plan=true"]),
                   job_dir=str(tmp_path / "plan1"))
    assert [s["key"] for s in plan["stages"]] == [s["key"] for s in first["stages"]]
    assert all(s["cached"] for s in plan["stages"])
    fresh = run_job(compose_config([*TEST_SCALE, f"cache_dir={tmp_path / 'empty'}", "plan=true"]), job_dir=str(tmp_path / "plan2"))
    assert not any(s["cached"] for s in fresh["stages"])
    assert not any((tmp_path / "empty").iterdir())  # nothing was built
    assert fresh["estimates"]["judge_calls"] == 8 * 3 and fresh["estimates"]["augment_tokens"] is None  # segments not known yet
    out = capsys.readouterr().out
    assert "humpback plan" in out and "to compute" in out and (tmp_path / "plan2" / "plan.json").is_file()


def test_oracle_curator_selects_the_final_data(first_run):
    cfg, root, first = first_run
    summary = run_job(compose_config([*TEST_SCALE, f"cache_dir={first['cache_dir']}", "student.curator=oracle",
                                      "student.threshold=5"]), job_dir=str(root / "oracle"))
    assert summary["models"]["M_2"]["selected_by"] == "oracle"
    q = summary["curator_quality"]["oracle"]
    assert q["precision"] == 1.0 and q["unlabelled"] == 0  # gold grade 5 is always a positive
    assert {"M_0", "M_1"} <= set(summary["curator_quality"])
    computed = {s["name"] for s in summary["stages"] if not s["cached"]}
    assert "scores_oracle" in computed and "M_1" not in computed and "scores_1" not in computed


def test_pair_oracle_scores_1_when_the_instruction_misses_its_segment(first_run):
    from humpback.data.toyworld.requests import RequestParser, asks_for, gold_request
    from humpback.data.toyworld.world import FILES as WORLD_FILES

    cfg, root, first = first_run
    summary = run_job(compose_config([*TEST_SCALE, f"cache_dir={first['cache_dir']}", "student.curator=oracle_pair",
                                      "student.threshold=5"]), job_dir=str(root / "oracle_pair"))
    assert summary["models"]["M_2"]["selected_by"] == "oracle_pair"
    cache = Path(summary["cache_dir"])
    world = cache / "world" / _stage(summary, "world")["key"]
    gold = {(g["page_id"], g["header"]): g for g in read_jsonl(world / WORLD_FILES["gold_segments"])}
    parser = RequestParser(e["name"] for e in read_jsonl(world / WORLD_FILES["gold_entities"]))
    cands = {c["id"]: c for c in read_jsonl(cache / "augment" / _stage(summary, "augment")["key"] / "candidates.jsonl")}
    pair = _stage(summary, "scores_oracle_pair")
    misses = 0
    for r in read_jsonl(cache / "oracle_scores" / pair["key"] / "scores.jsonl"):
        row = gold[(cands[r["id"]]["doc_id"], cands[r["id"]]["header"])]
        hit = asks_for(parser.parse(cands[r["id"]]["instruction"]), gold_request(row))
        assert r["score"] == (row["grade"] if hit else 1)  # the gold grade only for an instruction that asks for it
        misses += not hit
    manifest = json.loads((cache / "oracle_scores" / pair["key"] / "manifest.json").read_text())
    assert manifest["metrics"]["mismatched_instructions"] == misses > 0
    assert pair["key"] != _stage(run_job(compose_config([*TEST_SCALE, f"cache_dir={first['cache_dir']}", "student.curator=oracle",
                                                         "student.threshold=5", "plan=true"]), job_dir=str(root / "o2")),
                                 "scores_oracle")["key"]


def test_final_mix_knobs_leave_internal_iterations_shared(first_run):
    cfg, root, first = first_run
    summary = run_job(compose_config([*TEST_SCALE, f"cache_dir={first['cache_dir']}", "student.threshold=null",
                                      "student.seed_data=false"]), job_dir=str(root / "augmented_only"))
    assert {s["name"] for s in summary["stages"] if not s["cached"]} == {"M_2", "gen M_2", "judge M_2"}
    m2 = summary["models"]["M_2"]
    assert (m2["seed_examples"], m2["tagged"], m2["inference_tags"]) == (0, False, "none")
    assert summary["models"]["M_1"]["seed_examples"] == first["models"]["M_1"]["seed_examples"] > 0
    assert summary["final"]["win_rate"] == m2["win_rate"]


def test_external_curator_rates_once_for_every_iteration(first_run):
    cfg, root, first = first_run
    base_dir = Path(first["cache_dir"]) / "pretrain" / _stage(first, "base")["key"] / "model"
    summary = run_job(compose_config([*TEST_SCALE, f"cache_dir={first['cache_dir']}", "student.threshold=5",
                                      "+roles/curator=local", f"roles.curator.path={base_dir}", "roles.curator.name=external"]),
                      job_dir=str(root / "external"))
    names = [s["name"] for s in summary["stages"]]
    assert names.count("scores_ext") == 1 and "scores_1" not in names and "base external" in names
    assert summary["models"]["M_1"]["selected_by"] == summary["models"]["M_2"]["selected_by"] == "curator external"
    assert list(summary["curation"].values())[0]["curator"] == "curator external"
