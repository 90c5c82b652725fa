"""The toy world: determinism, coverage, gold kept apart, the oracle's verdicts, and no eval leaks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from humpback.data.records import read_jsonl
from humpback.data.toyworld import OracleJudge, ToyWorldConfig, build_world
from humpback.data.toyworld.families import FAMILIES, make_check, tasks_for
from humpback.data.toyworld.requests import Request, RequestParser
from humpback import prompts
from humpback.prompts import curation_prompt
from tests.helpers import RATING_PROMPT_HEAD

FILES = ("seed.jsonl", "pages.jsonl", "corpus.jsonl", "eval.jsonl", "gold/segments.jsonl", "manifest.json")


@pytest.fixture(scope="module")
def world():
    return build_world(ToyWorldConfig())


@pytest.fixture(scope="module")
def written(world, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    world.write(out)
    return out


def _bytes(d: Path) -> dict[str, bytes]:
    return {name: (d / name).read_bytes() for name in FILES}


def test_same_config_writes_identical_bytes_and_another_seed_differs(written, tmp_path):
    build_world(ToyWorldConfig()).write(tmp_path / "again")
    assert _bytes(tmp_path / "again") == _bytes(written)
    build_world(ToyWorldConfig(seed=1)).write(tmp_path / "other")
    other = _bytes(tmp_path / "other")
    assert all(other[name] != data for name, data in _bytes(written).items() if name != "manifest.json")


def test_default_sizes_are_tiny(world):
    counts = world.manifest["counts"]
    assert counts["seed_pairs"] == 200 and counts["rating_examples"] == 40
    assert counts["pages"] == 64 and counts["eval"] == 40
    per_page = {}
    for row in world.gold_segments:
        if row["kind"] not in ("ad", "comments", "quick_links", "footer"):
            per_page[row["page_id"]] = per_page.get(row["page_id"], 0) + 1
    assert set(per_page.values()) <= {4, 5, 6}
    assert counts["graded_blocks_in_length_window"] == counts["graded_blocks"]  # 250..900 chars


def test_seed_has_five_families_and_covers_only_part_of_the_entities(world):
    pairs = [r for r in world.seed if r["family"] != "rating"]
    assert {r["family"] for r in pairs} == set(FAMILIES)
    assert all(set(r) == {"id", "instruction", "output", "family", "entity"} for r in pairs)
    seed_entities = {r["entity"] for r in pairs}
    assert seed_entities <= set(world.seed_entities)
    assert len(world.seed_entities) == len(world.kb.entities) // 2
    # no seed request is about a web-only entity (comparisons stay among seed entities); answers
    # may still name one in passing (a dish's town, a device's maker)
    web_only = set(world.kb.entities) - set(world.seed_entities)
    assert not any(name in r["instruction"] for r in pairs for name in web_only)


def test_eval_is_alpaca_eval_shaped_and_half_about_web_only_entities(world):
    assert len(world.eval) == 40
    for rec in world.eval:
        assert rec["generator"] == "toy_reference" and rec["dataset"] == "toyworld"
        assert rec["instruction"] and rec["output"] and rec["check"]["required"]
    web_only = [r for r in world.eval if not r["entity_in_seed"]]
    assert len(web_only) == 20
    assert all(r["entity"] not in world.seed_entities for r in web_only)
    good_on_web = {g["entity"] for g in world.gold_segments if g["grade"] >= 3}
    assert all(r["entity"] in good_on_web for r in web_only)
    assert {r["family"] for r in world.eval} == set(FAMILIES)
    seed_instructions = {r["instruction"] for r in world.seed}
    assert not any(r["instruction"] in seed_instructions for r in world.eval)


def test_pages_hold_every_graded_kind_with_unique_headers_and_page_chrome(world):
    grades = {g["grade"] for g in world.gold_segments}
    assert grades == {1, 2, 3, 4, 5}
    kinds = {g["kind"] for g in world.gold_segments}
    assert {"answer", "blog", "partial", "nav", "promo", "repetition", "offtopic", "chatter", "ad"} <= kinds
    by_page: dict[str, list[str]] = {}
    for g in world.gold_segments:
        by_page.setdefault(g["page_id"], []).append(g["header"])
    assert all(len(h) == len(set(h)) for h in by_page.values())
    junk = [g for g in world.gold_segments if g["kind"] in ("nav", "promo", "repetition", "offtopic", "chatter")]
    assert any(g["bait_header"] for g in junk) and any(not g["bait_header"] for g in junk)
    page = world.pages[0]
    for marker in ("<title>", "<nav>", "<h2>", "<footer>", "Advertisement" if "Advertisement" in page["html"] else "<h2>"):
        assert marker in page["html"]
    assert all("<nav>" in p["html"] and "<footer>" in p["html"] for p in world.pages)
    assert any('<div class="ad">' in p["html"] for p in world.pages)
    assert any('<section class="comments">' in p["html"] for p in world.pages)


def test_gold_grades_live_only_under_gold(written):
    for name in ("seed.jsonl", "pages.jsonl", "corpus.jsonl", "eval.jsonl"):
        rows = read_jsonl(written / name)
        assert not any("grade" in r for r in rows), name
    assert "Score:" not in (written / "pages.jsonl").read_text()
    gold = read_jsonl(written / "gold" / "segments.jsonl")
    page_ids = {r["id"] for r in read_jsonl(written / "pages.jsonl")}
    assert {g["page_id"] for g in gold} == page_ids
    html = {r["id"]: r["html"] for r in read_jsonl(written / "pages.jsonl")}
    assert all(f"<h2>{g['header']}</h2>" in html[g["page_id"]] for g in gold if "&" not in g["header"])
    manifest = json.loads((written / "manifest.json").read_text())
    assert manifest["config"]["seed"] == 0 and manifest["counts"]["sections"] == len(gold)


def test_gold_matches_what_the_project_segmenter_extracts(world):
    web = pytest.importorskip("humpback.data.web")
    from humpback.data.web.html_sections import html_to_blocks
    from humpback.data.web.sections import assemble_sections

    cfg = web.SegmentConfig(min_chars=200, max_chars=1500)
    for page in world.pages[:20]:
        got = [(s.header, s.text) for s in assemble_sections(html_to_blocks(page["html"], cfg.skip_tags, cfg.skip_selectors))]
        want = [(g["header"], g["text"]) for g in world.gold_segments if g["page_id"] == page["id"] and not g["chrome"]]
        assert got == want, page["id"]
    segments, report = web.segment_documents(world.pages, cfg)
    gold = {(g["page_id"], g["header"]): g for g in world.gold_segments}
    kept_grades = {gold[(s["doc_id"], s["header"])]["grade"] for s in segments}
    assert kept_grades == {1, 2, 3, 4, 5}  # some junk survives the filters, for curation to reject
    assert report["removed"]["navigation_header"] > 0 and report["removed"]["too_short"] > 0


def test_rating_examples_use_the_verbatim_prompt_and_end_with_a_score(world):
    rows = [r for r in world.seed if r["family"] == "rating"]
    assert len(rows) == 40
    head = RATING_PROMPT_HEAD
    page_blocks = {g["text"] for g in world.gold_segments}
    grades = []
    for r in rows:
        assert r["instruction"].startswith(head)
        x, y = r["instruction"][len(head):].split("\n\n", 1)
        assert r["instruction"] == curation_prompt(x, y)
        assert y not in page_blocks  # fresh pairs, not the ones on the pages
        *reason, last = r["output"].split("\n")
        assert len(reason) == 1 and reason[0].strip() and last == f"Score: {last[-1]}"
        grades.append(int(last[-1]))
        assert len(r["instruction"]) + len(r["output"]) < 3200
    assert sorted(set(grades)) == [1, 2, 3, 4, 5]


def test_mismatched_rating_examples_pair_a_good_answer_with_another_request_rated_1(world, judge):
    """The rubric's "not exactly what the user asked for": a grade-5 block under a request it does not answer."""
    from humpback.data.toyworld.seedset import REASONS

    mixed = build_world(ToyWorldConfig(rating_mismatch_share=0.5))
    head = RATING_PROMPT_HEAD
    rows = [r for r in mixed.seed if r["family"] == "rating" and r["output"].split("\n")[0] in REASONS["mismatch"]]
    assert 10 <= len(rows) <= 30  # about half of 40
    parser = RequestParser(list(mixed.kb.entities))
    for r in rows:
        x, y = r["instruction"][len(head):].split("\n\n", 1)
        assert r["output"].endswith("Score: 1")
        kb, requested = mixed.kb, parser.parse(x)
        tasks = tasks_for(kb, r["entity"], list(kb.kinds[kb[r["entity"]].kind]))
        asked = [t for t in tasks if Request(t.family, frozenset({t.entity, t.other} - {None}), t.attr) == requested]
        assert asked and all(judge.grade(make_check(kb, t), y) == 1 for t in asked)
        assert any(judge.grade(make_check(kb, t), y) == 5 for t in tasks)  # a perfect answer, to another request
    background = [d for d in mixed.corpus if d["id"].startswith("toy-bg-rating-") and any(m in d["text"] for m in REASONS["mismatch"])]
    assert background  # the base model's zero-shot rating skill includes the check too
    assert not any(m in d["text"] for d in world.corpus for m in REASONS["mismatch"])  # off by default


