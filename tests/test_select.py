"""Selection A_k and the tagged training mix."""

from humpback import prompts
from humpback.stages.select import select_pairs, training_mix

CANDS = [{"id": f"c{i}", "instruction": f"q{i}", "output": f"a{i}"} for i in range(10)]
SCORES = [{"id": f"c{i}", "score": [5, 4, 3, None, 5, 5, 2, 4, 5, 1][i]} for i in range(10)]


def test_threshold_and_unscored():
    kept = select_pairs(CANDS, SCORES, threshold=5, size=None, seed=0)
    assert [c["id"] for c in kept] == ["c0", "c4", "c5", "c8"]
    assert all(c["score"] == 5 for c in kept)
    assert [c["id"] for c in select_pairs(CANDS, SCORES, 4, None, 0)] == ["c0", "c1", "c4", "c5", "c7", "c8"]


def test_no_curation_keeps_everything():
    assert len(select_pairs(CANDS, None, threshold=None, size=None, seed=0)) == 10


def test_size_is_deterministic_and_order_free():
    a = select_pairs(CANDS, SCORES, None, 4, seed=1)
    b = select_pairs(list(reversed(CANDS)), SCORES, None, 4, seed=1)
    assert [c["id"] for c in a] == [c["id"] for c in b] and len(a) == 4


def test_logprob_margin():
    soft = [{"id": "c0", "score": 4.6}, {"id": "c1", "score": 4.4}]
    assert [c["id"] for c in select_pairs(CANDS[:2], soft, 5, None, 0, margin=0.5)] == ["c0"]


def test_mix_tags_only_when_both_sources():
    seed = [{"instruction": "s", "output": "o"}]
    sel = [{"instruction": "w", "output": "p"}]
    ex, info = training_mix(seed, sel, True, True, True)
    assert ex[0] == {"user": f"s {prompts.TAG_SEED}", "target": " o", "source": "seed"}
    assert ex[1] == {"user": f"w {prompts.TAG_WEB}", "target": " p", "source": "augmented"}
    assert info == {"seed_examples": 1, "augmented_examples": 1, "tagged": True}
    ex, info = training_mix(seed, sel, True, True, False)
    assert ex[1]["user"] == "w" and not info["tagged"]
    ex, info = training_mix(seed, sel, False, True, True)
    assert [e["user"] for e in ex] == ["w"]
