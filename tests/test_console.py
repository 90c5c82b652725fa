"""The end-of-job console summary: old summaries print as before; paired differences and gold checks
print in their exact wording when the summary has them."""

from __future__ import annotations

import io

from rich.console import Console

from humpback.tracking.console import print_summary


def model(win, se, seed=240, aug=20, **extra):
    return {"train_examples": seed + aug, "seed_examples": seed, "augmented_examples": aug, "inference_tags": "S_a+S_w",
            "win_rate": win, "standard_error": se, "n_wins": 3, "n_wins_base": 4, "n_draws": 1, **extra}


def base_summary() -> dict:
    return {"experiment": "default", "models": {"M_0": model(10.0, 2.5, aug=0), "M_2": model(13.1, 2.75)},
            "final_model": "M_2", "curation": {}, "computed_stages": 3, "cached_stages": 9, "seconds": 12.3,
            "job_dir": "/tmp/job"}


def render(summary: dict) -> str:
    buf = io.StringIO()
    print_summary(summary, Console(file=buf, width=200))
    return buf.getvalue()


def test_old_summary_prints_without_the_new_keys():
    out = render(base_summary())
    assert "13.10 ± 2.75" in out and "240 + 20" in out and "3 / 4 / 1" in out
    assert "−" not in out and "M_yx" not in out and "acc seed" not in out
    assert "stages: 3 computed, 9 cached; 12.3s" in out and "W&B: disabled" in out


def test_paired_differences_print_as_lines():
    s = base_summary()
    s["paired"] = {"M_1": {"vs": "M_0", "mean_difference": 3.125, "standard_error": 1.25, "n": 8, "z": 2.5},
                   "M_2": {"vs": "M_0", "mean_difference": -1.0, "standard_error": None, "n": 1, "z": None,
                           "n_unmatched": 2}}
    out = render(s)
    assert "M_1 − M_0: +3.12 ± 1.25 (2.5 SE, 8 prompts)" in out
    assert "M_2 − M_0: -1.00 (z n/a, 1 prompts, 2 unpaired left out)" in out


def test_gold_lines_and_columns():
    s = base_summary()
    s["gold"] = {"backward": {"match": 0.41, "n": 277, "by_grade": {"5": {"match": 0.62, "n": 94},
                                                                    "1": {"match": 0.2, "n": 80}}}}
    s["models"]["M_2"]["gold"] = {"accuracy": 0.5, "n": 8, "by_family": {"fact": {"accuracy": 0.5, "n": 4}},
                                  "by_split": {"seed": {"accuracy": 0.7, "win_rate": 20.0, "standard_error": 3.0, "n": 4},
                                               "web_only": {"accuracy": 0.35, "win_rate": 5.0, "standard_error": 2.0, "n": 4}}}
    out = render(s)
    assert "M_yx: instruction asks for its segment's request: 62% of 94 grade-5 candidates (all grades 41% of 277)" in out
    assert "acc seed / web-only" in out and "70% / 35%" in out
    m0_row = next(line for line in out.splitlines() if "M_0" in line and "10.00" in line)
    assert "%" not in m0_row  # M_0 has no gold block: an empty cell


def test_paired_accuracy_prints_one_line_per_model():
    s = base_summary()
    s["paired_accuracy"] = {"M_2": {"vs": "M_0", "all": {"mean_difference": 12.5, "standard_error": 5.0, "n": 40, "z": 2.5},
                                    "web-only": {"mean_difference": 25.0, "standard_error": 10.0, "n": 20, "z": 2.5}}}
    out = render(s)
    assert ("M_2 − M_0 accuracy (all): +12.50 ± 5.00 (2.5 SE, 40 prompts); "
            "M_2 − M_0 accuracy (web-only): +25.00 ± 10.00 (2.5 SE, 20 prompts)") in out