def test_rating_examples_can_be_disabled():
    w = build_world(ToyWorldConfig(n_rating_examples=0, n_pages=8, n_seed=20, n_eval=10))
    assert not any(r["family"] == "rating" for r in w.seed)


def test_corpus_excludes_eval_references_and_instructions(world):
    blob = "\n".join(d["text"] for d in world.corpus)
    assert any(d["id"].startswith("toy-kb-") for d in world.corpus)
    assert any(d["id"].startswith("toy-web-") for d in world.corpus)
    for rec in world.eval:
        assert rec["output"] not in blob
        assert rec["instruction"] not in blob
    # the knowledge itself is there: every entity has an encyclopedia article
    assert all(name in blob for name in world.kb.entities)


# ---------------------------------------------------------------- oracle

@pytest.fixture(scope="module")
def judge():
    return OracleJudge()


def _first(world, family):
    return next(r for r in world.eval if r["family"] == family)


@pytest.mark.parametrize("family", FAMILIES)
def test_perfect_answer_is_fully_correct_and_beats_the_reference(world, judge, family):
    rec = _first(world, family)
    perfect = world.perfect_output(rec)
    s = judge.score(rec, perfect)
    assert s == {"correctness": 1.0, "completeness": 1.0, "style": 1.0, "total": 1.0}
    ref = judge.score(rec, rec["output"])
    assert ref["correctness"] == 1.0 and 0.5 <= ref["total"] < 0.95  # middling: correct, incomplete
    assert judge.preference(rec, rec["output"], perfect) == 2.0
    assert judge.preference(rec, perfect, rec["output"]) == 1.0
    assert judge.preference(rec, perfect, perfect) == 1.5
    assert judge.preference(rec, rec["output"], rec["output"]) == 1.5


