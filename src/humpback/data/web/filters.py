"""Per-segment quality rules (SPEC section 1 item 1), each a pure function of header and text.

`RULES` fixes the order in which rules are tried; a segment is counted under the first rule that
removes it. The duplicate rules come last and live in dedup.py (they need the corpus so far).
"""

from __future__ import annotations

import re
from typing import Optional

from .config import SegmentConfig

RULES = (
    "too_short",
    "too_long",
    "empty_header",
    "all_caps_header",
    "navigation_header",
    "repetitive",
    "capitalisation",
    "exact_duplicate",
    "near_duplicate",
)

# A sentence ends after . ! or ? and whitespace, but not after an initial ("Daniel S. Weld").
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\b[A-Z]\.)\s+")
_WORD = re.compile(r"\w+")
_LETTER = re.compile(r"[^\W\d_]")


def split_sentences(text: str) -> list[str]:
    """Lines, further split after . ! or ? followed by whitespace; empty pieces dropped."""
    return [s for line in text.split("\n") for s in _SENTENCE_END.split(line) if s.strip()]


def _ngrams(sentence: str, n: int) -> frozenset:
    words = _WORD.findall(sentence.lower())
    if len(words) <= n:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def has_repeated_sentences(text: str, n: int, threshold: float, min_words: int = 1) -> bool:
    """True when some pair of sentences (of at least min_words words) has word n-gram Jaccard
    >= threshold.

    Pairs whose size ratio already caps the Jaccard below the threshold are never compared, so
    the usual cost is far below all pairs; identical sentences are caught by a set first.
    """
    grams = [_ngrams(s, n) for s in split_sentences(text) if len(_WORD.findall(s)) >= max(min_words, 1)]
    if len(set(grams)) < len(grams):
        return True
    if threshold >= 1.0:
        return False
    grams.sort(key=len)
    for i, a in enumerate(grams):
        for b in grams[i + 1 :]:
            if len(a) < threshold * len(b):  # |a ∩ b| / |a ∪ b| <= |a| / |b|; b only grows
                break
            inter = len(a & b)
            if inter and inter / (len(a) + len(b) - inter) >= threshold:
                return True
    return False


def uppercase_start_ratio(text: str) -> Optional[float]:
    """Share of sentences whose first letter is uppercase; sentences without a cased letter are
    not counted; None when none is counted."""
    counted = upper = 0
    for sentence in split_sentences(text):
        match = _LETTER.search(sentence)
        if match is None:
            continue
        letter = match.group()
        if letter.isupper():
            counted += 1
            upper += 1
        elif letter.islower():
            counted += 1
    return upper / counted if counted else None


class SegmentFilter:
    """The content rules of RULES (all but the duplicate ones) under one config."""

    def __init__(self, cfg: SegmentConfig) -> None:
        self.cfg = cfg
        self.navigation = [h.lower() for h in cfg.navigation_headers if h]

    def first_failure(self, header: str, text: str, check_header: bool = True) -> Optional[str]:
        """Name of the first rule that removes this segment, or None. `check_header=False` skips
        the header rules (plain-text segments that have no header)."""
        cfg = self.cfg
        if len(text) < cfg.min_chars:
            return "too_short"
        if len(text) > cfg.max_chars:
            return "too_long"
        if check_header:
            if not _WORD.search(header):
                return "empty_header"
            if header.isupper():
                return "all_caps_header"
            lowered = header.lower()
            if any(h in lowered for h in self.navigation):
                return "navigation_header"
        if has_repeated_sentences(text, cfg.repeat_ngram, cfg.repeat_jaccard, cfg.repeat_min_words):
            return "repetitive"
        ratio = uppercase_start_ratio(text)
        if ratio is not None and ratio < cfg.capitalisation_min_ratio:
            return "capitalisation"
        return None
