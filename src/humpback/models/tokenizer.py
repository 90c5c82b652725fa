"""A byte-level BPE tokenizer learned locally with `tokenizers`, wrapped as a transformers tokenizer."""

from __future__ import annotations

from typing import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

SPECIAL = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token=SPECIAL["unk_token"]))
    # A word is the same token wherever it stands: line breaks are split off first and every piece gets
    # a leading space, so "Tenor" opening a line is "ĠTenor" as mid-sentence (plain byte-level BPE makes
    # it "T" "enor" there, and a small model must then learn two spellings of every name to copy one).
    # The decoder removes the spaces this adds around line breaks.
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(r"\n+"), behavior="isolated"),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=True)])
    tok.decoder = decoders.Sequence([decoders.ByteLevel(), decoders.Replace(" \n", "\n"), decoders.Replace("\n ", "\n")])
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodable: no unknown text
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, clean_up_tokenization_spaces=False, **SPECIAL)