def test_wrong_fact_and_junk_lose(world, judge):
    rec = _first(world, "fact")
    perfect = world.perfect_output(rec)
    wrong_value = rec["check"]["forbidden"][0]
    wrong = perfect + f" Some say it is {wrong_value}."
    assert judge.score(rec, wrong)["correctness"] == pytest.approx(2 / 3)  # value + subject right, one wrong
    assert judge.preference(rec, perfect, wrong) == 1.0
    junk = "Home\nContact Us\nPrivacy Policy\nSitemap\nBuy now and save 20% off all maps!"
    s = judge.score(rec, junk)
    assert s["correctness"] == 0.0 and s["completeness"] == 0.0 and s["style"] < 1.0
    assert judge.preference(rec, rec["output"], junk) == 1.0
    assert judge.preference(rec, junk, rec["output"]) == 2.0
    assert judge.score(rec, "")["total"] == 0.0


def test_style_penalties(world, judge):
    rec = _first(world, "describe")
    perfect = world.perfect_output(rec)
    blog = "I visited last spring and loved it. " + perfect + "\n\nLeave a comment below and share this on Facebook!"
    s = judge.score(rec, blog)
    assert s["correctness"] == 1.0 and s["completeness"] == 1.0 and s["style"] == pytest.approx(0.3)
    assert judge.preference(rec, rec["output"], blog) == 1.0  # a complete blog post still loses to the reference
    assert judge.grade(rec, blog) == 3
    steps = _first(world, "howto")
    numbered = world.perfect_output(steps)
    prose = " ".join(line.split(". ", 1)[1] for line in numbered.splitlines() if line[:1].isdigit())
    assert judge.score(steps, prose)["style"] == pytest.approx(0.8)  # steps without a numbered list
    reordered = "\n".join(reversed([ln for ln in numbered.splitlines() if ln[:1].isdigit()]))
    assert judge.score(steps, reordered)["completeness"] < 1.0


