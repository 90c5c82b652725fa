"""Curator precision / recall against gold labels (paper Table 9 layout)."""

from humpback.data.records import write_jsonl
from humpback.evaluation.curator_quality import curator_quality, gold_from_file, gold_from_world

CANDS = [{"id": f"c{i}", "output": f"text {i}", "doc_id": "p", "header": f"h{i}"} for i in range(6)]


def test_precision_recall_from_world_grades():
    gold = gold_from_world(CANDS, [{"page_id": "p", "header": f"h{i}", "grade": g} for i, g in enumerate([5, 5, 4, 3, 1])])
    assert gold == {"c0": True, "c1": True, "c2": True, "c3": False, "c4": False}  # c5 has no gold row
    scores = [{"id": f"c{i}", "score": s} for i, s in enumerate([5, 3, 5, 5, None, 5])]
    q = curator_quality(scores, gold, threshold=5)
    # picked & labelled: c0 (pos), c2 (pos), c3 (neg) -> precision 2/3; positives c0, c1, c2 -> recall 2/3
    assert (q["precision"], q["recall"]) == (2 / 3, 2 / 3)
    assert (q["selected"], q["positives"], q["labelled"], q["unlabelled"]) == (3, 3, 5, 1)


def test_gold_from_labelled_file(tmp_path):
    path = tmp_path / "gold.jsonl"
    write_jsonl(path, [{"id": "c0", "label": True}, {"output": "text 1", "label": False}, {"id": "c2", "grade": 2}])
    assert gold_from_file(CANDS, str(path)) == {"c0": True, "c1": False, "c2": False}


def test_nothing_selected_gives_no_precision():
    q = curator_quality([{"id": "c0", "score": 1}], {"c0": True}, threshold=5)
    assert q["precision"] is None and q["recall"] == 0.0
