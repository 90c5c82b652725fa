"""The paper's prompts and tags, character for character (SPEC.md section 3)."""


import pytest

from humpback import prompts
from tests.conftest import REPO

SPEC = REPO.parent / "shared" / "paper" / "SPEC.md"


def _spec_blocks() -> list[str]:
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is absent")
    text = SPEC.read_text()
    return [b.strip("\n") for b in text.split("```")[1::2]]


def test_curation_prompt_is_verbatim():
    assert prompts.CURATION_PROMPT == _spec_blocks()[0]


def test_backward_prompt_is_verbatim():
    assert prompts.BACKWARD_PROMPT == _spec_blocks()[1]


def test_known_typos_are_kept():
    assert "from an user" in prompts.CURATION_PROMPT
    assert "It provide a complete" in prompts.CURATION_PROMPT
    assert prompts.CURATION_PROMPT.endswith('write "Score: <rating>" in the last line.\n\n<generated instruction> <output>')


def test_tags_and_templates():
    assert prompts.TAG_SEED == "Answer in the style of an AI Assistant."
    assert prompts.TAG_WEB == "Answer with knowledge from web search."
    assert prompts.add_tags("Hi?", prompts.INFERENCE_TAGS["S_a+S_w"]) == (
        "Hi? Answer in the style of an AI Assistant. Answer with knowledge from web search.")
    assert prompts.add_tags("Hi?", prompts.INFERENCE_TAGS["none"]) == "Hi?"
    assert prompts.inst_prompt("Hi?") == "[INST] Hi? [/INST]"


def test_slots_are_filled():
    p = prompts.curation_prompt("What is X?", "X is Y.")
    assert p.endswith("in the last line.\n\nWhat is X?\n\nX is Y.")
    assert "<generated instruction>" not in p
    b = prompts.backward_prompt("Some text.")
    assert b.startswith("[INST] Below is a candidate answer") and "\n\nSome text.\n\nAnswer in the style" in b
    with pytest.raises(ValueError):
        prompts.curation_prompt("a", "b", layout="nope")


def test_backward_message_is_the_inside_of_the_inst_turn():
    assert prompts.inst_prompt(prompts.backward_message("Some text.")) == prompts.backward_prompt("Some text.")


def test_chat_template_formatting():
    from humpback.models.templates import format_prompt
    from humpback.models.tokenizer import train_bpe_tokenizer

    tok = train_bpe_tokenizer(["hello there"] * 5, vocab_size=280)
    assert format_prompt("Hi?", "inst") == "[INST] Hi? [/INST]"
    with pytest.raises(ValueError, match="no chat template"):
        format_prompt("Hi?", "chat_template", tok)
    tok.chat_template = "{% for m in messages %}<|user|>{{ m['content'] }}{% endfor %}<|assistant|>"
    assert format_prompt("Hi?", "chat_template", tok) == "<|user|>Hi?<|assistant|>"
