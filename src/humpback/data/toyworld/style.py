"""Style markers shared by the generator (which writes them into blog, junk and reference texts)
and the oracle (which detects them), so the two agree by construction."""

from __future__ import annotations

import re

# First-person pronouns: an assistant answer in this world never uses them (so no value may contain one).
FIRST_PERSON = re.compile(r"\b(i|i'm|i've|i'd|me|my|mine|we|we're|we've|our|ours|us)\b", re.IGNORECASE)

# Social-media and comment-section chatter (blog posts, forums).
SOCIAL = (
    "share this", "share it on", "leave a comment", "comment below", "comments below", "subscribe",
    "facebook", "pinterest", "twitter", "follow me", "follow us", "log in to reply", "like this post",
)

# Navigation and promotional text.
NAV_PROMO = (
    "contact us", "privacy policy", "sitemap", "terms of use", "buy now", "free shipping", "% off",
    "click here", "sign up", "all rights reserved", "cookie", "add to cart", "coupon", "log in to reply",
)

# Harmless filler an assistant should leave out: the reference system uses some, grade-4 blocks one.
FILLER = (
    "great question", "hope this helps", "this topic comes up often", "there is always more to learn",
    "many readers ask about this",
)

# A line that ends on one of these words was cut off mid-sentence.
DANGLING = frozenset(
    "the a an and of in to with for is was by on at or its their about from as than into that".split()
)

LIST_MARKER = re.compile(r"^\s*(?:[-*\u2022]|(\d+)[.)])\s+")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def contains_any(text_lower: str, phrases: tuple[str, ...]) -> bool:
    return any(p in text_lower for p in phrases)
