"""Every stage's key covers what changes its results and nothing operational (issue 9): generation
layout (batch and shard size) changes sampled text, so it is in the keys of the stages that generate;
cache paths, timeouts, concurrency and prices are not in any key."""

from __future__ import annotations

import pytest

from humpback.pipeline import make_context, run_stages
from tests.helpers import TEST_SCALE, compose_config

GENERATING = {"augment", "curate", "generate"}  # stage kinds that sample text with the engine


def plan_keys(tmp_path, *overrides: str, cache: str = "cache") -> dict[str, tuple[str, str]]:
    """{stage label: (stage kind, key)} of a plan: keys only, nothing runs."""
    cfg = compose_config([*TEST_SCALE, f"cache_dir={tmp_path / cache}", *overrides])
    ctx = make_context(cfg, tmp_path / "job", plan=True)
    run_stages(ctx)
    return {r.name: (r.stage, r.key) for r in ctx.records}


def changed(a: dict, b: dict) -> set[str]:
    return {kind for name, (kind, key) in a.items() if b[name][1] != key}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return plan_keys(tmp_path_factory.mktemp("keys"))


@pytest.mark.parametrize("knob", ["generate.batch_size=3", "generate.shard_size=5"])
def test_generation_layout_is_in_the_keys_of_generating_stages(tmp_path, base, knob):
    kinds = changed(base, plan_keys(tmp_path, knob))
    assert GENERATING <= kinds  # and whatever reads their output (students, judges)
    assert not kinds & {"world", "seed", "eval_set", "segments", "pretrain"}


@pytest.mark.parametrize("knob", ["judge.timeout_s=5", "judge.max_concurrency=1", "judge.max_retries=1",
                                  "judge.price_per_1k_prompt_tokens=0.01", "judge.base_url=http://elsewhere/v1",
                                  "judge.cache_dir=/somewhere/else", "train.progress_bar=true"])
def test_operational_knobs_enter_no_key(tmp_path, base, knob):
    assert changed(base, plan_keys(tmp_path, knob)) == set()


def test_a_moved_cache_keeps_every_key(tmp_path, base):
    assert changed(base, plan_keys(tmp_path, cache="moved/elsewhere")) == set()


@pytest.mark.parametrize("knob", ["judge.order_seed=1", "judge.name=other_oracle"])
def test_judge_knobs_that_change_annotations_change_its_key(tmp_path, base, knob):
    assert changed(base, plan_keys(tmp_path, knob)) == {"judge"}


def test_prompted_judge_key_follows_its_prompt_not_its_transport(tmp_path):
    api = ["judge=api", "judge.model=gpt-x", "judge.prompt_format=ranking"]
    ref = plan_keys(tmp_path, *api)
    assert changed(ref, plan_keys(tmp_path, *api[:-1], "judge.prompt_format=logprob")) == {"judge"}
    assert changed(ref, plan_keys(tmp_path, *api, "judge.timeout_s=1", "judge.api_key_env=OTHER_KEY")) == set()
