"""The one HF runner: the template rule, the batch layout every engine shares, and logprob scoring
with the prompts' shared prefix cached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from humpback.inference import hf_runner
from humpback.inference.hf_runner import length_batches, template_for
from humpback.models.factory import MODEL_CARD

RUBRIC = "Below is an instruction from an user and a candidate answer. Rate it on a 5-point scale. " * 3


def test_the_card_then_the_config_then_the_tokenizer_decide_the_template(tmp_path: Path) -> None:
    class Tok:
        chat_template = "{{ messages }}"

    assert template_for(tmp_path, None, Tok()) == "chat_template"
    assert template_for(tmp_path, None, object()) == "inst"
    assert template_for(tmp_path, "inst", Tok()) == "inst"
    (tmp_path / MODEL_CARD).write_text(json.dumps({"prompt_template": "chat_template"}))
    assert template_for(tmp_path, "inst", object()) == "chat_template"  # the card says how the model was trained


def test_batches_follow_length_order_with_their_offsets() -> None:
    assert length_batches(["ccc", "a", "bb", "dddd", "e"], 2) == [(0, [1, 4]), (2, [2, 0]), (4, [3])]


@pytest.fixture(scope="module")
def random_runner(tmp_path_factory: pytest.TempPathFactory) -> hf_runner.HFRunner:
    """A randomly initialised tiny Llama: its next-token distribution depends on the whole prompt."""
    import torch

    from humpback.models import factory
    from humpback.models.config import ModelConfig, ScratchModelConfig
    from humpback.models.tokenizer import train_bpe_tokenizer

    torch.manual_seed(0)
    tok = train_bpe_tokenizer([RUBRIC, "Pair 1: xxxx yyy Score: 1 2 3 4 5 m M"] * 20, vocab_size=300)
    cfg = ModelConfig(scratch=ScratchModelConfig(hidden_size=32, intermediate_size=64, num_layers=2, num_heads=2, num_kv_heads=2))
    folder = tmp_path_factory.mktemp("random_llama")
    model = factory.scratch_model(cfg, tok)
    with torch.no_grad():  # initialisation-scale weights give near-uniform outputs: spread them
        for p in model.parameters():
            p.mul_(8.0)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return hf_runner.HFRunner(folder, device="cpu", batch_size=3)


def test_shared_prefix_scores_equal_whole_prompt_scores(random_runner, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = random_runner
    prompts = [f"{RUBRIC} Pair {i}: {'x' * i} Score:" for i in range(7)]  # one long common prefix, ragged ends
    candidates = ["1", "2", "3", "4", "5"]
    assert hf_runner._common_prefix(backend._prompt_ids(prompts, 1)) >= hf_runner.MIN_SHARED_PREFIX  # the cached path runs
    shared = backend.next_token_probs(prompts, candidates)
    monkeypatch.setattr(hf_runner, "MIN_SHARED_PREFIX", 1 << 30)
    whole = backend.next_token_probs(prompts, candidates)
    for a, b in zip(shared, whole):
        assert a == pytest.approx(b, abs=1e-4)
    assert len({round(p[0], 3) for p in whole}) > 3  # the scores do depend on each prompt's own end
    assert hf_runner._common_prefix([[1, 2, 3], [1, 2, 4], [1, 2]]) == 1  # each row keeps a token of its own


def test_a_turn_ends_at_the_templates_turn_marker_in_every_engine(random_runner, monkeypatch: pytest.MonkeyPatch) -> None:
    """The `[INST]` format has no end-of-turn token: generation is cut where the model starts another turn.
    A piece of what this random model writes stands in for the marker, so the cut is seen to happen."""
    from humpback.inference.config import DecodeConfig
    from humpback.inference.openai_engine import OpenAIEngine
    from humpback.models import templates
    from humpback.serve import HumpbackServer, serve_in_thread

    assert templates.turn_markers("inst") == ["[INST]", "[/INST]"] and templates.turn_markers("chat_template") == []
    greedy = DecodeConfig(temperature=0.0, max_new_tokens=24)
    asks = [random_runner.format(f"Pair {i}: xxxx yyy") for i in range(4)]
    whole = random_runner.generate(asks, greedy)
    marker = next(w[4:8] for w in whole if len(w) > 12)  # a piece that occurs inside an answer
    monkeypatch.setitem(templates.TURN_MARKERS, "inst", (marker,))
    cut = random_runner.generate(asks, greedy)
    assert cut == [w[: w.find(marker)].strip() if marker in w else w for w in whole] and cut != whole
    with serve_in_thread(HumpbackServer({"random": random_runner})) as server:
        assert OpenAIEngine(server.url, "random", batch_size=3, template="inst").generate(asks, greedy) == cut
