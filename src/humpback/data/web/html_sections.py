"""Visible text of an HTML page as a block stream: header lines (h1-h6, with level) and text lines.

Parsing is selectolax/lexbor; we only walk its tree. Rules: block elements (p, div, li, tr, ...)
and <br> start new lines, inline elements join into the surrounding line, table cells are
separated by a space, <pre> keeps its line breaks, whitespace is collapsed. Subtrees named by
`skip_tags` / `skip_selectors` (scripts, styles, nav, footer, aside, forms, hidden elements ...)
contribute nothing, headers inside them included.
"""

from __future__ import annotations

from typing import Iterable

from selectolax.lexbor import LexborHTMLParser

from .sections import Block, normalise_line

HEADER_LEVELS = {f"h{i}": i for i in range(1, 7)}

BLOCK_TAGS = frozenset(
    """address article blockquote body caption center dd details dialog dir div dl dt fieldset
    figcaption figure header hgroup hr html legend li main menu ol p pre section summary table
    tbody tfoot thead tr ul""".split()
)
CELL_TAGS = frozenset({"td", "th"})


class _LineBuilder:
    """Collects inline text into lines; headers are collected apart and emitted as header blocks."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._buf: list[str] = []
        self._header: list[str] | None = None

    def add(self, text: str) -> None:
        (self._header if self._header is not None else self._buf).append(text)

    def break_line(self) -> None:
        if self._header is not None:  # blocks nested in a header stay on the header's line
            self._header.append(" ")
            return
        line = normalise_line("".join(self._buf))
        self._buf.clear()
        if line:
            self.blocks.append(Block(line))

    def start_header(self) -> None:
        self.break_line()
        self._header = []

    def end_header(self, level: int) -> None:
        text = normalise_line("".join(self._header or []))
        self._header = None
        self.blocks.append(Block(text, level))


def html_to_blocks(html: str, skip_tags: Iterable[str] = (), skip_selectors: Iterable[str] = ()) -> list[Block]:
    tree = LexborHTMLParser(html)
    root = tree.body or tree.root
    if root is None:
        return []
    skip_tags = frozenset(t.lower() for t in skip_tags)
    selector = ", ".join(skip_selectors)
    skip_ids = {node.mem_id for node in root.css(selector)} if selector else set()

    out = _LineBuilder()
    header_id: int | None = None  # mem_id of the open header element (nested headers are plain text)
    pre_depth = 0
    stack: list[tuple[object, bool]] = [(root, False)]
    while stack:  # iterative depth-first walk: deep pages must not hit the recursion limit
        node, leaving = stack.pop()
        tag = node.tag
        if leaving:
            if tag in CELL_TAGS:
                out.add(" ")
            if header_id is not None and node.mem_id == header_id:
                out.end_header(HEADER_LEVELS[tag])
                header_id = None
            elif tag in BLOCK_TAGS or tag == "br":
                out.break_line()
            if tag == "pre":
                pre_depth -= 1
            continue
        if tag == "-text":
            text = node.text_content or ""
            if pre_depth and "\n" in text:
                first, *rest = text.split("\n")
                out.add(first)
                for part in rest:
                    out.break_line()
                    out.add(part)
            else:
                out.add(text)
            continue
        if tag is None or tag.startswith(("-", "!")) or tag in skip_tags:
            continue
        if skip_ids and node.mem_id in skip_ids:
            continue
        if tag in HEADER_LEVELS and header_id is None:
            header_id = node.mem_id
            out.start_header()
        elif tag in BLOCK_TAGS:
            out.break_line()
        if tag == "pre":
            pre_depth += 1
        stack.append((node, True))
        children = []
        child = node.child
        while child is not None:
            children.append(child)
            child = child.next
        stack.extend((c, False) for c in reversed(children))
    out.break_line()
    return out.blocks