def test_oracle_grade_agrees_with_gold_on_every_block(world, judge):
    graded = [g for g in world.gold_segments if g["family"]]
    assert len(graded) > 150
    assert all(judge.grade(world.check_for(g), g["text"]) == g["grade"] for g in graded)
    for g in world.gold_segments:  # junk under any request about the page's entity grades 1
        if g["kind"] in ("nav", "promo", "repetition", "offtopic", "chatter"):
            topic = world.kb.entities[next(p for p in world.gold_segments if p["page_id"] == g["page_id"] and p["entity"])["entity"]]
            assert judge.grade(world.check_for({"family": "describe", "entity": topic.name}), g["text"]) == 1


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="seed_fraction"):
        build_world(ToyWorldConfig(seed_fraction=1.5))
    with pytest.raises(ValueError, match="grade_mix"):
        build_world(ToyWorldConfig(grade_mix={"6": 1.0}))
    with pytest.raises(ValueError, match="unknown config key"):
        build_world({"n_pagez": 3})


def test_config_is_omegaconf_structured():
    from omegaconf import OmegaConf

    cfg = OmegaConf.structured(ToyWorldConfig)
    cfg.n_pages = 5
    world = build_world(cfg)
    assert world.manifest["counts"]["pages"] == 5


def test_no_knowledge_base_value_reads_as_first_person():
    """The oracle flags first-person words as blog style; a value holding one ("lighting mine tunnels")
    would make every correct answer about it look like a blog post."""
    from humpback.data.toyworld import kb
    from humpback.data.toyworld.style import FIRST_PERSON

    pools = [kb.REGIONS, kb.PRODUCTS, kb.LANDMARKS, kb.HABITATS, kb.DIETS, kb.COLORS, kb.FEATURES, kb.INGREDIENTS,
             kb.TASTES, kb.OCCASIONS, kb.PURPOSES, kb.POWERS, kb.PARTS, kb.PROFESSIONS, kb.HOBBIES,
             list(kb.POWER_STEPS.values()), kb.COOK_STEPS, kb.SERVE_STEPS, kb.SYLLABLES]
    assert [v for pool in pools for v in pool if FIRST_PERSON.search(v)] == []


def test_restated_fact_answers_say_what_they_answer_and_keep_their_grades(judge):
    """fact_answers_restate: a fact block and a seed fact answer state the asked fact in both wordings
    (so it no longer reads like a description); the oracle still grades every block as the gold does."""
    from humpback.data.toyworld.families import SPECS

    w = build_world(ToyWorldConfig(fact_answers_restate=True))
    facts = [g for g in w.gold_segments if g["family"] == "fact" and g["grade"] == 5]
    assert facts
    for g in facts:
        ent = w.kb.entities[g["entity"]]
        value = str(ent.facts[g["attribute"]])
        assert g["text"].count(value) >= 2, g["text"]
        assert len(SPECS[ent.kind].facts[g["attribute"]].statements) >= 2
    seed_facts = [r for r in w.seed if r.get("family") == "fact"]
    assert seed_facts and all(r["output"].count(".") >= 4 for r in seed_facts)  # asked twice + 2 side facts
    assert all(judge.grade(w.check_for(g), g["text"]) == g["grade"] for g in w.gold_segments if g["family"])


def test_reading_exercises_can_leave_out_the_closing_sentence_that_is_the_s_a_tag(world):
    """The backward prompt ends with the S_a sentence; without it in the background passages, the base never
    sees S_a right before a question it should write. Nothing else in the world changes."""
    closing = f"{prompts.TAG_SEED} [/INST]"
    untagged = build_world(ToyWorldConfig(background_passage_tag=False))
    assert sum(closing in d["text"] for d in world.corpus) > 0
    assert not any(closing in d["text"] for d in untagged.corpus)
    assert sum(prompts.BACKWARD_PROMPT.split("\n")[0] in d["text"] for d in untagged.corpus) == \
        sum(prompts.BACKWARD_PROMPT.split("\n")[0] in d["text"] for d in world.corpus)
    assert (untagged.seed, untagged.eval, untagged.pages) == (world.seed, world.eval, world.pages)
    changed = [a["id"] for a, b in zip(world.corpus, untagged.corpus) if a != b]
    assert changed and all(i.startswith("toy-bg-") for i in changed)
