"""Human side-by-side evaluation: export with randomised order, import maps choices back."""

from __future__ import annotations

import csv
import json

import pytest

from humpback.data.records import DataError
from humpback.evaluation.human_eval import export_side_by_side, import_judgements, model_is_first


def _pairs(n):
    return [
        {"id": f"p{i}", "instruction": f"Question {i}?\nWith a second line, a comma, and \"quotes\".",
         "output_1": f"baseline answer {i}", "output_2": f"model answer {i}", "generator_1": "base", "generator_2": "humpback"}
        for i in range(n)
    ]


def _fill(path, choose):
    """Fill the sheet like an annotator: choose(row) returns the text typed into `choice`."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["choice"] = choose(r)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


def test_round_trip_maps_choices_back_under_random_order(tmp_path):
    sheet = tmp_path / "sheet.csv"
    key = export_side_by_side(_pairs(40), sheet, seed=7)
    assert key == tmp_path / "sheet.key.json"
    with sheet.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "instruction", "response_A", "response_B", "choice"]
    assert all(r["choice"] == "" for r in rows)
    firsts = [r["response_A"].startswith("model") for r in rows]
    assert 5 < sum(firsts) < 35  # really shuffled, both ways
    assert firsts == [model_is_first(7, p["instruction"]) for p in _pairs(40)]
    assert "model answer" not in key.read_text()  # the key holds no outputs

    # the annotator prefers the model on rows 0-19, calls 20-29 a tie, prefers the baseline on 30-35, leaves 36-39 empty
    def choose(r):
        i = int(r["id"][1:])
        model_col = "A" if r["response_A"].startswith("model") else "B"
        base_col = "B" if model_col == "A" else "A"
        return model_col if i < 20 else " Tie " if i < 30 else base_col.lower() if i < 36 else ""

    _fill(sheet, choose)
    out = import_judgements(sheet, key)
    assert (out["n_win"], out["n_tie"], out["n_lose"], out["n_unfilled"], out["n_missing"]) == (20, 10, 6, 4, 0)
    assert out["n_judged"] == 36
    assert out["win"] == pytest.approx(100 * 20 / 36) and out["tie"] == pytest.approx(100 * 10 / 36)
    assert out["lose"] == pytest.approx(100 * 6 / 36)


def test_order_depends_on_seed_and_is_reproducible(tmp_path):
    a = export_side_by_side(_pairs(30), tmp_path / "a.csv", seed=1)
    b = export_side_by_side(_pairs(30), tmp_path / "b.csv", seed=1)
    c = export_side_by_side(_pairs(30), tmp_path / "c.csv", seed=2)
    items = lambda p: json.loads(p.read_text())["items"]  # noqa: E731
    assert items(a) == items(b) != items(c)


def test_bad_choice_names_file_and_line(tmp_path):
    sheet = tmp_path / "s.csv"
    key = export_side_by_side(_pairs(3), sheet, seed=0)
    _fill(sheet, lambda r: "maybe" if r["id"] == "p2" else "A")
    # header is line 1; each record spans 2 physical lines (the instruction has a newline): p2 starts on line 6
    with pytest.raises(DataError, match=r"s\.csv:6: choice 'maybe'"):
        import_judgements(sheet, key)


def test_unknown_id_and_missing_rows(tmp_path):
    sheet = tmp_path / "s.csv"
    key = export_side_by_side(_pairs(3), sheet, seed=0)
    rows = _fill(sheet, lambda r: "tie")
    with sheet.open("w", encoding="utf-8", newline="") as f:  # plain UTF-8 (no BOM) also reads
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows[:2])
    out = import_judgements(sheet, key)
    assert (out["n_tie"], out["n_missing"], out["tie"]) == (2, 1, 100.0)
    rows[0]["id"] = "zz"
    with sheet.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(DataError, match=r"s\.csv:2: id 'zz' is not in the key"):
        import_judgements(sheet, key)


def test_export_rejects_duplicate_ids(tmp_path):
    pairs = _pairs(2)
    pairs[1]["id"] = "p0"
    with pytest.raises(DataError, match="duplicate id 'p0'"):
        export_side_by_side(pairs, tmp_path / "s.csv", seed=0)


def test_cli_export_then_score(tmp_path, capsys):
    import csv
    import json

    from humpback.cli.human_eval import main
    from humpback.data.records import write_json

    rows = [{"instruction": f"q{i}", "output_1": f"base {i}", "output_2": f"model {i}"} for i in range(4)]
    write_json(tmp_path / "ann.json", rows)
    assert main(["export", str(tmp_path / "ann.json"), str(tmp_path / "sheet.csv"), "--seed", "3"]) == 0
    capsys.readouterr()
    with open(tmp_path / "sheet.csv", encoding="utf-8-sig", newline="") as f:
        sheet = list(csv.DictReader(f))
    for r in sheet:  # the annotator prefers the model's answer every time
        r["choice"] = "A" if r["response_A"].startswith("model") else "B"
    with open(tmp_path / "sheet.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(sheet[0]))
        w.writeheader()
        w.writerows(sheet)
    assert main(["score", str(tmp_path / "sheet.csv")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["win"], result["tie"], result["lose"], result["n_judged"]) == (100.0, 0.0, 0.0, 4)
