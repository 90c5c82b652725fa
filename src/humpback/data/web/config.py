"""Knobs of the segmentation stage (SPEC section 1 item 1). Paper values are the defaults; every knob
the paper leaves unreported says so and records the value we picked."""

from __future__ import annotations

from dataclasses import dataclass, field

# The four navigation headers the paper names, then a few more of the same kind (our additions;
# plain substrings, so words that also head real content, e.g. "cookie", are left out).
PAPER_NAVIGATION_HEADERS = ["advertisement", "forum", "quick link", "free newsletter"]
EXTRA_NAVIGATION_HEADERS = [
    "related post", "related article", "recent post", "popular post", "you may also like",
    "leave a reply", "leave a comment", "comments", "share this", "follow us", "subscribe",
    "sign up", "newsletter", "sponsored", "read more",
]

# Elements whose text is never content: code, embedded objects, and page chrome (menus, footers,
# sidebars, forms). A header inside them is not a segment header either.
DEFAULT_SKIP_TAGS = [
    "script", "style", "noscript", "template", "iframe", "svg", "canvas", "object", "embed",
    "nav", "footer", "aside", "form", "button", "select", "textarea",
]
# Same idea by attribute: hidden elements and ARIA landmarks for menus, footers and sidebars.
DEFAULT_SKIP_SELECTORS = [
    "[hidden]", "[aria-hidden=true]", "[role=navigation]", "[role=contentinfo]", "[role=complementary]",
]


@dataclass
class SegmentConfig:
    # --- segment window (paper: 600-3,000 characters of text under the header) ---
    min_chars: int = 600  # drop segments whose text is shorter (paper)
    max_chars: int = 3000  # drop segments whose text is longer (paper)
    include_subheaders: bool = True  # a header's text includes its sub-headers' sections (paper)

    # --- HTML extraction (unreported: our choice) ---
    # elements whose text (headers included) is ignored
    skip_tags: list[str] = field(default_factory=lambda: list(DEFAULT_SKIP_TAGS))
    # CSS selectors of subtrees ignored likewise
    skip_selectors: list[str] = field(default_factory=lambda: list(DEFAULT_SKIP_SELECTORS))

    # --- header rules (paper: drop empty, all-uppercase and navigation headers) ---
    # case-insensitive substrings; the paper names the first four and "..."; the rest are ours
    navigation_headers: list[str] = field(
        default_factory=lambda: PAPER_NAVIGATION_HEADERS + EXTRA_NAVIGATION_HEADERS
    )

    # --- repeated sentences (paper: n-gram Jaccard between sentence pairs; n and threshold unreported) ---
    repeat_ngram: int = 3  # word n-gram size (unreported; ours); shorter sentences are one n-gram
    repeat_jaccard: float = 0.8  # drop when any sentence pair has Jaccard >= this (unreported; ours)
    repeat_min_words: int = 2  # shorter sentences (one-word items, split-off initials) are not compared (ours)

    # --- capitalisation heuristic (unreported in the paper: our reading and value) ---
    capitalisation_min_ratio: float = 0.5  # drop when a smaller share of sentences starts uppercase

    # --- deduplication (paper: "deduplicate"; method and parameters unreported) ---
    dedup_exact: bool = True  # drop a text (lowercased, spaces collapsed) equal to a kept one
    dedup_near: bool = True  # drop a text whose MinHash Jaccard with a kept one >= minhash_threshold
    minhash_threshold: float = 0.8  # near-duplicate Jaccard over word shingles (unreported; ours)
    minhash_num_perm: int = 128  # MinHash permutations (unreported; ours)
    shingle: int = 5  # words per shingle for MinHash (unreported; ours)
    minhash_seed: int = 1  # MinHash permutation seed, fixed so runs are reproducible

    # --- plain-text fallback (corpora without HTML: not in the paper, all ours) ---
    # "blank_line": paragraphs split on blank lines; "line": one per line; "auto": blank_line if any
    plaintext_paragraphs: str = "auto"
    # "markdown": '#' lines are headers; "short_lines": also short title-like lines; "none"
    plaintext_headings: str = "markdown"
    plaintext_heading_max_chars: int = 80  # a "short_lines" heading is at most this long
    # text before any heading is a segment headed by the document title (or ""); with no title
    # the header rules skip it
    plaintext_keep_headerless: bool = True
    plaintext_pack_paragraphs: bool = True  # cut a section over max_chars into chunks of whole paragraphs
    plaintext_split_long_paragraphs: bool = True  # when packing, split a paragraph over max_chars at sentence ends

def validate_config(cfg: SegmentConfig) -> None:
    """Raise ValueError on out-of-range knobs (works on the dataclass or an OmegaConf DictConfig)."""
    if not 0 <= cfg.min_chars <= cfg.max_chars:
        raise ValueError(f"need 0 <= min_chars <= max_chars, got {cfg.min_chars}, {cfg.max_chars}")
    for name in ("repeat_jaccard", "minhash_threshold", "capitalisation_min_ratio"):
        value = getattr(cfg, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value}")
    for name in ("repeat_ngram", "shingle", "minhash_num_perm"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(cfg, name)}")
    if cfg.plaintext_paragraphs not in ("auto", "blank_line", "line"):
        raise ValueError(f"plaintext_paragraphs must be auto|blank_line|line, got {cfg.plaintext_paragraphs!r}")
    if cfg.plaintext_headings not in ("markdown", "short_lines", "none"):
        raise ValueError(f"plaintext_headings must be markdown|short_lines|none, got {cfg.plaintext_headings!r}")
