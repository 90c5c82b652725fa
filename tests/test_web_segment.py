"""Web corpus -> segments: header sections, each filter rule, dedup, WARC / HTML / JSONL readers."""

from __future__ import annotations

import gzip
import json
import logging
import random
import re

import pytest
from omegaconf import OmegaConf
from selectolax.lexbor import LexborHTMLParser

from humpback.data.records import DataError
from humpback.data.web import (
    RULES,
    SegmentConfig,
    decode_html,
    iter_html_documents,
    iter_text_documents,
    iter_warc_documents,
    segment_documents,
)
from humpback.data.web.filters import has_repeated_sentences, split_sentences
from humpback.data.web.plaintext import pack_paragraphs

WORDS = (
    "garden soil water light seed leaf root stem flower fruit season summer winter spring autumn "
    "compost mulch shade sun rain frost plant grow harvest prune trim stake cage pot bed row "
    "gardener nursery variety hybrid heirloom tomato pepper bean pea squash onion garlic herb basil "
    "mint thyme sage rose tulip lily daisy fern moss tree shrub hedge lawn grass weed pest aphid "
    "beetle slug snail bird bee butterfly worm fungus mildew blight rot nutrient nitrogen potassium "
    "calcium acid alkaline clay sand loam drainage moisture humidity temperature warm cool careful "
    "early late daily weekly gentle steady deep shallow wide narrow tall short young mature healthy"
).split()


def prose(n_chars: int, seed: int) -> str:
    """Distinct, capitalised, non-repetitive sentences of random words, at least n_chars long."""
    rng = random.Random(seed)
    sentences: list[str] = []
    while len(" ".join(sentences)) < n_chars:
        words = rng.sample(WORDS, 14)
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def counts(report: dict, **nonzero: int) -> dict:
    return {rule: nonzero.get(rule, 0) for rule in RULES}


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- header sections -------------------------------------------------------------------------

NESTED = """<html><head><title>t</title><style>p {color: red}</style></head><body>
<nav><h2>Site menu</h2><ul><li>Home</li><li>About</li></ul></nav>
<h1>Garden</h1><p>Intro text.</p>
<h2>Tomatoes</h2><p>Plant <b>deep</b> in warm soil.</p>
<h3>Watering</h3><p>Water   at the
root.</p><ul><li>Morning is best</li><li>Avoid the leaves</li></ul>
<h2>Roses</h2><p>Prune in spring.</p><script>var x = 1;</script>
<footer><h2>Contact</h2><p>Mail us.</p></footer>
</body></html>"""

PERMISSIVE = dict(min_chars=0, max_chars=10**6, capitalisation_min_ratio=0.0, dedup_exact=False, dedup_near=False)


def test_header_nesting_includes_subsections():
    segments, report = segment_documents([{"id": "d", "url": "u", "html": NESTED}], SegmentConfig(**PERMISSIVE))
    got = {s["header"]: s["text"] for s in segments}
    assert got == {
        "Garden": "Intro text.\nTomatoes\nPlant deep in warm soil.\nWatering\nWater at the root.\n"
        "Morning is best\nAvoid the leaves\nRoses\nPrune in spring.",
        "Tomatoes": "Plant deep in warm soil.\nWatering\nWater at the root.\nMorning is best\nAvoid the leaves",
        "Watering": "Water at the root.\nMorning is best\nAvoid the leaves",
        "Roses": "Prune in spring.",
    }
    # nav and footer headers are page chrome: never candidates
    assert report["candidates"] == 4 and report["kept"] == 4
    assert [s["id"] for s in segments] == ["d#0", "d#1", "d#2", "d#3"]
    assert {s["doc_id"] for s in segments} == {"d"} and {s["url"] for s in segments} == {"u"}


