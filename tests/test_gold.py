"""Gold-based checks on hand-made cases: request parsing, M_yx's match rate by grade, answer accuracy by split."""

from __future__ import annotations

import pytest

from humpback.data.toyworld.requests import Request, RequestParser, asks_for, gold_request
from humpback.evaluation.gold import accuracy_vs_first, answer_accuracy, backward_match, prompt_accuracy

NAMES = ["Belmora", "Tavrin owl", "Zumi cake", "Zumite"]


@pytest.mark.parametrize("instruction, expected", [
    ("When was Belmora founded?", Request("fact", frozenset({"Belmora"}), "founded")),
    ("what is the diet of the Tavrin owl ?", Request("fact", frozenset({"Tavrin owl"}), "diet")),
    ("Describe Zumite.", Request("describe", frozenset({"Zumite"}))),  # not "Zumi" + "te": longest name wins
    ("Compare Belmora and Zumite.", Request("compare", frozenset({"Belmora", "Zumite"}))),
    ("How do I make Zumi cake?", Request("howto", frozenset({"Zumi cake"}))),
    ("List the features of the Tavrin owl.", Request("list", frozenset({"Tavrin owl"}))),
])
def test_instructions_parse_to_their_request(instruction, expected):
    assert RequestParser(NAMES).parse(instruction) == expected


@pytest.mark.parametrize("instruction", [
    "When was Belmora founded",        # no question mark: not one of the world's wordings
    "What are the differences between Belmora and Belmora?",  # a comparison needs two entities
    "Compare Belmora.",
    "Tell me about Velmora.",          # no known entity
    "When me about Belmora.",          # garbled
    "",
])
def test_off_template_or_garbled_instructions_parse_to_nothing(instruction):
    assert RequestParser(NAMES).parse(instruction) is None


def gold(page: str, grade: int, family=None, entity=None, attribute=None, other=None) -> dict:
    return {"page_id": page, "header": "h", "grade": grade, "family": family, "entity": entity,
            "attribute": attribute, "other_entity": other}


def test_backward_match_by_grade():
    segments = [gold("p1", 5, "fact", "Belmora", "founded"), gold("p2", 5, "describe", "Zumite"),
                gold("p3", 3, "compare", "Belmora", other="Zumite"), gold("p4", 1)]
    candidates = [
        {"id": "a", "doc_id": "p1", "header": "h", "instruction": "When was Belmora founded?"},   # match
        {"id": "b", "doc_id": "p2", "header": "h", "instruction": "Describe Belmora."},          # wrong entity
        {"id": "c", "doc_id": "p3", "header": "h", "instruction": "Compare Zumite and Belmora."},  # match, either order
        {"id": "d", "doc_id": "p4", "header": "h", "instruction": "Describe Belmora."},          # junk: no request
        {"id": "e", "doc_id": "p9", "header": "h", "instruction": "Describe Belmora."},          # no gold row
    ]
    m = backward_match(candidates, segments, NAMES)
    assert m["by_grade"]["5"] == {"match": 0.5, "n": 2}
    assert m["by_grade"]["3"] == {"match": 1.0, "n": 1}
    assert m["by_grade"]["1"] == {"match": 0.0, "n": 1}
    assert (m["match"], m["n"], m["unlabelled"]) == (2 / 3, 3, 1)  # junk is left out of the overall rate


def test_fact_attribute_is_not_required_but_family_is():
    g = gold_request(gold("p", 5, "fact", "Belmora", "founded"))
    parser = RequestParser(NAMES)
    assert asks_for(parser.parse("What is the population of Belmora?"), g)  # a side fact the block also states
    assert not asks_for(parser.parse("Describe Belmora."), g)


def record(i: int, in_seed: bool, family: str, required: list[str], forbidden: list[str]) -> dict:
    return {"id": f"e{i}", "instruction": f"q{i}", "entity_in_seed": in_seed, "family": family,
            "check": {"required": [[k] for k in required], "forbidden": forbidden, "format": "prose"}}


def test_answer_accuracy_splits_and_win_rates():
    evals = [record(0, True, "fact", ["1783", "belmora"], ["1650"]),
             record(1, True, "fact", ["1650", "zumite"], ["1783"]),
             record(2, False, "describe", ["wool", "hills"], ["glass"]),
             record(3, False, "fact", ["salt", "morra"], ["wool"])]
    outputs = [{"id": "e0", "output": "Belmora was founded in 1783."},            # accurate
               {"id": "e1", "output": "Zumite was founded in 1783."},             # wrong value
               {"id": "e2", "output": "It is known for wool and lies in the hills."},  # accurate
               {"id": "e3", "output": "Morra is known for salt and wool."}]       # required there, but a wrong one too
    annotations = [{"instruction": "q0", "preference": 2.0}, {"instruction": "q1", "preference": 1.0},
                   {"instruction": "q2", "preference": 1.5}, {"instruction": "q3", "preference": 1.0}]
    acc = answer_accuracy(evals, outputs, annotations)
    assert (acc["accuracy"], acc["n"]) == (0.5, 4)
    assert acc["by_split"]["seed"]["accuracy"] == 0.5 and acc["by_split"]["seed"]["win_rate"] == 50.0
    assert acc["by_split"]["web_only"]["accuracy"] == 0.5 and acc["by_split"]["web_only"]["win_rate"] == 25.0
    assert acc["by_family"]["fact"]["accuracy"] == pytest.approx(1 / 3)
    assert acc["by_family"]["describe"] == {"accuracy": 1.0, "n": 1, "win_rate": 50.0, "standard_error": None}


def test_answer_accuracy_keeps_each_prompt_for_pairing():
    evals = [record(0, True, "fact", ["1783", "belmora"], []), record(1, False, "fact", ["salt", "morra"], [])]
    outputs = [{"id": "e0", "output": "Belmora was founded in 1783."}, {"id": "e1", "output": "Morra is known for wool."}]
    acc = answer_accuracy(evals, outputs, [])
    assert acc["per_prompt"] == {"e0": {"accurate": True, "split": "seed"}, "e1": {"accurate": False, "split": "web_only"}}


def test_accuracy_vs_first_is_a_paired_difference_worked_by_hand():
    def gold_of(flags: dict[str, tuple[bool, str]]) -> dict:
        return {"per_prompt": {k: {"accurate": a, "split": s} for k, (a, s) in flags.items()}}

    m0 = gold_of({"e0": (True, "seed"), "e1": (False, "seed"), "e2": (False, "web_only"), "e3": (True, "web_only")})
    m1 = gold_of({"e0": (True, "seed"), "e1": (True, "seed"), "e2": (True, "web_only"), "e3": (False, "web_only")})
    out = accuracy_vs_first({"M_0": m0, "M_1": m1, "M_2": None})
    assert list(out) == ["M_1"] and out["M_1"]["vs"] == "M_0"
    # all: differences 0, 100, 100, -100: mean 25, SD sqrt(27500 / 3) = 95.74, SE 47.87, z 0.52
    every = out["M_1"]["all"]
    assert (every["mean_difference"], every["n"]) == (25.0, 4)
    assert every["standard_error"] == pytest.approx(47.87, abs=1e-2) and every["z"] == pytest.approx(0.522, abs=1e-3)
    # web-only: 100, -100: mean 0, SE 100
    web = out["M_1"]["web-only"]
    assert (web["mean_difference"], web["standard_error"], web["n"], web["z"]) == (0.0, 100.0, 2, 0.0)
    assert prompt_accuracy(m1, "seed") == {"e0": 1.0, "e1": 1.0} and prompt_accuracy(None) == {}
