"""Plain-text corpora (JSONL, e.g. WET extractions): the paragraph-based fallback.

Without HTML there are no header elements, so (config `plaintext_*`):
- paragraphs are blank-line separated blocks (wrapped lines joined) or single lines;
- headings are Markdown '#' lines, optionally also short title-like lines;
- text before the first heading is a section headed by the document title (or "");
- a section longer than max_chars is cut into chunks of whole paragraphs (long paragraphs split at
  sentence ends), balanced in size so the last chunk is not a stub.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any, Iterator, Optional

from humpback.data.records import DataError, iter_jsonl

from .config import SegmentConfig
from .filters import split_sentences
from .sections import LEAD_LEVEL, Block, normalise_line

_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
_BLANK_LINE = re.compile(r"\n\s*\n")
_TERMINAL = tuple(".!?,;:…")


def _field(row: dict[str, Any], dotted: Optional[str]) -> Any:
    """row["a"]["b"] for "a.b"; None when any step is missing."""
    if not dotted:
        return None
    value: Any = row
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def iter_text_documents(
    path: str | os.PathLike,
    text_field: str = "text",
    id_field: str = "id",
    url_field: Optional[str] = "url",
    title_field: Optional[str] = "title",
) -> Iterator[dict]:
    """Yield {id, url, title, text} from a JSONL corpus. Fields may be dotted ("metadata.url").
    A line without `text_field` (or a file without lines) raises DataError naming file:line; a row without an id gets
    "<file name>#<row number>". Non-string text is left for segment_documents to count."""
    required = (text_field,) if "." not in text_field else ()
    n = -1
    for n, row in enumerate(iter_jsonl(path, required=required)):
        doc_id = _field(row, id_field)
        yield {
            "id": str(doc_id) if doc_id is not None else f"{os.path.basename(path)}#{n}",
            "url": _field(row, url_field),
            "title": _field(row, title_field),
            "text": _field(row, text_field),
        }
    if n < 0:  # an empty corpus file is a wrong path or a failed export, not a corpus
        raise DataError(f"{path}: no documents (the corpus file is empty)")


def _paragraphs(text: str, mode: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if mode == "blank_line" or (mode == "auto" and _BLANK_LINE.search(text)):
        pieces = _BLANK_LINE.split(text)
    else:
        pieces = text.split("\n")
    return [p for p in (normalise_line(piece) for piece in pieces) if p]


def _looks_like_title(paragraph: str, max_chars: int) -> bool:
    return (
        len(paragraph) <= max_chars
        and not paragraph.endswith(_TERMINAL)
        and (paragraph[0].isupper() or paragraph[0].isdigit())
    )


def text_to_blocks(text: str, cfg: SegmentConfig, title: Optional[str] = None) -> list[Block]:
    """Block stream for a plain-text document; starts with a lead pseudo-header (level LEAD_LEVEL)
    carrying the title when the text does not open with a heading and headerless text is kept."""
    paragraphs = _paragraphs(text, cfg.plaintext_paragraphs)
    blocks: list[Block] = []
    for i, paragraph in enumerate(paragraphs):
        level = None
        if cfg.plaintext_headings != "none":
            match = _MARKDOWN_HEADING.match(paragraph)
            if match:
                level, paragraph = len(match.group(1)), match.group(2)
            elif (
                cfg.plaintext_headings == "short_lines"
                and i + 1 < len(paragraphs)
                and _looks_like_title(paragraph, cfg.plaintext_heading_max_chars)
                and not _looks_like_title(paragraphs[i + 1], cfg.plaintext_heading_max_chars)
            ):
                level = 1
        blocks.append(Block(paragraph, level))
    if cfg.plaintext_keep_headerless and blocks and blocks[0].level is None:
        blocks.insert(0, Block(normalise_line(title) if isinstance(title, str) else "", LEAD_LEVEL))
    return blocks


def pack_paragraphs(lines: list[str], max_chars: int, split_long: bool = True) -> list[str]:
    """Cut consecutive lines (paragraphs) into chunk texts of at most max_chars, lines joined by
    "\n". Chunks aim at an even size (total / number of chunks) so the last one is not a stub.
    A line longer than max_chars is split at sentence ends (split_long; its sentences rejoin with
    spaces inside a chunk) or kept whole as its own, too long, chunk."""
    pieces: list[tuple[int, str]] = []  # (paragraph number, text)
    for n, line in enumerate(lines):
        if split_long and len(line) > max_chars:
            pieces.extend((n, sentence) for sentence in split_sentences(line))
        else:
            pieces.append((n, line))
    total = sum(len(text) + 1 for _, text in pieces) - 1
    if total <= max_chars:
        return ["\n".join(lines)] if lines else []
    target = math.ceil(total / math.ceil(total / max_chars))
    chunks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    size = 0
    for piece in pieces:
        grown = size + len(piece[1]) + (1 if current else 0)
        if current and (grown > max_chars or size >= target):
            chunks.append(current)
            current, grown = [], len(piece[1])
        current.append(piece)
        size = grown
    if current:
        chunks.append(current)
    return [_render(chunk) for chunk in chunks]


def _render(chunk: list[tuple[int, str]]) -> str:
    out = [chunk[0][1]]
    for (prev, _), (n, text) in zip(chunk, chunk[1:]):
        out.append((" " if n == prev else "\n") + text)
    return "".join(out)