def test_without_subheaders_a_section_stops_at_any_header():
    cfg = SegmentConfig(**PERMISSIVE, include_subheaders=False)
    got = {s["header"]: s["text"] for s in segment_documents([{"id": "d", "html": NESTED}], cfg)[0]}
    assert got == {
        "Garden": "Intro text.",
        "Tomatoes": "Plant deep in warm soil.",
        "Watering": "Water at the root.\nMorning is best\nAvoid the leaves",
        "Roses": "Prune in spring.",
    }


def test_config_is_omegaconf_structured():
    cfg = OmegaConf.structured(SegmentConfig(**PERMISSIVE))
    segments, _ = segment_documents([{"id": "d", "html": NESTED}], cfg)
    assert len(segments) == 4


# --- each rule ---------------------------------------------------------------------------------


def rules_page() -> str:
    repeated = "The tall tomato plant needs a strong wooden stake and a soft string tie to stay upright in summer"
    sections = [
        ("Growing tomatoes", prose(900, 1)),  # kept
        ("Pruning roses", prose(900, 2)),  # kept
        ("Short note", prose(200, 3)),  # too_short
        ("Long essay", prose(3200, 4)),  # too_long
        ("   ", prose(900, 5)),  # empty_header
        ("SHOUTING HEADER", prose(900, 6)),  # all_caps_header
        ("Advertisement", prose(900, 7)),  # navigation_header
        ("Our Free Newsletter", prose(900, 8)),  # navigation_header (substring, any case)
        ("Staking", f"{repeated}. {prose(700, 9)} {repeated} again."),  # repetitive (near-identical pair)
        ("Quiet voice", prose(900, 10).lower()),  # capitalisation
        ("Tomatoes again", "  " + prose(900, 1).replace(" ", "  ")),  # exact_duplicate (after normalising)
        ("Roses again", prose(900, 2).replace("Prune", "Cut").replace(". ", ". Also ", 1)),  # near_duplicate
    ]
    body = "".join(f"<h2>{h}</h2><p>{t}</p>" for h, t in sections)
    return f"<html><body><nav><h2>Menu</h2><p>{prose(900, 11)}</p></nav>{body}</body></html>"


def test_each_rule_removes_and_counts():
    segments, report = segment_documents([{"id": "page", "html": rules_page()}], SegmentConfig())
    assert [(s["id"], s["header"]) for s in segments] == [("page#0", "Growing tomatoes"), ("page#1", "Pruning roses")]
    assert report == {
        "documents": 1,
        "unreadable": 0,
        "candidates": 12,
        "removed": counts(
            report,
            too_short=1, too_long=1, empty_header=1, all_caps_header=1, navigation_header=2,
            repetitive=1, capitalisation=1, exact_duplicate=1, near_duplicate=1,
        ),
        "kept": 2,
    }
    assert list(report["removed"]) == list(RULES)
    assert report["candidates"] - sum(report["removed"].values()) == report["kept"]


def test_duplicates_across_documents_and_switches():
    page = {"id": "a", "html": f"<h2>One</h2><p>{prose(900, 1)}</p>"}
    copy = {"id": "b", "html": f"<h2>Other header</h2><p>{prose(900, 1)}</p>"}
    near = {"id": "c", "html": f"<h2>Third</h2><p>{prose(900, 1).replace('.', '!', 1)} Extra words.</p>"}
    _, report = segment_documents([page, copy, near], SegmentConfig())
    assert report["removed"]["exact_duplicate"] == 1 and report["removed"]["near_duplicate"] == 1
    assert report["kept"] == 1
    # exact off: the copy falls to the near-duplicate rule instead; both off: all kept
    _, report = segment_documents([page, copy, near], SegmentConfig(dedup_exact=False))
    assert report["removed"]["exact_duplicate"] == 0 and report["removed"]["near_duplicate"] == 2
    _, report = segment_documents([page, copy, near], SegmentConfig(dedup_exact=False, dedup_near=False))
    assert report["kept"] == 3


