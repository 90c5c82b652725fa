"""build_world(cfg) -> World: the whole toy world as plain rows; World.write(dir) saves the files.

Every random choice comes from a stream seeded by (cfg.seed, stream name), so a world is a pure
function of its config and the files are byte-identical for the same config.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Union

from humpback.data.records import write_json, write_jsonl

from .config import ToyWorldConfig, validate
from .corpus import QA_LAYOUTS, article, background_page
from .evalset import eval_records
from .families import Task, assistant_parts, make_check
from .kb import KIND_ORDER, KnowledgeBase, build_kb
from .pages import build_pages, gold_rows, page_html, page_text
from .render import chat_text
from .seedset import rating_examples, seed_pairs, task_key

TOYWORLD_VERSION = 3  # bump when the generator's output changes for the same config
# The world's files, relative to the folder it is written to: what the world stage's readers open.
FILES = {"seed": "seed.jsonl", "pages": "pages.jsonl", "corpus": "corpus.jsonl", "eval": "eval.jsonl",
         "gold_segments": "gold/segments.jsonl", "gold_entities": "gold/entities.jsonl", "manifest": "manifest.json"}


@dataclass
class World:
    config: ToyWorldConfig
    kb: KnowledgeBase
    seed_entities: list[str]
    seed: list[dict[str, Any]]  # seed pairs, then rating examples (family "rating")
    pages: list[dict[str, Any]]  # {id, url, html}
    corpus: list[dict[str, Any]]  # {id, text}
    eval: list[dict[str, Any]]  # AlpacaEval-shaped, with `check`
    gold_segments: list[dict[str, Any]]  # one row per header section of every page
    eval_tasks: dict[str, Task]  # eval id -> the request behind it
    manifest: dict[str, Any]

    def write(self, out_dir: Union[str, Path]) -> dict[str, Path]:
        """Write seed/pages/corpus/eval JSONL, gold/segments.jsonl, gold/entities.jsonl and manifest.json; returns the paths."""
        out = Path(out_dir)
        paths = {name: out / rel for name, rel in FILES.items()}
        write_jsonl(paths["seed"], self.seed)
        write_jsonl(paths["pages"], self.pages)
        write_jsonl(paths["corpus"], self.corpus)
        write_jsonl(paths["eval"], self.eval)
        write_jsonl(paths["gold_segments"], self.gold_segments)
        write_jsonl(paths["gold_entities"], [{"name": e.name, "kind": e.kind, "in_seed": e.name in self.seed_entities}
                                             for e in self.kb.entities.values()])
        write_json(paths["manifest"], self.manifest)
        return paths

    def check_for(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The oracle's check for a gold segment row (or any dict with family, entity, attribute,
        other_entity), e.g. to grade (instruction, segment) pairs with OracleJudge.grade."""
        if not row.get("family"):
            raise ValueError("toy world: a junk segment has no request to check against")
        task = Task(row["family"], row["entity"], attr=row.get("attribute"), other=row.get("other_entity"))
        return make_check(self.kb, task)

    def perfect_output(self, eval_record: Union[str, Mapping[str, Any]]) -> str:
        """A complete, correct, assistant-style answer to an eval prompt (what beats the reference)."""
        eid = eval_record if isinstance(eval_record, str) else eval_record["id"]
        rng = random.Random(f"toyworld:{self.config.seed}:perfect:{eid}")
        return chat_text(assistant_parts(self.kb, self.eval_tasks[eid], rng))


def _coerce(cfg: Any) -> ToyWorldConfig:
    if isinstance(cfg, ToyWorldConfig):
        return cfg
    if not isinstance(cfg, Mapping):
        from omegaconf import OmegaConf

        cfg = OmegaConf.to_object(cfg)
        if isinstance(cfg, ToyWorldConfig):
            return cfg
    fields = {f.name for f in dataclasses.fields(ToyWorldConfig)}
    unknown = sorted(set(cfg) - fields)
    if unknown:
        raise ValueError(f"toy world: unknown config key(s) {unknown}")
    return ToyWorldConfig(**{k: (dict(v) if isinstance(v, Mapping) else list(v) if isinstance(v, (list, tuple)) else v)
                             for k, v in cfg.items()})


