"""Documents -> self-contained segments (SPEC section 1 item 1), streaming.

Per document: HTML goes through html_sections (header sections), plain text through the plaintext
fallback. Every candidate then meets the rules of filters.RULES in that order (length, header
rules, repeated sentences, capitalisation, exact then near duplicates); the first rule that
removes it is the one counted. So report["candidates"] - sum(report["removed"]) == report["kept"].
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Iterator, Optional

from .config import SegmentConfig, validate_config
from .dedup import Deduplicator
from .filters import RULES, SegmentFilter
from .html_files import decode_html
from .html_sections import html_to_blocks
from .plaintext import pack_paragraphs, text_to_blocks
from .sections import LEAD_LEVEL, assemble_sections

logger = logging.getLogger(__name__)


def new_report() -> dict[str, Any]:
    return {"documents": 0, "unreadable": 0, "candidates": 0, "removed": {rule: 0 for rule in RULES}, "kept": 0}


def _is_binary(text: str) -> bool:
    """Bytes that are no text (an image or archive saved as .html): undecodable or control characters
    make up over a tenth of the first 4,096 characters. A stray bad byte in a real page stays well below."""
    sample = text[:4096]
    bad = sum(c == "\ufffd" or (c < " " and c not in "\t\n\r\f") for c in sample)
    return bad > len(sample) / 10


def _candidates(doc: dict, cfg: SegmentConfig) -> Iterator[tuple[str, str, bool]]:
    """(header, text, check_header) per candidate segment of one readable document."""
    html = doc.get("html")
    if html is not None:
        if isinstance(html, (bytes, bytearray)):
            html = decode_html(bytes(html))
        if _is_binary(html):
            raise ValueError("binary data, not HTML")
        blocks = html_to_blocks(html, cfg.skip_tags, cfg.skip_selectors)
        for section in assemble_sections(blocks, cfg.include_subheaders):
            yield section.header, section.text, True
        return
    if _is_binary(doc["text"]):
        raise ValueError("binary data, not text")
    for section in assemble_sections(text_to_blocks(doc["text"], cfg, doc.get("title")), cfg.include_subheaders):
        check_header = not (section.level == LEAD_LEVEL and not section.header)
        texts = pack_paragraphs(section.lines, cfg.max_chars, cfg.plaintext_split_long_paragraphs) \
            if cfg.plaintext_pack_paragraphs else [section.text]
        for text in texts:
            yield section.header, text, check_header


def _readable(doc: Any) -> bool:
    if not isinstance(doc, dict) or doc.get("id") is None:
        return False
    if doc.get("html") is not None:
        return isinstance(doc["html"], (str, bytes, bytearray))
    return isinstance(doc.get("text"), str)


def iter_segments(docs: Iterable[dict], cfg: Optional[SegmentConfig] = None,
                  report: Optional[dict] = None) -> Iterator[dict]:
    """Yield kept segments {id, doc_id, url, header, text} one by one, updating `report` (see
    new_report) in place. Ids are f"{doc_id}#{k}", k counting the document's candidates."""
    cfg = cfg if cfg is not None else SegmentConfig()
    validate_config(cfg)
    report = report if report is not None else new_report()
    for key, value in new_report().items():
        report.setdefault(key, value)
    rules = SegmentFilter(cfg)
    dedup = Deduplicator(cfg)
    for doc in docs:
        report["documents"] += 1
        if not _readable(doc):
            report["unreadable"] += 1
            logger.debug("unreadable document %r", doc.get("id") if isinstance(doc, dict) else doc)
            continue
        doc_id = str(doc["id"])
        try:
            candidates = list(_candidates(doc, cfg))
        except Exception as e:  # a page the parser cannot take is one lost document, not a lost run
            report["unreadable"] += 1
            logger.warning("document %s: cannot segment (%s: %s)", doc_id, type(e).__name__, e)
            continue
        for k, (header, text, check_header) in enumerate(candidates):
            report["candidates"] += 1
            failed = rules.first_failure(header, text, check_header) or dedup.check(text)
            if failed:
                report["removed"][failed] += 1
                continue
            report["kept"] += 1
            yield {"id": f"{doc_id}#{k}", "doc_id": doc_id, "url": doc.get("url"), "header": header, "text": text}
    if report["unreadable"]:  # one line with the count, after the per-document warnings
        logger.warning("%d of %d documents were unreadable and left out", report["unreadable"], report["documents"])


def segment_documents(docs: Iterable[dict], cfg: Optional[SegmentConfig] = None) -> tuple[list[dict], dict]:
    """All kept segments and the report {documents, unreadable, candidates, removed{rule: n}, kept}."""
    report = new_report()
    segments = list(iter_segments(docs, cfg, report))
    return segments, report
