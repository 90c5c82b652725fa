"""Streaming deduplication: first occurrence wins. Exact: hash of the normalised text. Near:
MinHash over word shingles with an LSH index (datasketch), candidates confirmed by the estimated
Jaccard, so memory and time grow linearly with the kept segments."""

from __future__ import annotations

import hashlib
import re
from typing import Optional

import numpy as np
from datasketch import MinHash, MinHashLSH

from .config import SegmentConfig

_WORD = re.compile(r"\w+")
_SPACES = re.compile(r"\s+")


def exact_key(text: str) -> bytes:
    return hashlib.blake2b(_SPACES.sub(" ", text.lower()).strip().encode("utf-8"), digest_size=16).digest()


def shingles(text: str, k: int) -> list[bytes]:
    words = _WORD.findall(text.lower())
    if len(words) <= k:
        return [" ".join(words).encode("utf-8")] if words else []
    return [" ".join(words[i : i + k]).encode("utf-8") for i in range(len(words) - k + 1)]


class Deduplicator:
    """`check(text)` returns "exact_duplicate", "near_duplicate" or None (and then remembers text)."""

    def __init__(self, cfg: SegmentConfig) -> None:
        self.exact = cfg.dedup_exact
        self.near = cfg.dedup_near
        self.threshold = cfg.minhash_threshold
        self.num_perm = cfg.minhash_num_perm
        self.k = cfg.shingle
        self._seen: set[bytes] = set()
        if self.near:
            # Permutations are drawn once and shared: drawing them per MinHash dominates the cost.
            template = MinHash(num_perm=self.num_perm, seed=cfg.minhash_seed)
            self._permutations, self._scheme = template.permutations, template.scheme
            self._seed = cfg.minhash_seed
            self._lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
            self._signatures: list[np.ndarray] = []  # uint32 signatures of kept segments, by LSH key

    def _minhash(self, text: str) -> MinHash:
        mh = MinHash(num_perm=self.num_perm, seed=self._seed, permutations=self._permutations,
                     scheme=self._scheme)
        mh.update_batch(shingles(text, self.k))
        return mh

    def check(self, text: str) -> Optional[str]:
        key = exact_key(text) if self.exact else None
        if key is not None and key in self._seen:
            return "exact_duplicate"
        if self.near:
            mh = self._minhash(text)
            for other in self._lsh.query(mh):
                if np.mean(self._signatures[other] == mh.hashvalues) >= self.threshold:
                    return "near_duplicate"
            self._lsh.insert(len(self._signatures), mh, check_duplication=False)
            self._signatures.append(mh.hashvalues.astype(np.uint32, copy=True))
        if key is not None:
            self._seen.add(key)
        return None