def build_world(cfg: Union[ToyWorldConfig, Mapping[str, Any], None] = None) -> World:
    cfg = _coerce(cfg if cfg is not None else ToyWorldConfig())
    validate(cfg)

    def stream(name: str) -> random.Random:
        return random.Random(f"toyworld:{cfg.seed}:{name}")

    kb = build_kb(cfg.n_entities_per_kind, stream("kb"))
    split = stream("split")
    seed_entities: list[str] = []
    for kind in KIND_ORDER:
        names = list(kb.kinds[kind])
        split.shuffle(names)
        chosen = set(names[: int(cfg.seed_fraction * len(names))])
        seed_entities += [n for n in kb.kinds[kind] if n in chosen]
    seed_set = set(seed_entities)

    topics = list(kb.entities)
    stream("topics").shuffle(topics)
    pages = build_pages(kb, cfg, stream("pages"), topics)
    gold_rng = stream("gold")
    gold = [row for p in pages for row in gold_rows(p, kb, gold_rng)]

    covered = {r["entity"] for r in gold if r["grade"] >= 3 and r["entity"]}
    web_only = [n for n in kb.entities if n not in seed_set and n in covered]
    evals = eval_records(kb, cfg, stream("eval"), seed_entities, web_only)
    pairs = seed_pairs(kb, seed_entities, cfg.n_seed, stream("seed"), {task_key(t) for t, _ in evals}, cfg.seed_fact_side_facts,
                       cfg.fact_answers_restate)

    grades = [int(g) for g in sorted(cfg.grade_mix, reverse=True) if cfg.grade_mix[g] > 0]
    ratings = _ratings(cfg, kb, seed_entities, cfg.n_rating_examples, grades, stream("rating"), {r["text"] for r in gold})

    seed_rows = [{"id": f"toy-seed-{i:04d}", "instruction": x, "output": y, "family": t.family, "entity": t.entity}
                 for i, (t, x, y) in enumerate(pairs)]
    seed_rows += [{"id": f"toy-rate-{i:04d}", **r} for i, r in enumerate(ratings)]

    art_rng = stream("corpus")
    corpus = [{"id": f"toy-kb-{i:04d}" + (f"-{k}" if k else ""), "text": article(kb, e, art_rng)}
              for k in range(cfg.articles_per_entity) for i, e in enumerate(kb.entities.values())]
    corpus += [{"id": f"toy-web-{i:04d}", "text": page_text(p)} for i, p in enumerate(pages)]
    if cfg.n_background_per_kind:  # entities only pretraining knows, one page each
        taken = set(kb.entities) | {e.facts["river"] for e in kb.of_kind("town")}
        background = build_kb(cfg.n_background_per_kind, stream("background"), taken)
        bg_rng = stream("background_corpus")
        corpus += [{"id": f"toy-bg-{i:05d}", "text": background_page(background, e, bg_rng, cfg.background_layout,
                                                                         passage_tag=cfg.background_passage_tag)}
                   for i, e in enumerate(background.entities.values())]
        # the curation prompt answered with a reason and "Score: k" for background pairs of known grade
        rated = _ratings(cfg, background, list(background.entities), cfg.n_background_rating_examples, grades,
                         stream("background_rating"), set())
        corpus += [{"id": f"toy-bg-rating-{i:04d}", "text": QA_LAYOUTS[cfg.background_layout](r["instruction"], r["output"])}
                   for i, r in enumerate(rated)]
    _assert_no_leak(corpus, [rec for _, rec in evals])

    page_rows = [{"id": p.id, "url": p.url, "html": page_html(p)} for p in pages]
    eval_rows = [rec for _, rec in evals]
    manifest = _manifest(cfg, kb, seed_entities, web_only, seed_rows, page_rows, gold, eval_rows, corpus)
    return World(cfg, kb, seed_entities, seed_rows, page_rows, corpus, eval_rows, gold,
                 {rec["id"]: t for t, rec in evals}, manifest)


def _ratings(cfg: ToyWorldConfig, kb: KnowledgeBase, names: list[str], n: int, grades: list[int], rng: random.Random,
             avoid: set[str]) -> list[dict[str, Any]]:
    """n rating examples about `names` with the world's length and slot-layout settings."""
    return rating_examples(kb, names, n, grades, rng, min(cfg.min_block_chars, cfg.rating_max_output_chars // 2),
                           cfg.rating_max_output_chars, cfg.rating_slot_layout, avoid, cfg.rating_mismatch_share)


def _assert_no_leak(corpus: list[dict[str, Any]], evals: list[dict[str, Any]]) -> None:
    """The pretraining corpus must not hold an eval prompt or reference verbatim (a generator bug if so)."""
    blob = "\x00".join(d["text"] for d in corpus)
    for rec in evals:
        for field in ("instruction", "output"):
            if rec[field] in blob:
                raise RuntimeError(f"toy world: eval {rec['id']} {field} occurs verbatim in the corpus: {rec[field]!r}")


def _manifest(cfg, kb, seed_entities, web_only, seed_rows, page_rows, gold, eval_rows, corpus) -> dict[str, Any]:
    graded = [r for r in gold if r["kind"] not in ("ad", "comments", "quick_links", "footer")]
    in_window = sum(cfg.min_block_chars <= len(r["text"]) <= cfg.max_block_chars for r in graded)
    return {
        "version": TOYWORLD_VERSION,
        "config": dataclasses.asdict(cfg),
        "counts": {
            "entities": len(kb.entities),
            "seed_entities": len(seed_entities),
            "web_only_entities_with_good_blocks": len(web_only),
            "seed_pairs": sum(r["family"] != "rating" for r in seed_rows),
            "rating_examples": sum(r["family"] == "rating" for r in seed_rows),
            "seed_families": dict(sorted(Counter(r["family"] for r in seed_rows).items())),
            "pages": len(page_rows),
            "sections": len(gold),
            "graded_blocks": len(graded),
            "graded_blocks_in_length_window": in_window,
            "sections_by_grade": {str(g): n for g, n in sorted(Counter(r["grade"] for r in gold).items())},
            "sections_by_kind": dict(sorted(Counter(r["kind"] for r in gold).items())),
            "chrome_sections": sum(r["chrome"] for r in gold),
            "bait_headers": sum(r["bait_header"] for r in gold),
            "eval": len(eval_rows),
            "eval_web_only": sum(not r["entity_in_seed"] for r in eval_rows),
            "eval_families": dict(sorted(Counter(r["family"] for r in eval_rows).items())),
            "corpus_documents": len(corpus),
            "corpus_chars": sum(len(d["text"]) for d in corpus),
        },
    }
