"""Turning a user message into the model's prompt: the published Humpback `[INST] ... [/INST]` format,
or the tokenizer's own chat template."""

from __future__ import annotations

from typing import Any

from humpback.prompts import inst_prompt

TEMPLATES = ("inst", "chat_template")


def format_prompt(message: str, template: str, tokenizer: Any = None) -> str:
    if template == "inst":
        return inst_prompt(message)
    if template == "chat_template":
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise ValueError("prompt_template=chat_template but the tokenizer has no chat template; use prompt_template=inst")
        return tokenizer.apply_chat_template([{"role": "user", "content": message}], tokenize=False, add_generation_prompt=True)
    raise ValueError(f"unknown prompt_template {template!r}: choose one of {TEMPLATES}")
