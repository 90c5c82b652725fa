"""Paired differences (humpback.evaluation.paired) against numbers worked by hand."""

from __future__ import annotations

import json
import math

import pytest

from humpback.evaluation.annotations import write_annotations
from humpback.evaluation.paired import (mean_across_seeds, paired_difference, paired_over_seeds, paired_scores,
                                        paired_scores_over_seeds, paired_vs_first, prompt_scores)


def rows(prefs: dict[str, float | None]) -> list[dict]:
    return [{"instruction": k, "output_1": "ref", "output_2": "out", "preference": p} for k, p in prefs.items()]


# Four prompts. Scores are preference - 1:
#   prompt   A pref (score)   B pref (score)   100 * (B - A)
#   p1       1.0  (0.0)       2.0  (1.0)       100
#   p2       1.5  (0.5)       1.5  (0.5)         0
#   p3       2.0  (1.0)       2.0  (1.0)         0
#   p4       1.0  (0.0)       1.5  (0.5)        50
# mean = 150 / 4 = 37.5 (= B's win rate 75 - A's 37.5)
# deviations 62.5, -37.5, -37.5, 12.5 -> squares sum 3906.25 + 1406.25 + 1406.25 + 156.25 = 6875
# sample variance 6875 / 3 = 2291.67, SD 47.871, SE = SD / sqrt(4) = 23.936, z = 37.5 / 23.936 = 1.567
A = rows({"p1": 1.0, "p2": 1.5, "p3": 2.0, "p4": 1.0})
B = rows({"p1": 2.0, "p2": 1.5, "p3": 2.0, "p4": 1.5})


def test_paired_difference_worked_by_hand():
    d = paired_difference(A, B)
    assert d["mean_difference"] == pytest.approx(37.5)
    assert d["standard_error"] == pytest.approx(math.sqrt(6875 / 3) / 2) == pytest.approx(23.936, abs=1e-3)
    assert d["z"] == pytest.approx(1.567, abs=1e-3)
    assert d["n"] == 4 and d["n_unmatched"] == 0
    assert paired_difference(B, A)["mean_difference"] == pytest.approx(-37.5)


def test_only_common_prompts_count_and_the_count_is_reported():
    # B without p1, plus a p5 A never saw: common p2, p3, p4 -> differences 0, 0, 50
    b = rows({"p2": 1.5, "p3": 2.0, "p4": 1.5, "p5": 2.0})
    d = paired_difference(A, b)
    assert d["n"] == 3 and d["n_unmatched"] == 2
    assert d["mean_difference"] == pytest.approx(50 / 3)
    # deviations -16.67, -16.67, 33.33 -> variance (277.8 + 277.8 + 1111.1) / 2 = 833.3, SE = 28.87 / sqrt(3)
    assert d["standard_error"] == pytest.approx(math.sqrt(2500 / 3) / math.sqrt(3))


def test_one_pair_has_no_standard_error_and_stays_json_safe():
    d = paired_difference(rows({"p1": 1.0}), rows({"p1": 2.0, "p2": 2.0}))
    assert d == {"mean_difference": 100.0, "standard_error": None, "n": 1, "z": None, "n_unmatched": 1}
    json.dumps(d, allow_nan=False)  # no NaN in summary.json
    none = paired_difference(rows({"p1": 1.0}), rows({"p2": 2.0}))
    assert none["n"] == 0 and none["mean_difference"] is None and none["standard_error"] is None
    same = paired_difference(A, A)  # identical models: SE 0, z undefined (None, not inf)
    assert same["mean_difference"] == 0.0 and same["standard_error"] == 0.0 and same["z"] is None


def test_unusable_preferences_and_repeated_prompts():
    a = rows({"p1": 1.0, "p2": None}) + [{"instruction": "p1", "preference": 2.0}]
    b = rows({"p1": 1.0, "p2": 2.0}) + [{"instruction": "p1", "preference": 1.0}]
    assert prompt_scores(a) == {"p1": 0.0, "p1#2": 1.0}  # null dropped; the repeat keeps its own key
    d = paired_difference(a, b)
    assert d["n"] == 2 and d["n_unmatched"] == 1 and d["mean_difference"] == pytest.approx(-50.0)
    assert prompt_scores([{"id": 7, "instruction": "same", "preference": 1.5}]) == {"7": 0.5}


