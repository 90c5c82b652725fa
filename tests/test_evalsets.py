"""Evaluation sets: every shared prompt file, AlpacaEval with references, the dev/test split."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from humpback.data.evalsets import EvalSetConfig, load_eval_set, load_eval_set_with_stats, split_of
from humpback.data.records import DataError, read_jsonl, write_jsonl

ALPACA_EVAL = "alpaca_eval/alpaca_eval_davinci003.jsonl"


@pytest.fixture(scope="module")
def alpaca_eval(shared_data):
    return shared_data / ALPACA_EVAL


def _prompts(path, **kw) -> EvalSetConfig:
    return EvalSetConfig(format="prompts", path=str(path), **kw)


@pytest.mark.parametrize("name, count, first_prompt_of", [
    ("vicuna_80", 80, lambda r: r["turns"][0]),
    ("mt_bench_80", 80, lambda r: r["turns"][0]),
    ("koala_180", 180, lambda r: r["prompt"]),
    ("lima_test", 300, lambda r: r["conversations"][0]),
])
def test_plain_prompt_sets_load_their_first_turn(shared_data, name, count, first_prompt_of):
    path = shared_data / "eval_prompts" / f"{name}.jsonl"
    records, stats = load_eval_set_with_stats(_prompts(path))
    raw = read_jsonl(path)
    assert len(records) == len(raw) == count == stats["returned"]
    assert [r["instruction"] for r in records] == [first_prompt_of(row) for row in raw]
    assert all(r["instruction"].strip() for r in records)
    assert len({r["id"] for r in records}) == count
    assert all(r["output"] is None and r["generator"] is None and r["dataset"] == name for r in records)


def test_mt_bench_keeps_second_turn_and_judge_references(shared_data):
    records = load_eval_set(_prompts(shared_data / "eval_prompts" / "mt_bench_80.jsonl"))
    assert all(len(r["turns"]) == 2 and r["turns"][0] == r["instruction"] for r in records)
    assert records[0]["id"] == "mt_bench_80-81" and records[0]["category"] == "writing"
    assert sum("reference" in r for r in records) == 39  # judge aids, not pairwise reference outputs


def test_self_instruct_user_oriented_exposes_human_outputs(shared_data, alpaca_eval):
    path = shared_data / "eval_prompts" / "self_instruct_user_oriented_252.jsonl"
    records = load_eval_set(_prompts(path))
    raw = read_jsonl(path)
    assert len(records) == 252
    assert all(r["output"] == row["instances"][0]["output"] and r["generator"] == "human" for r, row in zip(records, raw))
    assert sum(not row["instances"][0]["input"] for row in raw) == 44
    assert records[0]["id"] == "user_oriented_task_0" and records[0]["motivation_app"] == "Grammarly"
    # instruction + blank line + input is exactly how AlpacaEval wrote these prompts
    alpaca_selfinstruct = {r["instruction"] for r in read_jsonl(alpaca_eval) if r["dataset"] == "selfinstruct"}
    assert {r["instruction"] for r in records} == alpaca_selfinstruct


def test_alpaca_eval_805_with_davinci003_references(alpaca_eval):
    records, stats = load_eval_set_with_stats(EvalSetConfig(path=str(alpaca_eval)))
    assert len(records) == 805 and stats["with_reference"] == 805
    assert all(r["instruction"].strip() and r["output"].strip() for r in records)
    assert {r["generator"] for r in records} == {"text_davinci_003"}
    assert Counter(r["dataset"] for r in records) == {
        "selfinstruct": 252, "oasst": 188, "koala": 156, "helpful_base": 129, "vicuna": 80}
    raw = read_jsonl(alpaca_eval)
    assert [(r["instruction"], r["output"]) for r in records] == [(x["instruction"], x["output"]) for x in raw]
    assert records[0]["id"] == "alpaca_eval_davinci003-1" and len({r["id"] for r in records}) == 805


def test_references_from_another_file(shared_data, alpaca_eval):
    vicuna, stats = load_eval_set_with_stats(
        _prompts(shared_data / "eval_prompts" / "vicuna_80.jsonl", reference_path=str(alpaca_eval)))
    assert stats["references_matched"] == 80 and {r["generator"] for r in vicuna} == {"text_davinci_003"}
    koala, stats = load_eval_set_with_stats(
        _prompts(shared_data / "eval_prompts" / "koala_180.jsonl", reference_path=str(alpaca_eval)))
    assert (stats["references_matched"], stats["references_missing"]) == (144, 36)
    assert sum(r["output"] is None for r in koala) == 36


def test_split_is_disjoint_covering_and_order_independent(alpaca_eval, tmp_path):
    cfg = EvalSetConfig(path=str(alpaca_eval))
    everything = load_eval_set(cfg)
    dev = load_eval_set(EvalSetConfig(path=str(alpaca_eval), split="dev"))
    test = load_eval_set(EvalSetConfig(path=str(alpaca_eval), split="test"))
    assert len(dev) == 261 and len(test) == 544  # dev_fraction 0.31: about the paper's ~250
    assert {r["id"] for r in dev} | {r["id"] for r in test} == {r["id"] for r in everything}
    assert not {r["id"] for r in dev} & {r["id"] for r in test}
    assert all(r["split"] == "dev" for r in dev) and all(r["split"] == "test" for r in test)

    rows = read_jsonl(alpaca_eval)
    random.Random(1).shuffle(rows)
    shuffled = tmp_path / "shuffled.jsonl"
    write_jsonl(shuffled, rows[:500])  # reordered, and a subset
    dev_shuffled = load_eval_set(EvalSetConfig(path=str(shuffled), split="dev"))
    kept = {r["instruction"] for r in rows[:500]}
    assert {r["instruction"] for r in dev_shuffled} == {r["instruction"] for r in dev} & kept

    other = load_eval_set(EvalSetConfig(path=str(alpaca_eval), split="dev", split_seed=1))
    assert {r["instruction"] for r in other} != {r["instruction"] for r in dev}
    assert split_of("x", 0.0) == "test" and split_of("x", 1.0) == "dev"
    assert len(load_eval_set(EvalSetConfig(path=str(alpaca_eval), split="dev", limit=10))) == 10


def test_explicit_prompt_field_and_toyworld(tmp_path):
    path = tmp_path / "toy.jsonl"
    write_jsonl(path, [{"id": "a", "instruction": "q1", "output": "ref", "family": "math"},
                       {"id": "b", "instruction": "q2"}])
    records = load_eval_set(EvalSetConfig(format="toyworld", path=str(path)))
    assert records[0] == {"id": "a", "instruction": "q1", "output": "ref", "generator": "reference",
                          "dataset": "toy", "family": "math", "split": records[0]["split"]}
    assert records[1]["output"] is None and records[1]["generator"] is None
    questions = tmp_path / "questions.jsonl"
    write_jsonl(questions, [{"query": "Why?", "text": "ignored"}])
    assert load_eval_set(_prompts(questions, prompt_field="query", name="qs"))[0]["instruction"] == "Why?"
    assert load_eval_set(_prompts(questions))[0]["instruction"] == "ignored"


def test_reference_matching_exact_then_stripped(tmp_path):
    prompts, refs = tmp_path / "p.jsonl", tmp_path / "refs.jsonl"
    write_jsonl(prompts, [{"prompt": "q1"}, {"prompt": "q2 "}, {"prompt": "q3"}, {"prompt": "q4"}])
    write_jsonl(refs, [{"instruction": "q1", "output": "a1", "generator": "gpt"}, {"instruction": "q2", "output": "a2"},
                       {"instruction": "q3 ", "output": "x"}, {"instruction": " q3", "output": "y"}])
    records, stats = load_eval_set_with_stats(_prompts(prompts, reference_path=str(refs)))
    assert [(r["output"], r["generator"]) for r in records] == [("a1", "gpt"), ("a2", "reference"), (None, None), (None, None)]
    assert (stats["references_matched"], stats["references_missing"]) == (2, 2)  # q3 is ambiguous once stripped
    write_jsonl(refs, [{"instruction": "q1", "output": "a"}, {"instruction": "q1", "output": "b"}])
    with pytest.raises(DataError, match=rf"{refs}:2: instruction also at {refs}:1"):
        load_eval_set(_prompts(prompts, reference_path=str(refs)))


@pytest.mark.parametrize("lines, fmt, message", [
    (['{"instruction": "q", "output": "a"}', '{"instruction": "q2", "output": '], "alpaca_eval", ":2: not valid JSON"),
    (['{"instruction": "q", "output": "a"}', '{"instruction": "  ", "output": "a"}'], "alpaca_eval", ":2: empty instruction"),
    (['{"instruction": "q"}'], "alpaca_eval", ":1: missing field 'output'"),
    (['{"prompt": "q"}', '{"text": "q"}'], "prompts", ":2: missing prompt field 'prompt'"),
    (['{"something": "q"}'], "prompts", ":1: no prompt field found"),
    (['{"turns": []}'], "prompts", ":1: 'turns' should be a non-empty list"),
    (['{"id": 1, "prompt": "a"}', '{"id": 1, "prompt": "b"}'], "prompts", "id '1' appears twice"),
])
def test_bad_eval_rows_raise_with_file_and_line(tmp_path, lines, fmt, message):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=message) as err:
        load_eval_set(EvalSetConfig(format=fmt, path=str(path)))
    assert str(path) in str(err.value)


def test_config_errors():
    with pytest.raises(ValueError, match="eval.path is required"):
        load_eval_set(EvalSetConfig())
    with pytest.raises(ValueError, match="eval.split"):
        load_eval_set(EvalSetConfig(path="x.jsonl", split="validation"))
