"""humpback-report on synthetic multirun trees (summary.json shaped as the pipeline writes it): exact
table values, the alpha fit, missing points shown as missing, PNG figures, W&B logging that never fails."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import yaml

from humpback.cli.report import main as report_main
from humpback.report import build_report, fit_log_scaling, load_groups

PNG = b"\x89PNG\r\n\x1a\n"


def final_model(win, se, seed=200, aug=25, tagged=True, inference="S_a+S_w", selected_by="M_1"):
    return {"train_examples": seed + aug, "seed_examples": seed, "augmented_examples": aug, "tagged": tagged,
            "final_loss": 0.5, "selected_by": selected_by, "inference_tags": inference, "win_rate": win,
            "standard_error": se, "n_wins": 1, "n_wins_base": 2, "n_draws": 0, "n_total": 40, "annotations": "x.json"}


def summary(win, se=1.0, *, threshold=5.0, size=25, seed_data=True, augmented=True, tags=True, inference="S_a+S_w",
            curator="previous", iterations=2, model="scratch-tiny", aug=None, selected_by="M_1", m0=(10.0, 2.0), quality=None,
            seed=None):
    name = f"M_{iterations}"
    models = {"M_0": final_model(*m0, aug=0, tagged=False, inference="none", selected_by=None)}
    if iterations:
        used = aug if aug is not None else (size or 47)
        models[name] = final_model(win, se, seed=200 if seed_data else 0, aug=used, tagged=tags and seed_data,
                                   inference=inference if tags and seed_data else "none", selected_by=selected_by)
    else:
        models["M_0"] = final_model(win, se, aug=0, tagged=False, inference="none", selected_by=None)
    stats = {"count": 3, "instruction_mean": 40.0, "instruction_sd": 10.0, "output_mean": 300.0, "output_sd": 80.0}
    return {
        "experiment": "sweep_cpu",
        "axes": {"curation_threshold": threshold, "augmented_size": size, "train_tags": tags, "inference_tags": inference,
                 "model_size": model, "iterations": iterations, "seed_data": seed_data, "augmented": augmented,
                 "curation_mode": "generate", "curator": curator, **({} if seed is None else {"seed": seed})},
        "models": models, "final_model": name,
        "data": {"seed": {**stats, "count": 240, "instruction_mean": 478.85, "instruction_sd": 986.18,
                          "output_mean": 179.82, "output_sd": 120.37},
                 "A": {**stats, "count": 277}, f"A_{iterations}": {**stats, "count": size or 47, "threshold": threshold,
                                                                    "size": size, "curator": "M_1"}},
        "curation": {"1": {"pairs": 277, "ratings": 277, "parse_failures": 84, "parse_failure_rate": 84 / 277,
                           "failure_reasons": {"missing": 81, "not_a_number": 3}, "unscored_pairs": 84,
                           "score_histogram": {"1": 33, "2": 44, "3": 35, "4": 34, "5": 47, "unparsed": 84},
                           "mode": "generate", "kept": {"M_1": 47}, "threshold": 5.0, "curator": "M_0"}},
        "curator_quality": quality or {"M_0": {"precision": 0.468, "recall": 0.172, "selected": 47, "positives": 128,
                                               "labelled": 277, "unlabelled": 0, "threshold": 5.0}},
        "stages": [], "computed_stages": 0, "cached_stages": 0, "seconds": 1.0,
    }


def write_sweep(root: Path, name: str, jobs: list[dict], params: dict[str, str], task: list[str] = ()) -> Path:
    """A multirun dir as Hydra lays it out: multirun.yaml, then <num>/summary.json and <num>/.hydra/hydra.yaml."""
    root.mkdir(parents=True)
    hydra = {"sweeper": {"params": params}, "overrides": {"task": list(task)}, "job": {"config_name": name}}
    (root / "multirun.yaml").write_text(yaml.safe_dump({"hydra": hydra}))
    for num, s in enumerate(jobs):
        if s is None:  # a launched job that never wrote its summary
            (root / str(num) / ".hydra").mkdir(parents=True)
            continue
        (root / str(num) / ".hydra").mkdir(parents=True)
        job = {"hydra": {"job": {"num": num, "config_name": name}}}
        (root / str(num) / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump(job))
        (root / str(num) / "summary.json").write_text(json.dumps(s))
    return root


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def md_rows(path: Path) -> list[list[str]]:
    lines = [line for line in path.read_text().splitlines() if line.startswith("| ")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines]


def test_alpha_fit_recovers_the_papers_coefficient():
    sizes = [100, 800, 1600, 3200, 6400, 12800, 25600]
    fit = fit_log_scaling(sizes, [6.95 * math.log(n) + 3.0 for n in sizes])
    assert fit.alpha == pytest.approx(6.95) and fit.intercept == pytest.approx(3.0) and fit.r2 == pytest.approx(1.0)
    assert fit.points == 7
    assert fit_log_scaling([100, 100], [1.0, 2.0]) is None  # one distinct size: no line
    with pytest.raises(ValueError, match="positive"):
        fit_log_scaling([0, 10], [1.0, 2.0])


@pytest.fixture
def qvq(tmp_path):
    wins = {("none", 25): 51.5, ("none", 50): 49.1, ("none", 100): 51.1, (4.0, 25): 55.6, (4.0, 50): 60.1,
            (4.0, 100): 65.8, (5.0, 25): 61.4, (5.0, 50): 67.2}  # (5, 100) failed
    jobs = []
    for k in ("none", 4.0, 5.0):
        for n in (25, 50, 100):
            w = wins.get((k, n))
            jobs.append(None if w is None else summary(w, 3.04, threshold=None if k == "none" else k, size=n,
                                                       aug=20 if (k, n) == (5.0, 50) else n))
    return write_sweep(tmp_path / "quality_vs_quantity_07-00-00", "quality_vs_quantity", jobs,
                       {"student.threshold": "null,4,5", "student.size": "25,50,100"})


def test_quality_vs_quantity_table_shows_values_used_sizes_and_missing(qvq, tmp_path):
    report = build_report([qvq], tmp_path / "out")
    rows = md_rows(tmp_path / "out" / "quality_vs_quantity.md")
    assert rows[0] == ["curation", "N=25", "N=50", "N=100"]
    assert rows[1] == ["no curation", "51.50 ± 3.04", "49.10 ± 3.04", "51.10 ± 3.04"]
    assert rows[2] == ["A_4", "55.60 ± 3.04", "60.10 ± 3.04", "65.80 ± 3.04"]
    assert rows[3] == ["A_5", "61.40 ± 3.04", "67.20 ± 3.04 (20 used)", "missing"]
    records = read_csv(tmp_path / "out" / "quality_vs_quantity.csv")
    assert len(records) == 9
    gone = [r for r in records if r["status"] == "missing"]
    assert len(gone) == 1 and gone[0]["threshold"] == "5" and gone[0]["size"] == "100" and gone[0]["win_rate"] == ""
    assert next(r for r in records if r["curation"] == "A_4" and r["size"] == "50")["win_rate"] == "60.1"
    png = tmp_path / "out" / "quality_vs_quantity.png"
    assert png.read_bytes()[:8] == PNG and png in report.files
    index = (tmp_path / "out" / "report.md").read_text()
    assert "8 jobs with summary.json of 9 launched" in index and "1 sweep points have no summary.json" in index


def test_requested_value_without_any_job_is_a_missing_column(tmp_path):
    root = write_sweep(tmp_path / "mr", "quality_vs_quantity", [summary(50.0, size=25, threshold=None)],
                       {"student.threshold": "null", "student.size": "25"}, task=["student.size=25,400"])
    build_report([root], tmp_path / "out")
    rows = md_rows(tmp_path / "out" / "quality_vs_quantity.md")
    assert rows[0] == ["curation", "N=25", "N=400"] and rows[1] == ["no curation", "50.00 ± 1.00", "missing"]


def test_data_scaling_fits_alpha_on_distinct_real_sizes(tmp_path):
    sizes = [100, 800, 1600, 3200]
    jobs = [summary(6.95 * math.log(n) + 3.0, threshold=5.0, size=n, seed_data=False) for n in sizes]
    jobs.append(summary(99.0, threshold=5.0, size=6400, aug=3200, seed_data=False))  # capped: same data as N=3200
    jobs += [summary(4.43 * math.log(n) + 10.0, threshold=None, size=n, seed_data=False) for n in sizes]
    jobs.append(None)  # threshold null, N=6400 failed
    root = write_sweep(tmp_path / "ds", "data_scaling", jobs,
                       {"student.threshold": "5,null", "student.size": "100,800,1600,3200,6400"})
    build_report([root], tmp_path / "out")
    rows = md_rows(tmp_path / "out" / "data_scaling.md")
    assert rows[0] == ["data", "alpha", "C", "R^2", "points (N used)"]
    assert rows[1] == ["A_5", "6.95", "3.00", "1.000", "100, 800, 1600, 3200"]
    assert rows[2] == ["no curation", "4.43", "10.00", "1.000", "100, 800, 1600, 3200"]
    points = read_csv(tmp_path / "out" / "data_scaling_points.csv")
    capped = next(p for p in points if p["data"] == "A_5" and p["size"] == "6400")
    assert capped["in_fit"] == "False" and capped["augmented_examples"] == "3200"
    assert next(p for p in points if p["data"] == "no curation" and p["size"] == "6400")["status"] == "missing"
    assert md_rows(tmp_path / "out" / "data_scaling_points.md")[2][-1] == "missing"
    assert (tmp_path / "out" / "data_scaling.png").read_bytes()[:8] == PNG


def test_system_prompt_rows_follow_the_paper(tmp_path):
    wins = {(True, "S_a+S_w"): 66.47, (True, "S_a"): 62.69, (True, "none"): 62.70}
    jobs = [summary(wins.get((tags, inf), 59.96), 3.0, tags=tags, inference=inf)
            for tags in (True, False) for inf in ("none", "S_a", "S_a+S_w")]
    root = write_sweep(tmp_path / "sp", "system_prompt", jobs,
                       {"student.tags": "true,false", "eval.inference_tags": "none,S_a,S_a+S_w"})
    build_report([root], tmp_path / "out")
    rows = md_rows(tmp_path / "out" / "system_prompt.md")
    assert [r[:3] for r in rows[1:]] == [["tags", "S_a+S_w", "66.47 ± 3.00"], ["none", "none", "59.96 ± 3.00"],
                                         ["tags", "S_a", "62.69 ± 3.00"], ["tags", "none", "62.70 ± 3.00"]]


def test_curator_quality_joins_precision_recall_and_student_win_rate(tmp_path):
    quality = {"M_0": {"precision": 0.44, "recall": 0.09, "selected": 10, "positives": 50, "labelled": 250, "threshold": 5.0},
               "M_1": {"precision": 0.52, "recall": 0.44, "selected": 42, "positives": 50, "labelled": 250, "threshold": 5.0}}
    oracle = {**quality, "oracle": {"precision": 1.0, "recall": 1.0, "selected": 50, "positives": 50, "labelled": 250,
                                    "threshold": 5.0}}
    jobs = [summary(35.71, curator="M_0", selected_by="M_0", seed_data=False, size=100, quality=quality),
            summary(37.70, curator="M_1", selected_by="M_1", seed_data=False, size=100, quality=quality),
            None]  # the oracle job failed
    root = write_sweep(tmp_path / "cq", "curator_quality", jobs, {"student.curator": "M_0,M_1,oracle"})
    build_report([root], tmp_path / "out")
    rows = md_rows(tmp_path / "out" / "curator_quality.md")
    assert rows[1] == ["M_0", "0.44", "0.09", "10", "50", "35.71 ± 1.00", "100"]
    assert rows[2] == ["M_1", "0.52", "0.44", "42", "50", "37.70 ± 1.00", "100"]
    assert rows[3][0] == "oracle" and rows[3][1] == "missing" and rows[3][5] == "missing"
    # with the oracle job present, its precision comes from that job
    jobs[2] = summary(41.04, curator="oracle", selected_by="oracle", seed_data=False, size=100, quality=oracle)
    root2 = write_sweep(tmp_path / "cq2", "curator_quality", jobs, {"student.curator": "M_0,M_1,oracle"})
    build_report([root2], tmp_path / "out2")
    assert md_rows(tmp_path / "out2" / "curator_quality.md")[3] == ["oracle", "1.00", "1.00", "50", "50", "41.04 ± 1.00", "100"]


def test_joint_training_iterations_and_model_size(tmp_path):
    jt = [summary(10.0 * (i + 1), seed_data=s, threshold=k, size=n)
          for i, (s, k, n) in enumerate((s, k, n) for s in (True, False) for k in (None, 5.0) for n in (25, 50))]
    build_report([write_sweep(tmp_path / "jt", "joint_training", jt,
                              {"student.seed_data": "true,false", "student.threshold": "null,5", "student.size": "25,50"})],
                 tmp_path / "o1")
    rows = md_rows(tmp_path / "o1" / "joint_training.md")
    assert rows[1] == ["seed + augmented (no curation)", "10.00 ± 1.00", "20.00 ± 1.00"]
    assert rows[4] == ["augmented only (A_5)", "70.00 ± 1.00", "80.00 ± 1.00"]
    assert rows[5] == ["seed only (M_0)", "10.00 ± 2.00", "10.00 ± 2.00"]
    it = [summary(5.0 + t, iterations=t, size=None) for t in (0, 1, 2)]
    build_report([write_sweep(tmp_path / "it", "iterations", it, {"curate.iterations": "0,1,2,3"})], tmp_path / "o2")
    rows = md_rows(tmp_path / "o2" / "iterations.md")
    assert [r[0] for r in rows[1:]] == ["0", "1", "2", "3"]
    assert rows[1][1] == "M_0" and rows[3][-1] == "7.00 ± 1.00" and rows[4][1:] == ["missing"] * 3 + ["", "missing"]
    assert rows[2][4] == "30.3%"  # iteration 1's ratings: 84 of 277 unparsed
    ms = [summary(20.0, model="scratch-xs", size=None), None, summary(30.0, model="scratch-tiny", size=None)]
    root = write_sweep(tmp_path / "ms", "model_size", ms, {"student_model@roles.student": "scratch_xs,scratch_s,scratch_tiny"})
    # the failed job's saved config names its student, so its row shows up as missing
    saved = {"student": {"threshold": 5.0, "size": None}, "roles": {"student": {"name": "scratch-s"}},
             "model": {"name": "scratch-tiny"}}
    (root / "1" / ".hydra" / "config.yaml").write_text(yaml.safe_dump(saved))
    build_report([root], tmp_path / "o3")
    rows = md_rows(tmp_path / "o3" / "model_size.md")
    assert rows[1] == ["scratch-xs", "10.00 ± 2.00", "20.00 ± 1.00"] and rows[3][0] == "scratch-tiny"
    assert rows[2] == ["scratch-s", "missing", "missing"]
    assert (tmp_path / "o3" / "model_size.png").read_bytes()[:8] == PNG


def test_general_tables_dedupe_shared_stages(qvq, tmp_path):
    build_report([qvq], tmp_path / "out")
    data = md_rows(tmp_path / "out" / "table1_data.md")
    assert data[1] == ["seed", "240", "479 ± 986", "180 ± 120"] and data[2] == ["A (all)", "277", "40 ± 10", "300 ± 80"]
    assert sum(r[0] == "seed" for r in data) == 1  # eight jobs, one seed row
    assert ["A_4^(2), N=50", "50", "40 ± 10", "300 ± 80"] in data
    failures = md_rows(tmp_path / "out" / "parse_failures.md")
    assert failures[1:] == [["1", "M_0", "generate", "277", "277", "84", "30.3%", "missing 81, not_a_number 3"]]
    assert (tmp_path / "out" / "score_histograms.png").read_bytes()[:8] == PNG
    assert md_rows(tmp_path / "out" / "curator_precision_recall.md")[1][:4] == ["M_0", "5.00", "0.47", "0.17"]


def test_sweep_is_guessed_from_the_axes_without_hydra_files(tmp_path):
    for i, (k, n) in enumerate([(None, 10), (5.0, 10)]):
        (tmp_path / "runs" / str(i)).mkdir(parents=True)
        (tmp_path / "runs" / str(i) / "summary.json").write_text(json.dumps(summary(1.0 + i, threshold=k, size=n)))
    [group] = load_groups([tmp_path / "runs"])
    assert group.sweep is None and len(group.jobs) == 2
    build_report([tmp_path / "runs"], tmp_path / "out")
    assert md_rows(tmp_path / "out" / "quality_vs_quantity.md")[1:] == [["no curation", "1.00 ± 1.00"], ["A_5", "2.00 ± 1.00"]]


def test_cli_writes_report_and_wandb_failure_never_fails(qvq, tmp_path, monkeypatch, capsys):
    import wandb

    def broken(*a, **k):
        raise RuntimeError("W&B is down")

    monkeypatch.setattr(wandb, "init", broken)
    assert report_main([str(qvq), "--out", str(tmp_path / "r"), "--wandb", "--wandb-mode", "offline"]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "quality_vs_quantity.png" in out and "W&B: not logged" in out
    assert report_main([str(tmp_path / "nope")]) == 2


def test_cli_logs_tables_and_figures_to_an_offline_wandb_run(qvq, tmp_path, capsys):
    assert report_main([str(qvq), "--out", str(tmp_path / "r"), "--wandb", "--wandb-mode", "offline"]) == 0
    runs = list((tmp_path / "r" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and any(runs[0].glob("*.wandb"))
    assert "W&B: " + str(runs[0]) in capsys.readouterr().out


# Replicates and paired differences. Annotation files hold four prompts; each job's win rate and SE are
# computed from its file, as the pipeline does.
def judged(path: Path, prefs: list[float], name: str = "M_2") -> dict:
    from humpback.evaluation.annotations import write_annotations
    from humpback.evaluation.metrics import win_rate_from_preferences

    path.parent.mkdir(parents=True, exist_ok=True)
    write_annotations(path, [{"instruction": f"p{i}", "output_1": "ref", "output_2": "out", "generator_2": name,
                              "preference": p} for i, p in enumerate(prefs, 1)])
    return {**win_rate_from_preferences(prefs), "annotations": str(path)}


def with_judgements(s: dict, where: Path, prefs: dict[str, list[float]]) -> dict:
    for name, p in prefs.items():
        s["models"].setdefault(name, dict(s["models"][s["final_model"]]))
        s["models"][name].update(judged(where / f"{name}.json", p, name))
    return s


def test_replicates_show_mean_and_se_across_seeds_beside_the_prompt_se(tmp_path):
    jobs = [summary(w, se, threshold=None, size=25, seed=seed) for seed, (w, se) in enumerate([(40.0, 3.0), (50.0, 5.0)])]
    jobs.append(summary(60.0, 2.0, threshold=5.0, size=25, seed=0))  # A_5: one seed finished
    root = write_sweep(tmp_path / "qvq", "quality_vs_quantity", jobs + [None],
                       {"seed": "0,1", "student.threshold": "null,5", "student.size": "25"})
    build_report([root], tmp_path / "out")
    rows = md_rows(tmp_path / "out" / "quality_vs_quantity.md")
    # mean 45, SD of (40, 50) = 7.07, SE = 7.07 / sqrt(2) = 5.00; prompt SE = mean(3, 5) = 4
    assert rows[1] == ["no curation", "45.00 ± 5.00 (2 seeds; prompt SE 4.00)"]
    assert rows[2] == ["A_5", "60.00 ± 2.00"]
    rec = next(r for r in read_csv(tmp_path / "out" / "quality_vs_quantity.csv") if r["curation"] == "no curation")
    assert (rec["n_seeds"], rec["seeds"], rec["win_rate"], rec["standard_error"]) == ("2", "0 1", "45.0", "4.0")
    assert float(rec["seed_standard_error"]) == pytest.approx(5.0)


def test_seed_axis_is_read_from_the_saved_config_of_older_summaries(tmp_path):
    root = write_sweep(tmp_path / "mr", "config", [summary(1.0), summary(3.0)], {"seed": "0,1"})
    for num in (0, 1):
        (root / str(num) / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"seed": num, "student": {"size": 25}}))
    [group] = load_groups([root])
    assert [j.seed for j in group.jobs] == ["0", "1"] and len({j.configuration for j in group.jobs}) == 1
    build_report([root], tmp_path / "out")  # only the seed varies: each model over the seeds
    rows = md_rows(tmp_path / "out" / "replicates.md")
    assert rows[0][:5] == ["model", "win rate", "SE (seeds)", "SE (prompts)", "seeds"]
    assert rows[2][:5] == ["M_2", "2.00", "1.00", "1.00", "2"]


# The reproduction sweep's points (sweeps/reproduce_cpu.yaml, conf/contrast/) as axes.
POINTS = {"default": {}, "no_curation": {"threshold": None}, "a4": {"threshold": 4.0}, "seed_only": {"augmented": False},
          "a5_only": {"seed_data": False}, "untagged": {"tags": False}, "inference_sa": {"inference": "S_a"},
          "inference_none": {"inference": "none"}, "curator_m0": {"curator": "M_0", "selected_by": "M_0"},
          "curator_oracle": {"curator": "oracle", "selected_by": "oracle"}}
FLAT = [1.5, 1.5, 1.5, 1.5]
# Hand-worked quality vs quantity (prompts p1..p4):
#   seed 0: no curation 1, 1.5, 2, 1 (37.5) -> A_5 2, 1.5, 2, 1.5 (75.0): differences 100, 0, 0, 50
#   seed 1: no curation 1, 1, 1.5, 1.5 (25.0) -> A_5 1.5, 1.5, 2, 1.5 (62.5): differences 50, 50, 50, 0
# pooled 8 pairs: mean 37.5; squared deviations 3906.25 + 3 x 1406.25 + 4 x 156.25 = 8750, variance 8750 / 7
# = 1250, SD 35.36, SE = 35.36 / sqrt(8) = 12.50, z = 3.0; per-seed means 37.5 and 37.5: seed SE 0.
PREFS = {("no_curation", 0): [1, 1.5, 2, 1], ("no_curation", 1): [1, 1, 1.5, 1.5],
         ("default", 0): [2, 1.5, 2, 1.5], ("default", 1): [1.5, 1.5, 2, 1.5]}


def reproduction_sweep(root: Path, seeds=(0, 1)) -> Path:
    jobs = []
    for seed in seeds:
        for point, axes in POINTS.items():
            q = {"M_0": {"precision": 0.4 + 0.1 * seed, "recall": 0.1, "selected": 10, "positives": 50, "labelled": 277,
                         "threshold": 5.0},
                 "M_1": {"precision": 0.5, "recall": 0.4, "selected": 20, "positives": 50, "labelled": 277, "threshold": 5.0}}
            if point == "curator_oracle":
                q["oracle"] = {"precision": 1.0, "recall": 1.0, "selected": 94, "positives": 94, "labelled": 277,
                               "threshold": 5.0}
            s = summary(0.0, size=20, seed=seed, quality=q, **{k: v for k, v in axes.items() if k != "selected_by"},
                        selected_by=axes.get("selected_by", "M_1"))
            prefs = {"M_0": [1, 1.5, 1, 1.5], "M_1": FLAT, "M_2": PREFS.get((point, seed), FLAT)}
            jobs.append(with_judgements(s, root / "cache" / f"{point}_{seed}", prefs))
    return write_sweep(root / "mr", "reproduce_cpu", jobs,
                       {"seed": ",".join(map(str, seeds)), "+contrast": ",".join(POINTS)})


def test_reproduction_tables_pair_contrasts_over_seeds_and_prompts(tmp_path):
    root = reproduction_sweep(tmp_path)
    report = build_report([root], tmp_path / "out")
    out = tmp_path / "out"
    qvq = md_rows(out / "reproduce_quality_vs_quantity.md")
    assert qvq[0] == ["augmented data", "win rate", "SE (seeds)", "SE (prompts)", "seeds", "seed + aug",
                      "Δ vs no curation (paired)", "z", "Δ SE (seeds)", "pairs", "paper", "paper Δ"]
    assert qvq[1][:7] == ["no curation", "31.25", "6.25", qvq[1][3], "2", "200 + 20", "reference"] and qvq[1][-2] == "51.50"
    assert qvq[3] == ["A_5", "68.75", "6.25", qvq[3][3], "2", "200 + 20", "+37.50 ± 12.50", "3.0", "0.00", "8", "61.40",
                      "+9.90"]
    # A_4 (all 1.5) against no curation: differences 50, 0, -50, 50 and 50, 50, 0, 0: mean 18.75, SE 13.15
    assert qvq[2][0] == "A_4" and qvq[2][6] == "+18.75 ± 13.15"
    records = read_csv(out / "reproduce_quality_vs_quantity.csv")
    a5 = next(r for r in records if r["arm"] == "A_5")
    assert float(a5["diff_mean_difference"]) == 37.5 and a5["diff_n"] == "8" and a5["paper_ref"] == "Fig 3 v1 / Fig 2 v3"
    sp = md_rows(out / "reproduce_system_prompt.md")
    assert [r[0] for r in sp[1:]] == ["tags -> S_a+S_w", "none -> none", "tags -> S_a", "tags -> none"]
    assert sp[1][-2:] == ["66.47 ± 3.04", "+6.51"] and sp[2][6] == "reference"
    cq = md_rows(out / "reproduce_curator_quality.md")
    assert cq[1][10:13] == ["0.45", "0.10", "0.44 / 0.09"]  # M_0's precision: mean of 0.4 and 0.5 over seeds
    assert cq[3][0] == "oracle" and cq[3][10:12] == ["1.00", "1.00"] and cq[3][-2] == "41.04"
    it = md_rows(out / "reproduce_iterations.md")
    # M_1 (all 1.5) against M_0 (1, 1.5, 1, 1.5) in both seeds: differences 50, 0, 50, 0 twice: SE 26.73 / sqrt(8)
    assert [r[0] for r in it[1:]] == ["M_0", "M_1", "M_2"] and it[2][6] == "+25.00 ± 9.45"
    effects = md_rows(out / "reproduce_effects.md")
    assert ["quality_vs_quantity", "A_5 − no curation", "+37.50 ± 12.50", "3.0", "0.00", "2", "8", "+9.90"] in effects
    assert len(effects) == 1 + 2 + 2 + 2 + 3 + 2 + 2  # header + the effects of five contrasts + the two extra ones
    assert [r[:2] for r in effects[-2:]] == [["joint_training", "seed + A_5 − A_5 only"],
                                            ["system_prompt", "tags -> S_a+S_w − tags -> none"]]
    for name in ("effects", "iterations", "quality_vs_quantity", "joint_training", "system_prompt", "curator_quality"):
        png = out / f"reproduce_{name}.png"
        assert png.read_bytes()[:8] == PNG and png in report.files


def test_reproduction_with_one_seed_and_a_missing_point(tmp_path):
    root = reproduction_sweep(tmp_path, seeds=(0,))
    (root / "2" / "summary.json").unlink()  # the A_4 job failed
    build_report([root], tmp_path / "out")
    qvq = md_rows(tmp_path / "out" / "reproduce_quality_vs_quantity.md")
    assert qvq[2][:2] == ["A_4", "missing"] and qvq[2][6] == "n/a"
    # one seed: no SE across seeds; the pooled SE is the per-prompt paired SE (differences 100, 0, 0, 50)
    assert qvq[3][1:10] == ["75.00", "n/a", qvq[3][3], "1", "200 + 20", "+37.50 ± 23.94", "1.6", "n/a", "4"]


def test_paper_sweeps_add_paired_differences_when_annotations_are_there(tmp_path):
    # quality vs quantity at one N, seeds 0 and 1, the hand-worked preferences of PREFS: A_5 - no curation
    # = 37.50 ± 12.50 over 8 pairs, z 3.0
    jobs = []
    for seed in (0, 1):
        for k, point in ((None, "no_curation"), (5.0, "default")):
            s = summary(0.0, threshold=k, size=20, seed=seed)
            jobs.append(with_judgements(s, tmp_path / "cache" / f"{point}_{seed}", {"M_2": PREFS[(point, seed)]}))
    root = write_sweep(tmp_path / "qvq", "quality_vs_quantity", jobs,
                       {"seed": "0,1", "student.threshold": "null,5", "student.size": "20"})
    build_report([root], tmp_path / "out")
    rows = md_rows(tmp_path / "out" / "quality_vs_quantity_paired.md")
    assert rows[0] == ["contrast", "effect", "Δ (paired) ± SE", "z", "Δ SE (seeds)", "seeds", "pairs"]
    assert rows[1] == ["N=20", "A_5 − no curation", "+37.50 ± 12.50", "3.0", "0.00", "2", "8"]
    assert md_rows(tmp_path / "out" / "quality_vs_quantity.md")[2][1] == "68.75 ± 6.25 (2 seeds; prompt SE 13.47)"
    # without annotation files (as in the other tests) there is nothing to pair and no paired table
    assert not (tmp_path / "out" / "system_prompt_paired.md").exists()
    # toy-world jobs also pair oracle accuracy: A_5 accurate on w1 in both seeds, no curation in neither
    for num, point in enumerate(["no_curation", "default"] * 2):
        path = root / str(num) / "summary.json"
        s = json.loads(path.read_text())
        s["models"]["M_2"]["gold"] = {"per_prompt": {"w1": {"accurate": point == "default", "split": "web_only"},
                                                     "s1": {"accurate": True, "split": "seed"}}}
        path.write_text(json.dumps(s))
    build_report([root], tmp_path / "out")
    rows = md_rows(tmp_path / "out" / "quality_vs_quantity_paired.md")
    assert rows[0][7:] == ["Δ accuracy all ± SE", "z (all)", "Δ accuracy web-only ± SE", "z (web-only)"]
    assert rows[1][7:] == ["+50.00 ± 28.87", "1.7", "+100.00 ± 0.00", "n/a"]  # all: 100, 0 twice; web-only: 100 twice


def test_a_plain_run_folder_reports(tmp_path):
    """`humpback-report outputs/runs/<date>`: a plain job's hydra.yaml holds `num: ???`, not a number."""
    job = tmp_path / "runs" / "2026-12-01" / "12-00-00_abcdef"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "hydra.yaml").write_text("hydra:\n  job:\n    num: ???\n    config_name: config\n")
    (job / "summary.json").write_text(json.dumps(summary(42.0)))
    (group,) = load_groups([tmp_path / "runs" / "2026-12-01"])
    assert [(j.num, j.summary["models"]["M_2"]["win_rate"]) for j in group.jobs] == [(0, 42.0)]