def test_over_seeds_pairs_by_seed_and_prompt_and_pools():
    # seed 0: p1 0 -> 1 (100), p2 1 -> 1 (0); seed 1: p1 .5 -> .5 (0), p2 .5 -> 1 (50)
    # pooled: the four differences of the hand-worked case: 37.5 ± 23.936, n = 4
    # per-seed means 50 and 25: SD 17.678, across-seed SE 12.5, seed_z 3.0
    a = {0: rows({"p1": 1.0, "p2": 2.0}), 1: rows({"p1": 1.5, "p2": 1.5}), 2: rows({"p1": 1.0})}
    b = {0: rows({"p1": 2.0, "p2": 2.0}), 1: rows({"p1": 1.5, "p2": 2.0})}
    d = paired_over_seeds(a, b)
    assert d["mean_difference"] == pytest.approx(37.5) and d["standard_error"] == pytest.approx(23.936, abs=1e-3)
    assert d["n"] == 4 and d["n_seeds"] == 2 and d["seeds_unmatched"] == 1
    assert d["seed_standard_error"] == pytest.approx(12.5) and d["seed_z"] == pytest.approx(3.0)
    one = paired_over_seeds({0: A}, {0: B})
    assert one["seed_standard_error"] is None and one["standard_error"] == pytest.approx(23.936, abs=1e-3)
    json.dumps(one, allow_nan=False)


def test_over_seeds_on_per_prompt_scores_is_the_same_statistic():
    # accuracy flags: seed 0: p1 0 -> 1, p2 1 -> 1; seed 1: p1 1 -> 0, p2 0 -> 1: differences 100, 0, -100, 100
    # mean 25, SD sqrt((75^2 + 25^2 + 125^2 + 75^2) / 3) = 95.74, SE 47.87; per-seed means 50, 0: SE 25
    a = {0: {"p1": 0.0, "p2": 1.0}, 1: {"p1": 1.0, "p2": 0.0}}
    b = {0: {"p1": 1.0, "p2": 1.0}, 1: {"p1": 0.0, "p2": 1.0}}
    d = paired_scores_over_seeds(a, b)
    assert (d["mean_difference"], d["n"], d["n_seeds"]) == (25.0, 4, 2)
    assert d["standard_error"] == pytest.approx(47.87, abs=1e-2) and d["seed_standard_error"] == pytest.approx(25.0)
    assert paired_scores(a[0], b[0])["mean_difference"] == 50.0


def test_mean_across_seeds():
    # 60, 62, 67: mean 63, deviations -3, -1, 4 -> variance 26 / 2 = 13, SE = sqrt(13) / sqrt(3) = 2.082
    m = mean_across_seeds([60.0, 62.0, 67.0])
    assert m["mean"] == pytest.approx(63.0) and m["standard_error"] == pytest.approx(2.0817, abs=1e-4)
    assert m["n_seeds"] == 3
    assert mean_across_seeds([55.0, None]) == {"mean": 55.0, "standard_error": None, "n_seeds": 1}
    assert mean_across_seeds([]) == {"mean": None, "standard_error": None, "n_seeds": 0}


def test_paired_vs_first_reads_annotation_files(tmp_path):
    for name, r in {"M_0": A, "M_1": B, "M_2": A}.items():
        write_annotations(tmp_path / f"{name}.json", r)
    paired = paired_vs_first({n: tmp_path / f"{n}.json" for n in ("M_0", "M_1", "M_2")} | {"M_3": None})
    assert list(paired) == ["M_1", "M_2"] and paired["M_1"]["vs"] == "M_0"
    assert paired["M_1"]["mean_difference"] == pytest.approx(37.5) and paired["M_1"]["n"] == 4
    assert paired["M_2"]["mean_difference"] == 0.0
    json.dumps(paired, allow_nan=False)
    assert paired_vs_first({"M_0": tmp_path / "gone.json", "M_1": tmp_path / "M_1.json"}) == {}