def test_repetition_and_sentence_helpers():
    assert split_sentences("Daniel S. Weld wrote it. Then he left!\nNext line") == [
        "Daniel S. Weld wrote it.", "Then he left!", "Next line"]
    assert has_repeated_sentences("Read more here. Other text follows. Read more here.", 3, 0.8)
    assert not has_repeated_sentences("Read more here. Other text follows.", 3, 0.8)
    # one-word sentences are not compared under min_words=2
    assert not has_repeated_sentences("Article. Some text here. Article.", 3, 0.8, min_words=2)


def test_unreadable_documents_are_counted():
    docs = [{"id": "x"}, {"id": "y", "text": 5}, "not a dict", {"html": "<h2>no id</h2>"}]
    segments, report = segment_documents(docs, SegmentConfig())
    assert segments == [] and report["documents"] == 4 and report["unreadable"] == 4 and report["candidates"] == 0


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="min_chars"):
        segment_documents([], SegmentConfig(min_chars=10, max_chars=5))


# --- raw HTML files ----------------------------------------------------------------------------


def test_html_files_and_declared_charset(tmp_path):
    page = "<html><head><meta charset='iso-8859-1'></head><body><h2>Café crème</h2><p>Très bien.</p></body></html>"
    (tmp_path / "a.html").write_bytes(page.encode("latin-1"))
    (tmp_path / "b.htm").write_bytes(b"<h2>Broken \xff bytes</h2><p>ok</p>")
    (tmp_path / "notes.txt").write_text("ignored")
    docs = list(iter_html_documents(tmp_path))
    assert [d["id"] for d in docs] == [str(tmp_path / "a.html"), str(tmp_path / "b.htm")]
    segments, _ = segment_documents(docs, SegmentConfig(**PERMISSIVE))
    assert [(s["header"], s["text"]) for s in segments] == [("Café crème", "Très bien."), ("Broken \ufffd bytes", "ok")]
    assert decode_html("é".encode("cp1252"), "windows-1252") == "é"
    assert decode_html(b"\xe9", "no-such-charset") == "\ufffd"


# --- real WARC ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warc_docs(shared_data):
    stats: dict = {}
    docs = list(iter_warc_documents(shared_data / "web" / "cc-sample-0000.warc.gz", stats))
    return docs, stats


def _page_text(html: str) -> str:
    """Visible page text without any whitespace (scripts and styles removed)."""
    tree = LexborHTMLParser(html)
    tree.strip_tags(["script", "style", "noscript"])
    return squash(tree.body.text(separator=" "))


def test_real_warc_reader(warc_docs):
    docs, stats = warc_docs
    assert stats == {"records": 48, "documents": 22, "unreadable": 0, "skipped_non_response": 26,
                     "skipped_non_html": 0, "skipped_status": 0}
    assert docs[0]["id"] == "urn:uuid:283E41D7-F686-4C3E-B7DA-E8D248A100C1"
    assert docs[0]["url"] == "https://www.semanticscholar.org/research/research-team"
    assert all(d["html"].lstrip().lower().startswith(("<!doctype", "<html")) for d in docs)


def test_real_warc_paper_window(warc_docs):
    docs, _ = warc_docs
    segments, report = segment_documents(docs, SegmentConfig())
    print("\nper-rule removals on cc-sample-0000 (paper defaults):", json.dumps(report, indent=1))
    assert set(report["removed"]) == set(RULES)
    assert report["documents"] == 22 and report["unreadable"] == 0 and report["candidates"] == 251
    assert report["candidates"] - sum(report["removed"].values()) == report["kept"] == len(segments)
    assert report["kept"] >= 50 and report["removed"]["too_short"] > 0
    assert all(600 <= len(s["text"]) <= 3000 for s in segments)
    assert len({s["id"] for s in segments}) == len(segments)


