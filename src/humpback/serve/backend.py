"""A local HF causal LM behind completion calls: batched generation that also reports per-token
log-probabilities (the chosen token and the top alternatives), and chat rendering.

Shared by `humpback-serve` (which exposes it over HTTP) and the local HF judge (which calls it in
process), so both read the same numbers from the same model.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

import torch

from humpback import prompts
from humpback.models import factory
from humpback.models.config import ModelConfig


@dataclass
class Completion:
    text: str
    finish_reason: str  # stop (end of sequence or a stop string) | length
    prompt_tokens: int
    tokens: list[str] = field(default_factory=list)  # generated tokens as text
    token_logprobs: list[float] = field(default_factory=list)
    top_logprobs: list[list[tuple[str, float]]] = field(default_factory=list)  # per token, best first; empty unless asked

    @property
    def completion_tokens(self) -> int:
        return len(self.tokens)


def _default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


class HFBackend:
    """One model folder; calls are serialised by a lock (the server's request threads share it)."""

    def __init__(self, model_dir: str | os.PathLike, model_cfg: Optional[ModelConfig] = None, device: Optional[str] = None,
                 batch_size: int = 8, prompt_template: Optional[str] = None):
        self.model_dir = str(model_dir)
        cfg = model_cfg or ModelConfig(source="local", path=self.model_dir)
        self.device = device or _default_device()
        self.model, self.tok = factory.load_for_inference(self.model_dir, cfg, self.device)
        self.tok.padding_side = "left"
        self.batch_size = max(1, batch_size)
        self.max_positions = int(getattr(self.model.config, "max_position_embeddings", 4096))
        card_template = factory.read_card(self.model_dir).get("prompt_template")
        has_chat_template = bool(getattr(self.tok, "chat_template", None))
        self.prompt_template = prompt_template or card_template or ("chat_template" if has_chat_template else "inst")
        if self.prompt_template == "chat_template" and not has_chat_template:
            raise ValueError(f"{self.model_dir}: prompt_template=chat_template but the tokenizer has no chat template")
        self._lock = threading.Lock()

    # ---- prompts -------------------------------------------------------------------------------
    def render_chat(self, messages: list[dict[str, Any]]) -> str:
        """The prompt text for a chat: the tokenizer's chat template, or the [INST] format of humpback models
        (system text opens the first user turn)."""
        if self.prompt_template == "chat_template":
            return self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        system = "\n\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
        parts, pending = [], system
        for m in messages:
            role, content = m.get("role"), str(m.get("content") or "")
            if role == "user":
                text = f"{pending}\n\n{content}" if pending else content
                parts.append(prompts.inst_prompt(text))
                pending = ""
            elif role == "assistant":
                parts.append(content)
        return " ".join(parts)

    def count_tokens(self, text: str) -> int:
        return len(self.tok(text, add_special_tokens=False)["input_ids"])

    def _encode(self, texts: list[str], room: int) -> tuple[dict[str, torch.Tensor], list[int]]:
        bos = [self.tok.bos_token_id] if self.tok.bos_token_id is not None else []
        ids = []
        for t in texts:
            x = self.tok(t, add_special_tokens=False)["input_ids"]
            starts_with_bos = bool(self.tok.bos_token) and t.startswith(self.tok.bos_token)
            ids.append(x if starts_with_bos else bos + x)
        limit = max(8, self.max_positions - room)
        ids = [x[-limit:] for x in ids]  # keep the end: the prompt's question and answer cue are there
        width = max(map(len, ids))
        pad = self.tok.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in ids])
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids])
        return {"input_ids": input_ids.to(self.device), "attention_mask": mask.to(self.device)}, [len(x) for x in ids]

    # ---- generation ----------------------------------------------------------------------------
    def complete(self, texts: list[str], max_tokens: int = 16, temperature: float = 1.0, top_p: float = 1.0,
                 seed: Optional[int] = None, top_logprobs: int = 0, stop: Optional[list[str]] = None) -> list[Completion]:
        """Continue each text; `top_logprobs` > 0 also returns that many alternatives per generated token."""
        if max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        out: list[Completion] = []
        with self._lock:
            if seed is not None:
                torch.manual_seed(seed)  # under the lock: the seed alone decides the sample
            for b in range(0, len(texts), self.batch_size):
                out += self._complete_batch(texts[b : b + self.batch_size], max_tokens, temperature, top_p, top_logprobs, stop or [])
        return out

    @torch.inference_mode()
    def _complete_batch(self, texts: list[str], max_tokens: int, temperature: float, top_p: float, k: int,
                        stop: list[str]) -> list[Completion]:
        batch, lengths = self._encode(texts, max_tokens)
        width = batch["input_ids"].shape[1]
        sample = temperature > 0
        gen = self.model.generate(
            **batch,
            max_new_tokens=max(1, min(max_tokens, self.max_positions - width)),
            do_sample=sample,
            temperature=temperature if sample else None,
            top_p=top_p if sample and top_p < 1.0 else None,
            top_k=None,
            pad_token_id=self.tok.pad_token_id,
            eos_token_id=self.tok.eos_token_id,
            output_logits=True,
            return_dict_in_generate=True,
        )
        new = gen.sequences[:, width:].tolist()
        logprobs = [torch.log_softmax(step.float(), dim=-1) for step in gen.logits]  # raw model distribution
        results = []
        for row, ids in enumerate(new):
            finish = "length"
            if self.tok.eos_token_id in ids:
                ids, finish = ids[: ids.index(self.tok.eos_token_id)], "stop"
            tokens = [self.tok.decode([i]) for i in ids]
            chosen = [float(logprobs[s][row, i]) for s, i in enumerate(ids)]
            top: list[list[tuple[str, float]]] = []
            if k > 0:
                for s in range(len(ids)):
                    values, idx = torch.topk(logprobs[s][row], min(k, logprobs[s].shape[-1]))
                    top.append([(self.tok.decode([int(i)]), _finite(float(v))) for v, i in zip(values, idx)])
            text = self.tok.decode(ids, skip_special_tokens=True)
            cut = min((text.find(s) for s in stop if s and s in text), default=-1)
            if cut >= 0:
                text, finish = text[:cut], "stop"
                n = _tokens_within(tokens, cut)
                tokens, chosen, top = tokens[:n], chosen[:n], top[:n]
            results.append(Completion(text, finish, lengths[row], tokens, [_finite(x) for x in chosen], top))
        return results


def _finite(x: float) -> float:
    """JSON has no -inf: a token the model rules out entirely gets a very small log-probability instead."""
    return x if math.isfinite(x) else -9999.0


def _tokens_within(tokens: list[str], chars: int) -> int:
    """How many leading tokens fit in the first `chars` characters of the text."""
    total = 0
    for n, t in enumerate(tokens):
        total += len(t)
        if total > chars:
            return n
    return len(tokens)
