"""Build, load and save causal LMs: scratch Llama models, local HF folders, hub ids, LoRA adapters.

Every model folder the pipeline writes is self-describing (litgpt-style): HF weights (safetensors) or a
LoRA adapter, the tokenizer, and `humpback_model.json` naming the prompt template and, for an
adapter, the base folder it applies to.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase

from humpback.data.records import follow_umask
from humpback.models.config import ModelConfig

MODEL_CARD = "humpback_model.json"
_DROPOUT_FIELDS = ("attention_dropout", "hidden_dropout", "resid_pdrop", "attn_pdrop", "embd_pdrop", "dropout")


def torch_dtype(name: str) -> torch.dtype:
    if name == "auto":
        return torch.bfloat16 if torch.cuda.is_available() else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def scratch_model(cfg: ModelConfig, tokenizer: PreTrainedTokenizerBase, dropout: float = 0.0) -> LlamaForCausalLM:
    s = cfg.scratch
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=s.hidden_size,
        intermediate_size=s.intermediate_size,
        num_hidden_layers=s.num_layers,
        num_attention_heads=s.num_heads,
        num_key_value_heads=s.num_kv_heads,
        max_position_embeddings=s.max_position_embeddings,
        attention_dropout=dropout,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(config)


def base_model_path(cfg: ModelConfig) -> str:
    """Where a local/hub base model comes from (scratch models come from the pretrain stage)."""
    if not cfg.path:
        raise ValueError(f"model.source={cfg.source} needs model.path (a local HF folder or a hub id)")
    if cfg.source == "local" and not Path(cfg.path).expanduser().is_dir():
        raise FileNotFoundError(f"model.path={cfg.path!r} is not a folder (model.source=local)")
    return str(Path(cfg.path).expanduser()) if cfg.source == "local" else cfg.path


def _hf_kwargs(cfg: ModelConfig) -> dict[str, Any]:
    kw: dict[str, Any] = {"trust_remote_code": cfg.trust_remote_code}
    if cfg.revision:
        kw["revision"] = cfg.revision
    if cfg.source != "hub":
        kw["local_files_only"] = True  # never reach for a hub when pointed at a folder
    return kw


def load_tokenizer(path: str, cfg: ModelConfig) -> PreTrainedTokenizerBase:
    tok = AutoTokenizer.from_pretrained(path, **_hf_kwargs(cfg))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token  # common for Llama-family tokenizers; padding is masked anyway
    return tok


def read_card(path: str | os.PathLike) -> dict[str, Any]:
    card = Path(path) / MODEL_CARD
    return json.loads(card.read_text()) if card.is_file() else {}


def load_for_training(path: str, cfg: ModelConfig, dropout: float) -> torch.nn.Module:
    """Load a base model for fine-tuning with the paper's dropout set on every dropout field it has."""
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, **_hf_kwargs(cfg))
    for name in _DROPOUT_FIELDS:
        if hasattr(model.config, name):
            setattr(model.config, name, dropout)
    for module in model.modules():  # modules read dropout at init: update the live ones too
        if isinstance(module, torch.nn.Dropout):
            module.p = dropout
        elif hasattr(module, "attention_dropout") and isinstance(module.attention_dropout, float):
            module.attention_dropout = dropout
    if cfg.lora.enabled:
        from peft import LoraConfig as PeftLoraConfig, get_peft_model

        model = get_peft_model(
            model,
            PeftLoraConfig(
                r=cfg.lora.r,
                lora_alpha=cfg.lora.alpha,
                lora_dropout=cfg.lora.dropout,
                target_modules=list(cfg.lora.target_modules),
                task_type="CAUSAL_LM",
            ),
        )
    return model


def save_model(model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, out: Path, base: str, cfg: ModelConfig) -> None:
    """Save full weights, or the LoRA adapter alone next to a card that names its base."""
    is_adapter = hasattr(model, "peft_config")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    card = {"adapter": is_adapter, "base": base if is_adapter else None, "prompt_template": cfg.prompt_template}
    (out / MODEL_CARD).write_text(json.dumps(card, indent=2))
    follow_umask(out)  # safetensors writes its file 0600


def load_for_inference(path: str | os.PathLike, cfg: ModelConfig, device: str) -> tuple[torch.nn.Module, PreTrainedTokenizerBase]:
    path = str(path)
    card = read_card(path)
    dtype = torch_dtype(cfg.dtype) if device != "cpu" else torch.float32
    if card.get("adapter"):
        from peft import PeftModel

        base = AutoModelForCausalLM.from_pretrained(card["base"], dtype=dtype, **_hf_kwargs(cfg))
        model = PeftModel.from_pretrained(base, path).merge_and_unload()  # merged: plain fast generate
    else:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **_hf_kwargs(cfg))
    tokenizer = load_tokenizer(path, cfg)
    return model.to(device).eval(), tokenizer