def test_real_warc_segments_sit_under_their_headers(warc_docs):
    docs, _ = warc_docs
    pages = {d["id"]: _page_text(d["html"]) for d in docs}
    segments, report = segment_documents(docs, SegmentConfig(min_chars=150))
    assert report["kept"] > 100
    for s in segments:
        page = pages[s["doc_id"]]
        at = page.find(squash(s["header"]))
        assert at >= 0, s["header"]
        first_words = squash(" ".join(s["text"].split()[:8]))
        assert page.find(first_words, at) >= 0, (s["header"], first_words)


def test_truncated_warc_is_counted_not_fatal(shared_data, tmp_path, caplog):
    data = (shared_data / "web" / "cc-sample-0000.warc.gz").read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) // 2])
    stats: dict = {}
    with caplog.at_level(logging.WARNING):
        docs = list(iter_warc_documents(cut, stats))
    assert stats["unreadable"] == 1 and 0 < stats["documents"] == len(docs) < 22
    assert any(str(cut) in r.getMessage() for r in caplog.records)

    garbage = tmp_path / "garbage.warc.gz"
    garbage.write_bytes(gzip.compress(b"this is not a warc file\n" * 10))
    stats = {}
    assert list(iter_warc_documents(garbage, stats)) == [] and stats["unreadable"] == 1
    stats = {}
    assert list(iter_warc_documents(tmp_path / "missing.warc.gz", stats)) == [] and stats["unreadable"] == 1


# --- plain text fallback -----------------------------------------------------------------------


def test_plaintext_fallback_on_real_jsonl(shared_data):
    path = shared_data / "web" / "cc_en_head-0091.jsonl"
    docs = list(iter_text_documents(path, url_field="metadata.url", title_field="metadata.title"))
    assert len(docs) == 10 and docs[0]["url"] == docs[0]["id"]
    segments, report = segment_documents(docs, SegmentConfig())
    assert report["documents"] == 10 and report["unreadable"] == 0
    assert report["candidates"] - sum(report["removed"].values()) == report["kept"] == len(segments) >= 20
    originals = {d["id"]: re.sub(r"\s+", " ", d["text"]) for d in docs}
    for s in segments:
        assert 600 <= len(s["text"]) <= 3000
        assert re.sub(r"\s+", " ", s["text"]) in originals[s["doc_id"]]
    # the 65k-character document is cut into evenly sized chunks of whole paragraphs
    longest = max(docs, key=lambda d: len(d["text"]))
    chunks = [s for s in segments if s["doc_id"] == longest["id"]]
    assert len(chunks) >= 20 and min(len(s["text"]) for s in chunks) > 1500


def test_plaintext_markdown_headings_and_packing():
    text = "Lead paragraph.\n\n# Title\n\nFirst para.\n\n## Sub\n\nSecond para.\n\n# Next\n\nThird para."
    segments, report = segment_documents([{"id": "t", "text": text, "title": "Doc"}], SegmentConfig(**PERMISSIVE))
    assert [(s["header"], s["text"]) for s in segments] == [
        ("Doc", "Lead paragraph."),
        ("Title", "First para.\nSub\nSecond para."),
        ("Sub", "Second para."),
        ("Next", "Third para."),
    ]
    assert pack_paragraphs(["a" * 40, "b" * 40, "c" * 40], 100) == ["a" * 40 + "\n" + "b" * 40, "c" * 40]
    assert pack_paragraphs(["One two. Three four. Five six."], 12) == ["One two.", "Three four.", "Five six."]


def test_jsonl_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "ok"}\n{not json\n')
    with pytest.raises(DataError, match=r"bad\.jsonl:2"):
        list(iter_text_documents(bad))
    missing = tmp_path / "missing.jsonl"
    missing.write_text('{"id": 1, "text": "ok"}\n\n{"id": 2, "body": "x"}\n')
    with pytest.raises(DataError, match=r"missing\.jsonl:3: missing field"):
        list(iter_text_documents(missing))
    no_id = tmp_path / "noid.jsonl"
    no_id.write_text('{"text": "ok"}\n')
    assert next(iter_text_documents(no_id))["id"] == "noid.jsonl#0"
