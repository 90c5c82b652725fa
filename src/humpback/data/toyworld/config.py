"""Knobs of the toy world. Defaults are the tiny CPU world (minutes end to end).

A one-GPU preset, where the paper's effects (curation beats no curation, seed + curated beats
either alone, tags help) have enough data to show, is `GPU_PRESET` below, e.g.
`ToyWorldConfig(**GPU_PRESET)` or the Hydra overrides
`data.world.n_entities_per_kind=300 data.world.n_seed=3200 data.world.n_pages=12000
data.world.n_rating_examples=400 data.world.n_eval=250`: 1,500 entities, 3,200 seed pairs (the
paper's seed size), 400 rating examples, 12,000 pages (~60k graded blocks, ~50k segments after the
toy segment filters, ~27M corpus characters) and 250 eval prompts (the paper's dev-set size).
It builds in about 30 s on one CPU core. For the data-scaling sweeps (augmented N up to 25,600 at
k = 5) raise n_pages (and grade_mix["5"]) until enough grade-5 segments exist.

Hydra merges dicts: overriding grade_mix keeps the keys you leave out, so set a kind you do not
want to 0 (e.g. `data.world.grade_mix.4=0`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GRADES = ("1", "2", "3", "4", "5")


@dataclass
class ToyWorldConfig:
    seed: int = 0  # every random choice of the world derives from this
    n_entities_per_kind: int = 10  # made-up entities per kind (town, animal, dish, device, person)
    seed_fraction: float = 0.5  # share of each kind's entities the seed set covers; the rest are web-only
    # Entities only the pretraining corpus knows, one page each (an article, questions with answers, a
    # reading exercise; in no seed pair, web page or eval prompt): so many that a small LM learns the
    # skills a pretrained LLM brings (answer what is asked, read a passage) instead of memorising them.
    n_background_per_kind: int = 150
    # How those pages write a question and its answer, and a passage and its question: "faq" (Question: /
    # Answer:, a reading worksheet) or "inst" (the [INST] template and the backward prompt, i.e. a base
    # model that already follows the harness's own prompts, as an instruction-tuned LLM would).
    background_layout: str = "inst"
    # The backward prompt closes with "Answer in the style of an AI Assistant.", the very sentence of the paper's
    # S_a tag. In the inst layout's reading exercises that closing taught the base model that the sentence comes
    # before a question to write, so an S_a-tagged request read as a request for a question (docs/results_cpu.md).
    # False: those pages leave the sentence out (M_yx is still fine-tuned on the verbatim prompt).
    background_passage_tag: bool = True
    # Pretraining pages rating a background pair with the curation prompt (a reason, then "Score: k"):
    # a pretrained LLM's zero-shot rating. Without them M_0 failed to write "Score: k" for 66% of pairs.
    n_background_rating_examples: int = 200
    # Encyclopedia articles per entity, each a fresh wording and fact order: a fact seen in several forms
    # is one a small LM can recall when asked, not only continue verbatim.
    articles_per_entity: int = 3
    n_seed: int = 200  # assistant-style seed pairs (instruction, reference answer)
    # True side facts after the asked one in seed fact answers. The web's answer blocks carry two or
    # more, so seed outputs of the same length keep M_yx from telling a fact block by its length alone.
    seed_fact_side_facts: int = 2
    # Fact answers (web blocks and seed) state the asked fact in both its wordings before any side fact.
    # Off: a web fact block padded to min_block_chars with other facts reads like a description (5.6
    # vs 5.8 sentences), so no reader can tell which fact it answers (docs/results_cpu.md).
    fact_answers_restate: bool = False
    n_rating_examples: int = 40  # extra seed rows teaching the curation prompt's format ("Score: k"); 0 disables
    rating_max_output_chars: int = 480  # rated answers in those rows are at most this long (the prompt is ~2,200 chars)
    # Share of the rating examples (seed and background) that pair a good answer with a request it does not
    # answer, rated 1 (the rubric's "not exactly what the user asked for"). Without them no curator learns to
    # check M_yx's instruction against its segment, only the segment itself (docs/results_cpu.md).
    rating_mismatch_share: float = 0.0
    rating_slot_layout: str = "newline"  # humpback.prompts.CURATION_SLOT_LAYOUTS key used to fill the rating prompt
    n_pages: int = 64  # HTML pages of the synthetic web
    sections_per_page: list[int] = field(default_factory=lambda: [4, 6])  # graded header sections per page: [min, max]
    grade_mix: dict[str, float] = field(
        default_factory=lambda: {"5": 0.3, "4": 0.1, "3": 0.2, "2": 0.15, "1": 0.25}
    )  # share of graded block kinds: 5 answer, 4 answer plus filler, 3 blog, 2 partial, 1 junk ("4" is optional)
    junk_bait_header_share: float = 0.5  # share of grade-1 blocks under headers the segment filters catch
    related_entity_share: float = 0.25  # share of a page's blocks about a linked entity instead of the page topic
    chrome_ad_share: float = 0.6  # pages with an in-article "Advertisement" block
    chrome_comments_share: float = 0.6  # pages with a comment section
    chrome_quick_links_share: float = 0.5  # pages with a "Quick Links" sidebar
    n_eval: int = 40  # eval prompts
    eval_web_only_share: float = 0.5  # share of eval prompts about entities the seed never covers (seen on the web)
    reference_coverage: float = 0.6  # share of required facts the reference system includes (middling quality)
    reference_filler_share: float = 0.5  # share of reference answers with a filler phrase ("Hope this helps!")
    min_block_chars: int = 250  # target length of graded blocks (the toy segmenter keeps 200-1,500 chars)
    max_block_chars: int = 900  # upper target length of graded blocks


GPU_PRESET: dict[str, Any] = {
    "n_entities_per_kind": 300,
    "n_seed": 3200,
    "n_rating_examples": 400,
    "n_pages": 12000,
    "n_eval": 250,
}


def validate(cfg: ToyWorldConfig) -> None:
    """Raise ValueError naming the first knob out of range."""
    for name in ("seed_fraction", "junk_bait_header_share", "related_entity_share", "chrome_ad_share",
                 "chrome_comments_share", "chrome_quick_links_share", "eval_web_only_share",
                 "reference_coverage", "reference_filler_share", "rating_mismatch_share"):
        value = getattr(cfg, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"toy world: {name} must be in [0, 1], got {value}")
    if cfg.n_entities_per_kind < 4:
        raise ValueError(f"toy world: n_entities_per_kind must be >= 4, got {cfg.n_entities_per_kind}")
    n_seed_entities = int(cfg.seed_fraction * cfg.n_entities_per_kind)
    if not 2 <= n_seed_entities <= cfg.n_entities_per_kind - 2:
        raise ValueError(f"toy world: seed_fraction={cfg.seed_fraction} leaves {n_seed_entities} seed entities "
                         f"per kind; need at least 2 seed and 2 web-only ones")
    if cfg.articles_per_entity < 1:
        raise ValueError(f"toy world: articles_per_entity must be >= 1, got {cfg.articles_per_entity}")
    for name in ("n_background_rating_examples", "seed_fact_side_facts", "n_background_per_kind", "n_seed", "n_rating_examples", "n_pages", "n_eval"):
        if getattr(cfg, name) < 0:
            raise ValueError(f"toy world: {name} must be >= 0, got {getattr(cfg, name)}")
    if len(cfg.sections_per_page) != 2 or not 1 <= cfg.sections_per_page[0] <= cfg.sections_per_page[1]:
        raise ValueError(f"toy world: sections_per_page must be [min, max] with 1 <= min <= max, got {cfg.sections_per_page}")
    bad = sorted(set(map(str, cfg.grade_mix)) - set(GRADES))
    if bad:
        raise ValueError(f"toy world: grade_mix keys must be among {GRADES}, got {bad}")
    if any(v < 0 for v in cfg.grade_mix.values()) or sum(cfg.grade_mix.values()) <= 0:
        raise ValueError(f"toy world: grade_mix needs non-negative shares with a positive sum, got {dict(cfg.grade_mix)}")
    if not 0 < cfg.min_block_chars <= cfg.max_block_chars:
        raise ValueError(f"toy world: need 0 < min_block_chars <= max_block_chars, got {cfg.min_block_chars}, {cfg.max_block_chars}")
    from humpback.prompts import CURATION_SLOT_LAYOUTS

    if cfg.background_layout not in ("faq", "inst"):
        raise ValueError(f"toy world: background_layout must be faq or inst, got {cfg.background_layout!r}")

    if cfg.rating_slot_layout not in CURATION_SLOT_LAYOUTS:
        raise ValueError(f"toy world: rating_slot_layout must be one of {sorted(CURATION_SLOT_LAYOUTS)}, got {cfg.rating_slot_layout!r}")
    if cfg.rating_max_output_chars < 150:
        raise ValueError(f"toy world: rating_max_output_chars must be >= 150, got {cfg.rating_max_output_chars}")
