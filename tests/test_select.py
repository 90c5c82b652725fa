"""Selection A_k, the tagged training mix, and `selection_for`: the one rule for M_t's data."""

import dataclasses

import pytest
from omegaconf import OmegaConf

from humpback import prompts
from humpback.config.schema import HumpbackConfig
from humpback.stages.select import Selection, selection_for, select_pairs, training_mix

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


MIXED = Selection(threshold=5.0, size=None, margin=0.0, seed_data=True, augmented=True, tags=True, seed=0, curator="M_0",
                  init="base")


def test_mix_tags_come_from_the_selection():
    seed = [{"instruction": "s", "output": "o"}]
    sel = [{"instruction": "w", "output": "p"}]
    ex, info = training_mix(seed, sel, MIXED)
    assert ex[0] == {"user": f"s {prompts.TAG_SEED}", "target": " o", "source": "seed"}
    assert ex[1] == {"user": f"w {prompts.TAG_WEB}", "target": " p", "source": "augmented"}
    assert info == {"seed_examples": 1, "augmented_examples": 1, "tagged": True}
    ex, info = training_mix(seed, sel, dataclasses.replace(MIXED, tags=False))
    assert ex[1]["user"] == "w" and not info["tagged"]
    ex, info = training_mix(seed, sel, dataclasses.replace(MIXED, seed_data=False, tags=False))
    assert [e["user"] for e in ex] == ["w"] and info["seed_examples"] == 0


def test_rows_that_teach_the_curation_prompt_stay_untagged():
    seed = [{"instruction": "s", "output": "o", "family": "fact"}, {"instruction": "rate this", "output": "Score: 5", "family": "rating"}]
    sel = [{"instruction": "w", "output": "p"}]
    ex, _ = training_mix(seed, sel, dataclasses.replace(MIXED, untagged_families=("rating",)))
    assert [e["user"] for e in ex] == [f"s {prompts.TAG_SEED}", "rate this", f"w {prompts.TAG_WEB}"]
    ex, _ = training_mix(seed, sel, MIXED)  # no family exempt: every seed row carries S_a
    assert ex[1]["user"] == f"rate this {prompts.TAG_SEED}"


def test_untagged_families_come_from_curate_and_reach_every_iteration_key():
    assert selection_for(config(), 1).untagged_families == ("rating",)
    off = config(**{"curate.untagged_families": "[]"})
    assert [selection_for(off, t).untagged_families for t in (1, 2)] == [(), ()]
    assert selection_for(off, 2).key() != selection_for(config(), 2).key()


def config(**dotted):
    """A hand-made job config: the schema defaults (T = 2, k = 5) plus dotted overrides."""
    return OmegaConf.merge(OmegaConf.structured(HumpbackConfig), OmegaConf.from_dotlist([f"{k}={v}" for k, v in dotted.items()]))


FINAL_KNOBS = {"student.threshold": 4, "student.size": 7, "student.seed_data": "false", "student.tags": "false",
               "student.curator": "oracle"}


def test_internal_iterations_follow_the_paper_whatever_the_student_knobs():
    sel = selection_for(config(**FINAL_KNOBS), 1)
    assert sel == Selection(threshold=5.0, size=None, margin=0.0, seed_data=True, augmented=True, tags=True, seed=0,
                            curator="M_0", init="base", untagged_families=("rating",))
    assert selection_for(config(**{"curate.iterations": 3}), 2).curator == "M_1"


def test_final_student_reads_the_student_knobs():
    sel = selection_for(config(**{**FINAL_KNOBS, "student.seed_data": "true", "student.tags": "true", "student.init": "previous"}), 2)
    assert sel == Selection(threshold=4.0, size=7, margin=0.0, seed_data=True, augmented=True, tags=True, seed=0,
                            curator="oracle", init="previous", untagged_families=("rating",))
    assert selection_for(config(), 2).curator == "M_1"  # previous: M_{T-1}
    assert selection_for(config(**{"student.curator": "M_0"}), 2).curator == "M_0"
    assert selection_for(config(**{"roles.curator.name": "ext"}), 2).curator == "curator ext"  # a set curator rates every iteration
    assert selection_for(config(**{"roles.curator.name": "ext"}), 1).curator == "curator ext"
    assert selection_for(config(**{"curate.iterations": 1, "student.size": 3}), 1).size == 3  # T = 1: M_1 is final


def test_no_curation_reads_no_scores():
    sel = selection_for(config(**{"student.threshold": "null", "student.curator": "oracle", "curate.mode": "logprob"}), 2)
    assert (sel.threshold, sel.curator, sel.margin) == (None, None, 0.0)
    assert selection_for(config(**{"student.threshold": "null"}), 1).threshold == 5.0  # internal iterations still curate


def test_logprob_margin_applies_to_model_scores_not_gold_grades():
    logprob = {"curate.mode": "logprob", "curate.logprob_margin": 0.25}
    assert selection_for(config(**logprob), 1).margin == 0.25
    assert selection_for(config(**logprob), 2).margin == 0.25
    assert selection_for(config(**logprob, **{"student.curator": "oracle"}), 2).margin == 0.0
    assert selection_for(config(), 2).margin == 0.0  # generate mode: parsed integer scores


@pytest.mark.parametrize("seed_data,augmented,tags,expected", [
    (True, True, True, True), (True, True, False, False), (False, True, True, False), (True, False, True, False)])
def test_tags_only_when_both_sources_are_mixed(seed_data, augmented, tags, expected):
    knobs = {"student.seed_data": str(seed_data).lower(), "student.augmented": str(augmented).lower(), "student.tags": str(tags).lower()}
    assert selection_for(config(**knobs), 2).tags is expected
    assert selection_for(config(**knobs), 1).tags is True  # internal iterations: always seed + A_k, tagged


def test_selection_seed_follows_the_job_seed_unless_pinned():
    assert selection_for(config(seed=3), 2).seed == 3
    assert selection_for(config(seed=3, **{"student.selection_seed": 1}), 2).seed == 1


def test_selection_key_holds_every_field():
    assert MIXED.key() == {"threshold": 5.0, "size": None, "margin": 0.0, "seed_data": True, "augmented": True, "tags": True,
                           "seed": 0, "curator": "M_0", "init": "base", "untagged_families": ()}
