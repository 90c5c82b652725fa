"""Turning a user message into the model's prompt: the published Humpback `[INST] ... [/INST]` format,
or the tokenizer's own chat template."""

from __future__ import annotations

from typing import Any

from humpback.prompts import inst_prompt

TEMPLATES = ("inst", "chat_template")
# Where a model's turn ends besides its EOS token: the `[INST]` format has no end-of-turn token, so a model
# that has not learned to stop writes the next turn ("[INST] ...") or, writing an instruction, the answer
# ("[/INST] ..."). Every engine cuts there, as chat servers cut at their template's stop strings.
TURN_MARKERS = {"inst": ("[INST]", "[/INST]"), "chat_template": ()}


def turn_markers(template: str) -> list[str]:
    return list(TURN_MARKERS[template])


def format_prompt(message: str, template: str, tokenizer: Any = None) -> str:
    if template == "inst":
        return inst_prompt(message)
    if template == "chat_template":
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise ValueError("prompt_template=chat_template but the tokenizer has no chat template; use prompt_template=inst")
        return tokenizer.apply_chat_template([{"role": "user", "content": message}], tokenize=False, add_generation_prompt=True)
    raise ValueError(f"unknown prompt_template {template!r}: choose one of {TEMPLATES}")
