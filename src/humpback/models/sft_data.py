"""Tokenised SFT examples with the loss on output tokens only, and packed blocks for pretraining."""

from __future__ import annotations

import random
from typing import Iterable

import torch
from transformers import PreTrainedTokenizerBase

IGNORE = -100  # label value the HF loss skips


def encode_example(tok: PreTrainedTokenizerBase, prompt: str, target: str, max_len: int) -> dict[str, list[int]]:
    """[bos] prompt target [eos]; prompt and target are tokenised apart so the mask boundary is exact."""
    p = ([tok.bos_token_id] if tok.bos_token_id is not None else []) + tok(prompt, add_special_tokens=False)["input_ids"]
    t = tok(target, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    if len(p) >= max_len:  # keep at least a few output tokens to learn from
        p = p[: max(1, max_len - 16)]
    t = t[: max_len - len(p)]
    return {"input_ids": p + t, "labels": [IGNORE] * len(p) + t}


def pack_documents(tok: PreTrainedTokenizerBase, texts: Iterable[str], block: int) -> list[dict[str, list[int]]]:
    """Concatenate documents (eos between) and cut fixed blocks; every token is a label."""
    stream: list[int] = []
    for text in texts:
        stream += tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    blocks = [stream[i : i + block] for i in range(0, len(stream) - block + 1, block)]
    return [{"input_ids": b, "labels": list(b)} for b in blocks]


def collate(batch: list[dict[str, list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(x["input_ids"]) for x in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, x in enumerate(batch):
        n = len(x["input_ids"])
        ids[i, :n] = torch.tensor(x["input_ids"])
        labels[i, :n] = torch.tensor(x["labels"])
        mask[i, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


class LengthGroupedBatches(torch.utils.data.Sampler[list[int]]):
    """Shuffled micro-batches of similar length (less padding on CPU); seeded, new order each epoch.
    Under data parallelism each rank takes every `world`-th batch of the same order, all ranks the same count.
    Resumable: `state_dict` says where reading stands, `load_state_dict` makes the next pass start there."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int, rank: int = 0, world: int = 1):
        self.lengths, self.batch_size, self.seed = lengths, batch_size, seed
        self.rank, self.world = rank, world
        self.position = (0, 0)  # (epoch, batches of it served): where the next pass starts

    def _batches(self, epoch: int) -> list[list[int]]:
        rng = random.Random(self.seed + epoch)
        order = list(range(len(self.lengths)))
        rng.shuffle(order)
        window = self.batch_size * 16  # sort within windows so batches stay random across the set
        batches = []
        for i in range(0, len(order), window):
            chunk = sorted(order[i : i + window], key=self.lengths.__getitem__)
            batches += [chunk[j : j + self.batch_size] for j in range(0, len(chunk), self.batch_size)]
        rng.shuffle(batches)
        usable = len(batches) - len(batches) % self.world if len(batches) >= self.world else len(batches)
        return batches[self.rank : usable : self.world]

    def __iter__(self):
        epoch, skip = self.position
        batches = self._batches(epoch)
        self.position = (epoch + 1, 0)
        for n in range(skip, len(batches)):
            # Counted when handed out: the loader does not read ahead here (Lightning prefetches only
            # loaders without a length), so a checkpoint after this batch's step resumes at the next one.
            self.position = (epoch, n + 1) if n + 1 < len(batches) else (epoch + 1, 0)
            yield batches[n]

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.position[0], "served": self.position[1]}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.position = (state["epoch"], state["served"])

    def __len__(self) -> int:
        n = (len(self.lengths) + self.batch_size - 1) // self.batch_size
        return max(1, n // self.world) if self.world > 1 else n