def with_gold(root: Path, flags: dict[tuple[str, int], dict[str, bool]]) -> None:
    """Give every job's final model per-prompt oracle accuracy (toy world): s1 a seed-entity prompt, w1 and
    w2 web-only ones; (point, seed) not in `flags`: nothing accurate."""
    for num, (seed, point) in enumerate((s, p) for s in (0, 1) for p in POINTS):
        path = root / str(num) / "summary.json"
        s = json.loads(path.read_text())
        acc = flags.get((point, seed), {})
        per_prompt = {k: {"accurate": acc.get(k, False), "split": "seed" if k == "s1" else "web_only"} for k in ("s1", "w1", "w2")}
        by_split = {split: {"accuracy": sum(r["accurate"] for r in per_prompt.values() if r["split"] == split) /
                            sum(r["split"] == split for r in per_prompt.values())} for split in ("seed", "web_only")}
        s["models"][s["final_model"]]["gold"] = {"per_prompt": per_prompt, "by_split": by_split}
        path.write_text(json.dumps(s))


def test_reproduction_pairs_oracle_accuracy_on_toy_world_runs(tmp_path):
    root = reproduction_sweep(tmp_path)
    everything = {"s1": True, "w1": True, "w2": True}
    with_gold(root, {("default", 0): everything, ("default", 1): everything,
                     ("no_curation", 0): {"s1": True, "w1": True}, ("no_curation", 1): {"s1": True}})
    build_report([root], tmp_path / "out")
    out = tmp_path / "out"
    qvq = md_rows(out / "reproduce_quality_vs_quantity.md")
    assert qvq[0][10:13] == ["accuracy seed / web-only", "Δ web-only accuracy vs no curation", "z (accuracy)"]
    # web-only, A_5 minus no curation: seed 0: 0, 100; seed 1: 100, 100: mean 75, SD 50, SE 25, z 3.0
    assert qvq[1][10:13] == ["100 / 25", "reference", ""] and qvq[3][10:13] == ["100 / 100", "+75.00 ± 25.00", "3.0"]
    effects = md_rows(out / "reproduce_effects.md")
    assert effects[0][7:11] == ["Δ accuracy all ± SE", "z (all)", "Δ accuracy web-only ± SE", "z (web-only)"]
    # all prompts: 0, 0, 100 and 0, 100, 100: mean 50, SD 54.77, SE 22.36, z 2.2
    [row] = [r for r in effects if r[:2] == ["quality_vs_quantity", "A_5 − no curation"]]
    assert row[7:11] == ["+50.00 ± 22.36", "2.2", "+75.00 ± 25.00", "3.0"]
    assert (out / "reproduce_effects_accuracy_web-only.png").read_bytes()[:8] == PNG
    assert "(reproduce_effects_accuracy_web-only.png)" in (out / "reproduce_effects.md").read_text()


def test_jobs_of_two_pretraining_budgets_are_two_configurations_not_replicates(tmp_path):
    jobs = [summary(w, seed=0) for w in (20.0, 40.0)]
    for job, steps in zip(jobs, (600, 2400)):
        job["axes"]["pretrain_steps"] = steps
    root = write_sweep(tmp_path / "mr", "config", jobs, {"pretrain.steps": "600,2400"})
    [group] = load_groups([root])
    assert len({j.configuration for j in group.jobs}) == 2
    assert "pretrain_steps" in group.varying()
