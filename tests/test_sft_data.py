"""Loss masking: only output tokens (and the closing eos) carry labels."""

from humpback.models.sft_data import IGNORE, collate, encode_example, pack_documents
from humpback.models.tokenizer import train_bpe_tokenizer


def _tok():
    texts = ["[INST] What is the capital of Foo? [/INST] The capital of Foo is Bar."] * 20
    return train_bpe_tokenizer(texts, vocab_size=300)


def test_labels_mask_the_prompt():
    tok = _tok()
    prompt, target = "[INST] What is the capital of Foo? [/INST]", " The capital of Foo is Bar."
    ex = encode_example(tok, prompt, target, max_len=512)
    n_prompt = 1 + len(tok(prompt, add_special_tokens=False)["input_ids"])  # bos + prompt
    assert ex["labels"][:n_prompt] == [IGNORE] * n_prompt
    assert ex["labels"][n_prompt:] == ex["input_ids"][n_prompt:]
    assert ex["input_ids"][-1] == tok.eos_token_id
    assert tok.decode(ex["input_ids"][n_prompt:-1]) == target


def test_truncation_keeps_output_tokens():
    tok = _tok()
    ex = encode_example(tok, "[INST] " + "word " * 400 + "[/INST]", " answer", max_len=64)
    assert len(ex["input_ids"]) <= 64
    assert any(label != IGNORE for label in ex["labels"])


def test_collate_pads_with_ignored_labels():
    tok = _tok()
    a = encode_example(tok, "[INST] a [/INST]", " b", 64)
    b = encode_example(tok, "[INST] What is the capital of Foo? [/INST]", " Bar.", 64)
    batch = collate([a, b], tok.pad_token_id)
    short = len(a["input_ids"])
    assert batch["attention_mask"][0, short:].sum() == 0
    assert (batch["labels"][0, short:] == IGNORE).all()


def test_pack_documents_labels_every_token():
    tok = _tok()
    blocks = pack_documents(tok, ["The capital of Foo is Bar."] * 50, block=16)
    assert blocks and all(len(b["input_ids"]) == 16 and b["labels"] == b["input_ids"] for b in blocks)


def test_batch_and_steps_rules():
    from humpback.models.config import TrainConfig
    from humpback.models.train import batch_and_steps

    paper = TrainConfig(epochs=1.0)
    assert batch_and_steps(2999, paper) == (8, 375) and batch_and_steps(3000, paper) == (32, 94)
    table18 = TrainConfig(schedule={"100": [8, 30], "800": [8, 300], "3200": [32, 500], "51200": [32, 1600]})
    assert batch_and_steps(100, table18) == (8, 30)
    assert batch_and_steps(3200, table18) == (32, 500)
    assert batch_and_steps(3300, table18) == (32, 1600)  # next size up
    assert batch_and_steps(99999, table18) == (32, 1600)  # beyond the table: its last row
    assert batch_and_steps(50, TrainConfig(steps=7, schedule={"100": [8, 30]})) == (8, 7)


def test_a_word_is_one_spelling_wherever_it_stands():
    """A name opening a line must be the same tokens as mid-sentence (else a small model has to learn
    two spellings of every name to copy one), and decoding gives the text back."""
    tok = train_bpe_tokenizer(["Tenor Losa was born in Velven.\nTenor Losa was a weaver.\n\n- Tenor Losa"] * 40, vocab_size=300)
    line_start = tok("x\nTenor Losa", add_special_tokens=False)["input_ids"][-2:]
    mid = tok("x Tenor Losa", add_special_tokens=False)["input_ids"][-2:]
    assert line_start == mid and len(mid) == 2
    text = "Tenor Losa is a weaver.\n\n- Tenor Losa\n1. Velven"
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]).strip() == text
