"""The one transformers runner: load a model folder, encode (left padding, the prompt's end kept),
generate, and read next-token probabilities. The pipeline's `hf` engine, the local HF judge and
`humpback-serve` all run models through it, so every path reads the same numbers from a model.

Rules it owns:
- template: the model card's `prompt_template`, else the configured one, else the tokenizer's chat
  template when it has one, else the published `[INST]` format (`template_for`);
- seeding: the batch that starts at offset `b` of a call is sampled under `seed + b`, so a sample
  depends only on the seed and the batch layout, whoever calls (`generate` sorts by length first, and
  a server engine sends each of those batches as one request with that seed).
"""

from __future__ import annotations

import copy
import inspect
import math
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

import torch

from humpback import prompts
from humpback.inference.config import DecodeConfig
from humpback.models import factory
from humpback.models.config import ModelConfig
from humpback.models.templates import format_prompt, turn_markers


MIN_SHARED_PREFIX = 16  # tokens: below this a shared prefix saves less than its extra forward pass costs


@dataclass
class Completion:
    text: str
    finish_reason: str  # stop (end of sequence or a stop string) | length
    prompt_tokens: int
    tokens: list[str] = field(default_factory=list)  # generated tokens as text (empty unless logprobs were asked)
    token_logprobs: list[float] = field(default_factory=list)
    top_logprobs: list[list[tuple[str, float]]] = field(default_factory=list)  # per token, best first; empty unless asked
    completion_tokens: int = 0


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def template_for(model_dir: str | os.PathLike, configured: Optional[str], tokenizer: Any = None) -> str:
    """The prompt template a model folder is run with (see the module docstring)."""
    card = factory.read_card(model_dir).get("prompt_template")
    if card or configured:
        return card or configured
    return "chat_template" if getattr(tokenizer, "chat_template", None) else "inst"


def length_batches(prompts_: list[str], batch_size: int) -> list[tuple[int, list[int]]]:
    """(offset, prompt indices) of each batch once the prompts are sorted by length: similar lengths share
    a batch, so little compute goes to padding. Every engine batches `generate` calls this way."""
    order = sorted(range(len(prompts_)), key=lambda i: len(prompts_[i]))
    return [(b, order[b : b + batch_size]) for b in range(0, len(order), batch_size)]


