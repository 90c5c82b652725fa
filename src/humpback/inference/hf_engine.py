"""transformers engine: batched generation (sorted by length, left padding, KV cache) and
next-token probabilities for one-pass scoring."""

from __future__ import annotations

import os

import torch

from humpback.inference.config import DecodeConfig
from humpback.models import factory
from humpback.models.config import ModelConfig
from humpback.models.templates import format_prompt


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


class HFEngine:
    def __init__(self, model_dir: str | os.PathLike, model_cfg: ModelConfig, batch_size: int = 16, device: str | None = None):
        self.device = device or default_device()
        self.model, self.tok = factory.load_for_inference(model_dir, model_cfg, self.device)
        self.tok.padding_side = "left"  # generation continues from the right edge
        self.batch_size = batch_size
        self.max_positions = getattr(self.model.config, "max_position_embeddings", 4096)
        self.template = factory.read_card(model_dir).get("prompt_template") or model_cfg.prompt_template

    def format(self, message: str) -> str:
        """The prompt for a user message, in the template the model was trained with."""
        return format_prompt(message, self.template, self.tok)

    def _encode(self, prompts: list[str], room: int) -> dict[str, torch.Tensor]:
        bos = [self.tok.bos_token_id] if self.tok.bos_token_id is not None else []
        ids = [bos + self.tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
        limit = max(8, self.max_positions - room)
        ids = [x[-limit:] for x in ids]  # keep the end: the instruction template's close is there
        width = max(map(len, ids))
        pad = self.tok.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in ids])
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids])
        return {"input_ids": input_ids.to(self.device), "attention_mask": mask.to(self.device)}

    @torch.inference_mode()
    def generate(self, prompts: list[str], decode: DecodeConfig, seed: int = 0) -> list[str]:
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        out: list[str] = [""] * len(prompts)
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            batch = self._encode([prompts[i] for i in idx], decode.max_new_tokens)
            torch.manual_seed(seed + b)  # sampling depends only on the seed and the batch
            sample = decode.temperature > 0
            gen = self.model.generate(
                **batch,
                max_new_tokens=min(decode.max_new_tokens, self.max_positions - batch["input_ids"].shape[1]),
                do_sample=sample,
                temperature=decode.temperature if sample else None,
                top_p=decode.top_p if sample else None,
                top_k=None,
                pad_token_id=self.tok.pad_token_id,
                eos_token_id=self.tok.eos_token_id,
            )
            texts = self.tok.batch_decode(gen[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)
            for i, t in zip(idx, texts):
                out[i] = t.strip()
        return out

    @torch.inference_mode()
    def next_token_probs(self, prompts: list[str], candidates: list[str]) -> list[list[float]]:
        """P(first token of each candidate | prompt), renormalised over the candidates."""
        cand_ids = [self.tok(c, add_special_tokens=False)["input_ids"][0] for c in candidates]
        out: list[list[float]] = []
        for b in range(0, len(prompts), self.batch_size):
            batch = self._encode(prompts[b : b + self.batch_size], 1)
            logits = self.model(**batch).logits[:, -1, :].float()
            probs = torch.softmax(logits[:, cand_ids], dim=-1)
            out += probs.cpu().tolist()
        return out
