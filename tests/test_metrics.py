"""Win-rate metrics against the AlpacaEval leaderboard, length control, and the humpback-winrate CLI."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from humpback.cli.winrate import main as winrate_main
from humpback.data.records import DataError
from humpback.evaluation.annotations import read_annotations, write_annotations
from humpback.evaluation.length_controlled import (
    estimate_instruction_difficulty,
    length_controlled_win_rate,
    read_difficulty,
)
from humpback.evaluation.metrics import is_identical, preference_for_identical, win_rate_metrics

REPO = Path(__file__).resolve().parents[1]

# AlpacaEval 1 leaderboard (alpaca_eval_gpt4 annotator): win_rate, standard_error, n_wins, n_wins_base, n_draws, n_total
LEADERBOARD = {
    "alpaca-7b": (26.4596, 1.5357, 205, 584, 16, 805),
    "claude": (91.5528, 0.9808, 737, 68, 0, 805),
    "text_davinci_001": (15.1741, 1.2351, 112, 672, 20, 804),
    "vicuna-13b": (70.4348, 1.6070, 566, 237, 2, 805),
}


@pytest.mark.parametrize("model", sorted(LEADERBOARD))
def test_reproduces_alpaca_eval_leaderboard(shared_data, model):
    m = win_rate_metrics(read_annotations(shared_data / "alpaca_eval/annotations_gpt4" / f"{model}.json"))
    wr, se, wins, base, draws, total = LEADERBOARD[model]
    assert round(m["win_rate"], 4) == wr
    assert round(m["standard_error"], 4) == se
    assert (m["n_wins"], m["n_wins_base"], m["n_draws"], m["n_total"]) == (wins, base, draws, total)
    # text_davinci_001 has one row (index 793) whose judge preference is null: dropped, and said so
    assert m["n_dropped"] == (1 if model == "text_davinci_001" else 0)


def test_weighted_alpaca_eval_2(shared_data):
    m = win_rate_metrics(read_annotations(shared_data / "alpaca_eval/annotations_weighted_gpt4_turbo/alpaca-7b.json"))
    assert round(m["win_rate"], 4) == 2.5915
    assert round(m["standard_error"], 4) == 0.4871
    assert round(m["discrete_win_rate"], 4) == 2.2981
    assert (m["n_wins"], m["n_wins_base"], m["n_draws"], m["n_total"], m["n_dropped"]) == (17, 785, 3, 805, 0)


def _rows(prefs):
    return [{"instruction": f"q{i}", "output_1": "a", "output_2": "b", "preference": p} for i, p in enumerate(prefs)]


def test_legacy_zero_is_a_draw():
    m = win_rate_metrics(_rows([2, 1, 0, 0]))
    assert m["win_rate"] == 50.0 and m["discrete_win_rate"] == 50.0
    assert (m["n_wins"], m["n_wins_base"], m["n_draws"], m["n_total"], m["n_dropped"]) == (1, 1, 2, 4, 0)
    # sample sd of (1, 0, .5, .5) is sqrt(1/6); SEM = that / 2
    assert m["standard_error"] == pytest.approx(100 * math.sqrt(1 / 6) / 2)


def test_out_of_range_missing_and_junk_are_dropped_and_counted():
    rows = _rows([2, 8, None, float("nan"), -1, "2", True, 1.5])
    rows.append({"instruction": "no preference key", "output_1": "a", "output_2": "b"})
    m = win_rate_metrics(rows)
    assert (m["n_total"], m["n_dropped"], m["n_wins"], m["n_draws"]) == (2, 7, 1, 1)
    assert m["win_rate"] == 75.0


def test_soft_preferences_and_discrete_win_rate():
    m = win_rate_metrics(_rows([1.9, 1.6, 1.5, 1.2]))
    assert m["win_rate"] == pytest.approx(100 * (0.9 + 0.6 + 0.5 + 0.2) / 4)
    assert m["discrete_win_rate"] == 100 * (1 + 1 + 0.5 + 0) / 4
    assert (m["n_wins"], m["n_wins_base"], m["n_draws"]) == (2, 1, 1)


def test_empty_and_single_row_are_none_not_errors():
    empty = win_rate_metrics([])
    assert empty["win_rate"] is None and empty["discrete_win_rate"] is None and empty["standard_error"] is None
    one = win_rate_metrics(_rows([2]))
    assert one["win_rate"] == 100.0 and one["standard_error"] is None


def test_identical_outputs_are_a_draw():
    assert is_identical("Paris.", "  Paris.\n")
    assert preference_for_identical("x = 8", "x = 8") == 1.5
    assert preference_for_identical("x = 8", "x = 9") is None


def test_annotation_io_round_trip_and_errors(tmp_path):
    rows = _rows([2, 1.5]) + [{"instruction": "q", "output_1": "a", "output_2": "b", "preference": None, "extra": [1]}]
    write_annotations(tmp_path / "a.json", rows)
    assert read_annotations(tmp_path / "a.json") == rows
    (tmp_path / "bad.json").write_text(json.dumps([{"instruction": "q", "output_1": "a"}]))
    with pytest.raises(DataError, match=r"bad\.json\[0\]: missing field\(s\) \['output_2'\]"):
        read_annotations(tmp_path / "bad.json")
    (tmp_path / "pref.json").write_text(json.dumps(_rows([2]) + _rows(["two"])))
    with pytest.raises(DataError, match=r"pref\.json\[1\]: preference"):
        read_annotations(tmp_path / "pref.json")


# ---------------------------------------------------------------- length control


def _synthetic(model: str, n: int, length_shift: float, quality: float, seed: int, difficulty: np.ndarray):
    """A judge that likes length: logit P(model wins) = quality + difficulty + 2 tanh(dlen / 300)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        ref_len = int(rng.integers(200, 800))
        dlen = int(rng.normal(length_shift, 300))
        out_len = max(1, ref_len + dlen)
        logit = quality + difficulty[i] + 2 * np.tanh((out_len - ref_len) / 300)
        rows.append({
            "instruction": f"instruction {i}",
            "output_1": "r" * ref_len,
            "output_2": "m" * out_len,
            "preference": 1 + 1 / (1 + np.exp(-logit)),
            "generator_1": "base",
            "generator_2": model,
        })
    return rows


