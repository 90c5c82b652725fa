"""Judge with a local HF model, same prompts and parsers as the API judge: the model runs in process
(inference.hf_runner, the runner humpback-serve and the hf engine use), prompts are batched per forward pass."""

from __future__ import annotations

import time
from typing import Any, Iterator

from humpback.evaluation.judges.accounting import JudgeStats
from humpback.evaluation.judges.prompted import ChatParams, ChatReply, PromptedJudge, TransportError, make_annotator


class LocalChatTransport:
    def __init__(self, backend: Any):
        self.backend = backend

    def chat_many(self, conversations: list[list[dict[str, str]]], params: ChatParams) -> Iterator[tuple[int, ChatReply | TransportError]]:
        size = self.backend.batch_size
        for b in range(0, len(conversations), size):
            texts = [self.backend.render_chat(conv) for conv in conversations[b : b + size]]
            start = time.perf_counter()
            done = self.backend.complete(texts, max_tokens=params.max_tokens, temperature=params.temperature, top_logprobs=params.top_logprobs)
            seconds = (time.perf_counter() - start) / max(1, len(texts))
            for j, c in enumerate(done):
                top = c.top_logprobs[0] if c.top_logprobs else None
                yield b + j, ChatReply(c.text, top, c.prompt_tokens, c.completion_tokens, seconds)


def make_hf_judge(cfg: Any) -> PromptedJudge:
    from humpback.inference.hf_runner import HFRunner

    if not cfg.model:
        raise ValueError("judge.model must name a local model folder for judge.kind=hf")
    annotator = make_annotator(cfg)
    if annotator.params.extra:  # tools: a local model in process makes no tool calls
        raise ValueError(f"judge.annotator={cfg.annotator!r} answers through a tool call, which judge.kind=hf cannot make: use judge=api")
    backend = HFRunner(cfg.model, device=cfg.device, batch_size=cfg.batch_size)
    return PromptedJudge(cfg.name, LocalChatTransport(backend), stats=JudgeStats(), annotator=annotator)
