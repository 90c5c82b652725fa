"""Fine-tuning recipes: the paper's schedule, saved self-describing folders, data-parallel runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from humpback.models import factory
from humpback.models.config import ModelConfig, ScratchModelConfig, TrainConfig
from humpback.models.tokenizer import train_bpe_tokenizer
from humpback.models.train import finetune

TINY = ModelConfig(scratch=ScratchModelConfig(hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2, num_kv_heads=2))
EXAMPLES = [{"user": f"How many bridges does Bal{i} have?", "target": f" Bal{i} has {i} bridges."} for i in range(24)]


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory) -> str:
    tok = train_bpe_tokenizer([e["user"] + e["target"] for e in EXAMPLES] * 3, vocab_size=300)
    out = tmp_path_factory.mktemp("base")
    factory.save_model(factory.scratch_model(TINY, tok), tok, out, base="", cfg=TINY)
    return str(out)


def test_paper_schedule_and_saved_folder(base_dir, tmp_path):
    cfg = TrainConfig(lr=1e-3, lr_end=9e-4, steps=6, micro_batch_size=4)  # batch 8 (< 3,000 examples), 2 micro-batches each
    m = finetune(base_dir, EXAMPLES, TINY, cfg, tmp_path / "m")
    assert (m["batch_size"], m["steps"], m["world_size"], m["examples"]) == (8, 6, 1, 24)
    lrs = [h["lr"] for h in m["history"]]
    assert len(lrs) == 6 and lrs[0] == pytest.approx(1e-3) and lrs[-1] == pytest.approx(1e-3 + (9e-4 - 1e-3) * 5 / 6)
    assert all(a > b for a, b in zip(lrs, lrs[1:]))  # linear decay toward lr_end
    card = json.loads((tmp_path / "m" / "humpback_model.json").read_text())
    assert card == {"adapter": False, "base": None, "prompt_template": "inst"}
    assert (tmp_path / "m" / "model.safetensors").is_file() and (tmp_path / "m" / "tokenizer.json").is_file()


def test_lora_saves_the_adapter_alone(base_dir, tmp_path):
    lora = ModelConfig(**{**TINY.__dict__, "lora": type(TINY.lora)(enabled=True, r=4, alpha=8)})
    finetune(base_dir, EXAMPLES, lora, TrainConfig(steps=2, micro_batch_size=8), tmp_path / "a")
    card = json.loads((tmp_path / "a" / "humpback_model.json").read_text())
    assert card["adapter"] and card["base"] == base_dir
    assert (tmp_path / "a" / "adapter_model.safetensors").is_file() and not (tmp_path / "a" / "model.safetensors").exists()
    model, _ = factory.load_for_inference(tmp_path / "a", lora, "cpu")  # base + adapter, merged
    assert not hasattr(model, "peft_config")


@pytest.mark.slow
def test_two_process_data_parallel_fine_tune(base_dir, tmp_path):
    """devices=2 runs the fine-tune as its own command that Lightning can relaunch per rank (gloo on CPU)."""
    cfg = TrainConfig(lr=1e-3, lr_end=1e-4, steps=3, micro_batch_size=2, accelerator="cpu", devices=2, strategy="ddp")
    m = finetune(base_dir, EXAMPLES, TINY, cfg, tmp_path / "ddp")
    assert (m["world_size"], m["steps"], m["batch_size"]) == (2, 3, 8) and len(m["history"]) == 3
    assert (tmp_path / "ddp" / "model.safetensors").is_file()
    assert Path(tmp_path / "ddp.job" / "examples.jsonl").read_text().count("\n") == 24