def test_length_control_penalises_a_verbose_model_and_helps_a_concise_one():
    n = 400
    diff = np.random.default_rng(0).normal(0, 1, n)
    verbose = _synthetic("verbose", n, 400, 0.0, 1, diff)
    concise = _synthetic("concise", n, -400, 0.0, 2, diff)
    gamed = [_synthetic("base_verbose", n, 300, 0.0, 3, diff), _synthetic("base_concise", n, -300, 0.0, 4, diff)]
    table = {f"instruction {i}": float(d) for i, d in enumerate(diff)}

    raw_v = win_rate_metrics(verbose)["win_rate"]
    lc_v = length_controlled_win_rate(verbose, difficulty=table, gamed=gamed)
    assert raw_v > 70 and lc_v["length_controlled_winrate"] < raw_v - 15
    assert lc_v["length_controlled_exact"] is True  # a difficulty table and the baseline's own variants
    assert lc_v["length_controlled_coefficients"]["length"] > 0  # longer answers win

    raw_c = win_rate_metrics(concise)["win_rate"]
    lc_c = length_controlled_win_rate(concise, difficulty=table, gamed=gamed)
    assert raw_c < 30 and lc_c["length_controlled_winrate"] > raw_c + 15
    # both are baseline-quality once length is removed
    assert abs(lc_v["length_controlled_winrate"] - 50) < 12 and abs(lc_c["length_controlled_winrate"] - 50) < 12


def test_length_control_exact_only_with_table_and_baseline_variants():
    n = 300
    diff = np.random.default_rng(5).normal(0, 1, n)
    model = _synthetic("m", n, 200, 0.0, 6, diff)
    gamed = [_synthetic("base_verbose", n, 300, 0.0, 7, diff), _synthetic("base_concise", n, -300, 0.0, 8, diff)]
    table = {f"instruction {i}": float(d) for i, d in enumerate(diff)}
    exact = length_controlled_win_rate(model, difficulty=table, gamed=gamed)
    assert exact["length_controlled_exact"] is True and "length_controlled_note" not in exact
    approx = length_controlled_win_rate(model, gamed=gamed)
    assert approx["length_controlled_exact"] is False
    assert "estimated offline" in approx["length_controlled_note"]
    assert length_controlled_win_rate(_synthetic("base", 20, 0, 0, 9, diff))["length_controlled_winrate"] == 50.0


