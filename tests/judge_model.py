"""A tiny judge model with a known next-token distribution, for exact judge and server tests."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from humpback.evaluation.judges import prompts as judge_prompts
from humpback.models import factory
from humpback.models.config import ModelConfig, ScratchModelConfig
from humpback.models.tokenizer import train_bpe_tokenizer

LOGIT_m = 4.0  # the tiny judge model's next-token logits: m, M = m + ln 3, every other token 0
LOGIT_M = LOGIT_m + math.log(3.0)
PREFERENCE_M = 1.75  # 1 + P(M) / (P(m) + P(M)) = 1 + 3/4


def build_judge_model(out: Path) -> Path:
    """A tiny Llama whose next-token distribution is the same after any prompt: attention and MLP write
    nothing, every token embeds to e_0, and the untied head scores only m and M. So a judge reading its
    first-token logprobs always prefers the second output with exactly 1.75 (and greedy text is "MMM...")."""
    texts = [judge_prompts.RANKING_USER, judge_prompts.LOGPROB_USER, judge_prompts.RANKING_SYSTEM, judge_prompts.LOGPROB_SYSTEM,
             "What is the capital of Vellmora? The capital is Oskbridge, a harbour town."] * 20
    tok = train_bpe_tokenizer(texts, vocab_size=300)
    cfg = ModelConfig(scratch=ScratchModelConfig(hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2, num_kv_heads=2))
    config = factory.scratch_model(cfg, tok).config
    config.tie_word_embeddings = False
    config.rms_norm_eps = 1e-12
    model = type(factory.scratch_model(cfg, tok))(config)
    hidden = config.hidden_size
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.model.embed_tokens.weight[:, 0] = 1.0
        model.model.norm.weight[0] = 1.0  # the final hidden state is sqrt(hidden) * e_0 after any prompt
        for label, logit in (("m", LOGIT_m), ("M", LOGIT_M)):
            model.lm_head.weight[tok.convert_tokens_to_ids(label), 0] = logit / math.sqrt(hidden)
    out.mkdir(parents=True, exist_ok=True)
    factory.save_model(model, tok, out, base="", cfg=cfg)
    return out


def expected_logprobs(vocab: int) -> tuple[float, float]:
    log_z = math.log(math.exp(LOGIT_m) + math.exp(LOGIT_M) + (vocab - 2))
    return LOGIT_m - log_z, LOGIT_M - log_z
