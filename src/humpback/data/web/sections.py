"""Turn a flat stream of blocks (headers and text lines, in reading order) into header sections.

A section is the text under one header: it runs until the next header of the same or a higher
level (a smaller number). With sub-headers included, a lower-level header and its lines also
belong to every enclosing section, the header itself as a plain text line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Optional

# Whitespace, plus the invisible characters pages scatter around (zero-width space, BOM).
_SPACES = re.compile(r"[\s\u200b\ufeff]+")

# Level of a pseudo-header that any real header closes (used for text before the first heading
# in plain text): lower than h6, so it never encloses a real section.
LEAD_LEVEL = 7


def normalise_line(text: str) -> str:
    """Collapse every whitespace run (newlines, tabs, NBSP, zero-width) to one space and trim."""
    return _SPACES.sub(" ", text).strip()


@dataclass
class Block:
    text: str
    level: Optional[int] = None  # 1..6 (or LEAD_LEVEL) for a header, None for a text line


@dataclass
class Section:
    ordinal: int  # position of the header among the document's headers, from 0
    header: str
    level: int
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def assemble_sections(blocks: Iterable[Block], include_subheaders: bool = True) -> list[Section]:
    """Sections in header order. Lines before the first header belong to no section."""
    done: list[Section] = []
    open_: list[Section] = []  # enclosing sections, outermost first, levels strictly increasing
    ordinal = 0
    for block in blocks:
        if block.level is None:
            if include_subheaders:
                for section in open_:
                    section.lines.append(block.text)
            elif open_:
                open_[-1].lines.append(block.text)
            continue
        while open_ and (open_[-1].level >= block.level or not include_subheaders):
            done.append(open_.pop())
        if block.text:
            for section in open_:
                section.lines.append(block.text)
        open_.append(Section(ordinal, block.text, block.level))
        ordinal += 1
    done.extend(open_)
    done.sort(key=lambda s: s.ordinal)
    return done
