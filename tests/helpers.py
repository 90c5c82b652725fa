"""Compose the real Hydra config (as `humpback` does) at test scale."""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from humpback.config.schema import register_configs
from humpback.paths import conf_dir, register_resolvers
from humpback.prompts import CURATION_PROMPT

# The curation prompt's fixed opening, before its first slot: how a rating row is told from other rows.
RATING_PROMPT_HEAD = CURATION_PROMPT.split("<generated instruction>")[0]

# A pipeline small enough for the test suite: every stage runs, on a handful of rows.
TEST_SCALE = [
    "data.world.n_seed=40",
    "data.world.n_rating_examples=10",
    "data.world.n_pages=10",
    "data.world.n_eval=8",
    "data.world.n_background_per_kind=4",
    "data.world.n_background_rating_examples=4",
    "data.world.articles_per_entity=1",
    "pretrain.steps=20",
    "pretrain.batch_size=8",
    "pretrain.block_size=128",
    "model.scratch.vocab_size=600",
    "model.scratch.hidden_size=32",
    "model.scratch.intermediate_size=64",
    "model.scratch.num_layers=1",
    "model.scratch.num_heads=2",
    "model.scratch.num_kv_heads=2",
    "train.epochs=1",
    "train.max_seq_len=256",
    "generate.answer.max_new_tokens=16",
    "generate.instruction.max_new_tokens=12",
    "curate.decode.max_new_tokens=8",
    "augment.limit=16",
    "logger.wandb.mode=offline",
]


def compose_config(overrides: list[str] = ()) -> DictConfig:
    register_resolvers()
    register_configs()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))