class HFRunner:
    """One model folder on one device. Calls are serialised by a lock: threads (a server's) share it."""

    def __init__(self, model_dir: str | os.PathLike, model_cfg: Optional[ModelConfig] = None, device: Optional[str] = None,
                 batch_size: int = 16, prompt_template: Optional[str] = None):
        self.model_dir = str(model_dir)
        cfg = model_cfg or ModelConfig(source="local", path=self.model_dir, prompt_template=None)
        self.device = device or default_device()
        self.model, self.tok = factory.load_for_inference(self.model_dir, cfg, self.device)
        self.tok.padding_side = "left"  # generation continues from the right edge
        self.batch_size = max(1, batch_size)
        self.max_positions = int(getattr(self.model.config, "max_position_embeddings", 4096))
        self.template = template_for(self.model_dir, prompt_template or cfg.prompt_template, self.tok)
        format_prompt("", self.template, self.tok)  # a chat_template the tokenizer lacks fails here, not mid-stage
        # transformers 5.2x names a forward's KV cache `cache`; earlier releases `past_key_values`
        self._cache_arg = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"
        self._lock = threading.Lock()

    # ---- prompts -------------------------------------------------------------------------------
    def format(self, message: str) -> str:
        """The prompt for one user message, in the template the model was trained with."""
        return format_prompt(message, self.template, self.tok)

    def render_chat(self, messages: list[dict[str, Any]]) -> str:
        """The prompt for a chat: the tokenizer's chat template, or `[INST]` turns (system text opens the
        first user turn)."""
        if self.template == "chat_template":
            return self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        system = "\n\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
        parts, pending = [], system
        for m in messages:
            role, content = m.get("role"), str(m.get("content") or "")
            if role == "user":
                parts.append(prompts.inst_prompt(f"{pending}\n\n{content}" if pending else content))
                pending = ""
            elif role == "assistant":
                parts.append(content)
        return " ".join(parts)

    def count_tokens(self, text: str) -> int:
        return len(self.tok(text, add_special_tokens=False)["input_ids"])

    def encode(self, texts: list[str], room: int) -> tuple[dict[str, torch.Tensor], list[int]]:
        """Left-padded ids with BOS (unless the text already starts with it), each cut to leave `room`
        positions for new tokens; returns the batch and each prompt's length in tokens."""
        bos = [self.tok.bos_token_id] if self.tok.bos_token_id is not None else []
        ids = []
        for t in texts:
            x = self.tok(t, add_special_tokens=False)["input_ids"]
            starts_with_bos = bool(self.tok.bos_token) and t.startswith(self.tok.bos_token)
            ids.append(x if starts_with_bos else bos + x)
        limit = max(8, self.max_positions - room)
        ids = [x[-limit:] for x in ids]  # keep the end: the instruction template's close is there
        width = max(map(len, ids))
        pad = self.tok.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in ids])
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids])
        return {"input_ids": input_ids.to(self.device), "attention_mask": mask.to(self.device)}, [len(x) for x in ids]

    # ---- generation ----------------------------------------------------------------------------
    def generate(self, prompts_: list[str], decode: DecodeConfig, seed: int = 0) -> list[str]:
        """The pipeline engine's call: one text per prompt, batched by length (`length_batches`)."""
        out = [""] * len(prompts_)
        for b, idx in length_batches(prompts_, self.batch_size):
            done = self.complete([prompts_[i] for i in idx], decode.max_new_tokens, decode.temperature, decode.top_p, seed + b,
                                 stop=turn_markers(self.template))
            for i, c in zip(idx, done):
                out[i] = c.text.strip()
        return out

    def complete(self, texts: list[str], max_tokens: int = 16, temperature: float = 1.0, top_p: float = 1.0,
                 seed: Optional[int] = None, top_logprobs: int = 0, stop: Optional[list[str]] = None,
                 logprobs: bool = False) -> list[Completion]:
        """Continue each text, in batches of `batch_size` in the given order. `logprobs` also returns the
        chosen tokens' log-probabilities, `top_logprobs` > 0 that many alternatives per token."""
        if max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        out: list[Completion] = []
        with self._lock:
            for b in range(0, len(texts), self.batch_size):
                if seed is not None:
                    torch.manual_seed(seed + b)  # under the lock: the seed alone decides the sample
                out += self._complete_batch(texts[b : b + self.batch_size], max_tokens, temperature, top_p,
                                            top_logprobs, stop or [], logprobs or top_logprobs > 0)
        return out

    @torch.inference_mode()
    def _complete_batch(self, texts: list[str], max_tokens: int, temperature: float, top_p: float, k: int,
                        stop: list[str], want_logprobs: bool) -> list[Completion]:
        batch, lengths = self.encode(texts, max_tokens)
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
            output_logits=want_logprobs,  # vocab x steps x batch floats: only when asked
            return_dict_in_generate=True,
        )
        new = gen.sequences[:, width:].tolist()
        logprobs = [torch.log_softmax(step.float(), dim=-1) for step in gen.logits] if want_logprobs else []
        results = []
        for row, ids in enumerate(new):
            finish = "length"
            if self.tok.eos_token_id in ids:
                ids, finish = ids[: ids.index(self.tok.eos_token_id)], "stop"
            text = self.tok.decode(ids, skip_special_tokens=True)
            tokens = [self.tok.decode([i]) for i in ids] if want_logprobs else []
            chosen = [_finite(float(logprobs[s][row, i])) for s, i in enumerate(ids)] if want_logprobs else []
            top: list[list[tuple[str, float]]] = []
            for s in range(len(ids) if k > 0 else 0):
                values, idx = torch.topk(logprobs[s][row], min(k, logprobs[s].shape[-1]))
                top.append([(self.tok.decode([int(i)]), _finite(float(v))) for v, i in zip(values, idx)])
            n_tokens = len(ids)
            cut = min((text.find(s) for s in stop if s and s in text), default=-1)
            if cut >= 0:
                text, finish = text[:cut], "stop"
                n_tokens = _tokens_within(tokens or [self.tok.decode([i]) for i in ids], cut)  # decoded only when cut
                tokens, chosen, top = tokens[:n_tokens], chosen[:n_tokens], top[:n_tokens]
            results.append(Completion(text, finish, lengths[row], tokens, chosen, top, n_tokens))
        return results

    @torch.inference_mode()
    def next_token_probs(self, prompts_: list[str], candidates: list[str]) -> list[list[float]]:
        """P(first token of each candidate | prompt), renormalised over the candidates, in one forward pass
        per batch. The prompts' common token prefix (the curation rubric: ~80% of each prompt) is run once
        and its key/value cache shared by every batch, so each pair costs only its own tokens."""
        cand_ids = [self.tok(c, add_special_tokens=False)["input_ids"][0] for c in candidates]
        if not prompts_:
            return []
        ids = self._prompt_ids(prompts_, room=1)
        shared = _common_prefix(ids)
        shared = shared if shared >= MIN_SHARED_PREFIX else 0
        out: list[list[float]] = []
        with self._lock:
            prefix = None
            if shared:
                run = self.model(input_ids=torch.tensor([ids[0][:shared]], device=self.device), use_cache=True)
                prefix = run.get("cache", run.get("past_key_values"))
            for b in range(0, len(ids), self.batch_size):
                logits = self._last_logits([x[shared:] for x in ids[b : b + self.batch_size]], prefix, shared)
                out += torch.softmax(logits[:, cand_ids].float(), dim=-1).cpu().tolist()
        return out

    def _prompt_ids(self, texts: list[str], room: int) -> list[list[int]]:
        batch, lengths = self.encode(texts, room)
        return [row[-n:] for row, n in zip(batch["input_ids"].tolist(), lengths)]

    def _last_logits(self, suffixes: list[list[int]], prefix: Any, shared: int) -> torch.Tensor:
        """Next-token logits after each prefix + suffix: suffixes right-padded after the shared cache."""
        width = max(map(len, suffixes))
        pad = self.tok.pad_token_id
        input_ids = torch.tensor([x + [pad] * (width - len(x)) for x in suffixes], device=self.device)
        mask = torch.tensor([[1] * (shared + len(x)) + [0] * (width - len(x)) for x in suffixes], device=self.device)
        positions = torch.arange(shared, shared + width, device=self.device).expand(len(suffixes), -1)
        cache = None
        if prefix is not None:
            cache = copy.deepcopy(prefix)  # the forward pass appends to it
            cache.batch_repeat_interleave(len(suffixes))
        logits = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions, **{self._cache_arg: cache}).logits
        last = torch.tensor([len(x) - 1 for x in suffixes], device=self.device)
        return logits[torch.arange(len(suffixes), device=self.device), last]


def _common_prefix(ids: list[list[int]]) -> int:
    """Tokens every row starts with, leaving each row at least one token of its own."""
    n = min(map(len, ids)) - 1
    first = ids[0]
    for row in ids[1:]:
        k = 0
        while k < n and row[k] == first[k]:
            k += 1
        n = k
    return max(0, n)


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
