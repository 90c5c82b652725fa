"""Config composition: schema validation, --cfg job, presets."""

from __future__ import annotations

import subprocess
import sys

import pytest
from omegaconf import OmegaConf
from hydra.errors import ConfigCompositionException

from tests.helpers import compose_config


def test_default_config_composes_with_paper_and_preset_values():
    cfg = compose_config()
    assert cfg.curate.iterations == 2 and cfg.curate.threshold == 5.0 and cfg.curate.mode == "generate"
    assert cfg.train.weight_decay == 0.1 and cfg.train.dropout == 0.1 and cfg.train.batch_size == 32
    assert cfg.train.small_data_batch_size == 8 and cfg.train.small_data_threshold == 3000
    assert cfg.generate.answer.temperature == 0.0 and cfg.generate.answer.top_p == 0.9  # CPU preset: greedy
    assert compose_config(["generate=paper"]).generate.answer.temperature == 0.7  # the paper's sampling
    assert cfg.eval.inference_tags == "S_a+S_w" and cfg.judge.kind == "oracle"
    assert cfg.data.segment.min_chars == 200  # toy preset; the schema default is the paper's 600
    paper = compose_config(["train=paper"])
    assert (paper.train.lr, paper.train.lr_end) == (1e-5, 9e-6)


def test_schema_defaults_are_the_papers():
    from humpback.config.schema import HumpbackConfig

    cfg = OmegaConf.structured(HumpbackConfig)
    assert (cfg.train.lr, cfg.train.lr_end) == (1e-5, 9e-6)
    assert (cfg.data.segment.min_chars, cfg.data.segment.max_chars) == (600, 3000)


def test_unknown_key_fails():
    with pytest.raises(ConfigCompositionException, match="train.learning_rate"):
        compose_config(["train.learning_rate=3"])
    # a preset YAML with a typo fails the same way: group files merge into the structured schema
    from humpback.config.schema import HumpbackConfig

    with pytest.raises(Exception, match="learning_rate"):
        OmegaConf.merge(OmegaConf.structured(HumpbackConfig), {"train": {"learning_rate": 3}})


def test_wrong_type_fails():
    with pytest.raises(ConfigCompositionException) as err:
        compose_config(["curate.iterations=two"])
    assert "curate.iterations" in str(err.value.__cause__) and "Integer" in str(err.value.__cause__)


def test_cli_cfg_job_prints_resolved_config_and_rejects_typos():
    ok = subprocess.run([sys.executable, "-m", "humpback.cli.main", "--cfg", "job", "student.size=100"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    printed = OmegaConf.create(ok.stdout)
    assert printed.student.size == 100 and printed.curate.iterations == 2
    bad = subprocess.run([sys.executable, "-m", "humpback.cli.main", "--cfg", "job", "curate.iteratons=3"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "iteratons" in bad.stderr