def test_offline_difficulty_recovers_instruction_effects():
    n = 300
    diff = np.random.default_rng(10).normal(0, 1.5, n)
    sets = [_synthetic(f"m{k}", n, 0, q, 11 + k, diff) for k, q in enumerate([-1.0, 0.0, 1.0, 0.5])]
    est = estimate_instruction_difficulty(sets)
    got = np.array([est[f"instruction {i}"] for i in range(n)])
    assert abs(got.mean()) < 1e-9 and np.corrcoef(got, diff)[0, 1] > 0.8


def test_read_difficulty_formats_and_errors(tmp_path):
    rows = _rows([2, 1])
    (tmp_path / "pos.csv").write_text("index,instruction_difficulty\n0,0.5\n1,-0.25\n")
    assert read_difficulty(tmp_path / "pos.csv", reference_rows=rows) == {"q0": 0.5, "q1": -0.25}
    (tmp_path / "named.csv").write_text("instruction,difficulty\nq0,1\nq1,2\n")
    assert read_difficulty(tmp_path / "named.csv") == {"q0": 1.0, "q1": 2.0}
    (tmp_path / "bad.csv").write_text("instruction,difficulty\nq0,1\nq1,hard\n")
    with pytest.raises(DataError, match=r"bad\.csv:3: difficulty 'hard'"):
        read_difficulty(tmp_path / "bad.csv")


@pytest.mark.parametrize("with_variants", [False, True])
def test_length_controlled_on_real_alpaca_7b(shared_data, with_variants):
    d = shared_data / "alpaca_eval/annotations_weighted_gpt4_turbo"
    gamed = [read_annotations(d / "alpaca-7b_concise.json"), read_annotations(d / "alpaca-7b_verbose.json")] if with_variants else None
    out = length_controlled_win_rate(read_annotations(d / "alpaca-7b.json"), gamed=gamed)
    # official 5.8755 needs AlpacaEval's difficulty table and gpt4_1106_preview's own gamed variants;
    # offline we only ask for the right direction (alpaca-7b is terse, so LC > raw 2.59) and the flag
    assert out["length_controlled_exact"] is False
    assert 2.6 < out["length_controlled_winrate"] < 20


# ---------------------------------------------------------------- CLI


def test_cli_prints_one_json_line_per_file(tmp_path, capsys):
    write_annotations(tmp_path / "a.json", _rows([2, 1, 0, None]))
    write_annotations(tmp_path / "b.json", _rows([2]))
    assert winrate_main([str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    a, b = (json.loads(line) for line in lines)
    assert a["file"].endswith("a.json") and a["win_rate"] == 50.0 and a["n_dropped"] == 1 and a["n_draws"] == 1
    assert b["standard_error"] is None  # NaN is printed as null so the line stays strict JSON


def test_cli_length_controlled(tmp_path, capsys):
    n = 200
    diff = np.random.default_rng(0).normal(0, 1, n)
    write_annotations(tmp_path / "m.json", _synthetic("m", n, 300, 0.0, 1, diff))
    write_annotations(tmp_path / "c.json", _synthetic("base_concise", n, -300, 0.0, 2, diff))
    write_annotations(tmp_path / "v.json", _synthetic("base_verbose", n, 300, 0.0, 3, diff))
    argv = [str(tmp_path / "m.json"), "--length-controlled", "--concise", str(tmp_path / "c.json"), "--verbose", str(tmp_path / "v.json")]
    assert winrate_main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["length_controlled_exact"] is False and out["length_controlled_winrate"] < out["win_rate"]


def test_cli_bad_file_exits_2(tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{not json")
    assert winrate_main([str(tmp_path / "bad.json")]) == 2
    assert "bad.json:1: not valid JSON" in capsys.readouterr().err


def test_cli_as_subprocess(tmp_path):
    write_annotations(tmp_path / "a.json", _rows([2, 2, 1, 1.5]))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-m", "humpback.cli.winrate", str(tmp_path / "a.json")],
        capture_output=True, text=True, env=env, check=True, timeout=60,
    )
    row = json.loads(proc.stdout)
    assert row["win_rate"] == 62.5 and row["n_total"] == 4 and row["discrete_win_rate"] == 62.5
