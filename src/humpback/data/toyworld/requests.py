"""Read a request back out of an instruction: which family it asks and about which entities.

The gold side of the backward model's check: an instruction M_yx wrote for a segment "asks for what
the segment answers" when it parses to the segment's family and entities. Parsing matches the
world's own question wordings (families.py) with the entity names put back in, so an off-template
or garbled instruction parses to nothing and counts as a miss.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Optional

from .families import COMPARE_QUESTIONS, DESCRIBE_QUESTIONS, SPECS

_SLOT = "\x00"  # where an entity stood


@dataclass(frozen=True)
class Request:
    family: str
    entities: frozenset[str]  # one entity, or both sides of a comparison
    attribute: Optional[str] = None  # fact family


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("?", " ?").replace(".", " .").split())


@lru_cache(maxsize=None)
def _templates() -> dict[str, tuple[str, Optional[str]]]:
    """Normalised wording (entities as _SLOT) -> (family, attribute), over every kind."""
    out: dict[str, tuple[str, Optional[str]]] = {}
    for spec in SPECS.values():
        for attr, fact in spec.facts.items():
            for q in fact.questions:
                out.setdefault(_norm(q.format(e=_SLOT)), ("fact", attr))
        for q in spec.list_questions:
            out.setdefault(_norm(q.format(e=_SLOT)), ("list", None))
        for q in spec.howto_questions:
            out.setdefault(_norm(q.format(e=_SLOT)), ("howto", None))
    for q in DESCRIBE_QUESTIONS:
        out.setdefault(_norm(q.format(e=_SLOT)), ("describe", None))
    for q in COMPARE_QUESTIONS:
        out.setdefault(_norm(q.format(a=_SLOT, b=_SLOT)), ("compare", None))
    return out


class RequestParser:
    """Parses instructions against one world's entity names (longest name first, "the" optional)."""

    def __init__(self, names: Iterable[str]):
        names = sorted(set(names), key=len, reverse=True)
        self._pattern = re.compile(r"(?<![A-Za-z])(?:the\s+)?(" + "|".join(re.escape(n) for n in names) + r")(?![A-Za-z])",
                                   re.IGNORECASE)
        self._canonical = {n.lower(): n for n in names}

    def parse(self, instruction: str) -> Optional[Request]:
        found: list[str] = []

        def slot(m: re.Match) -> str:
            found.append(self._canonical[m.group(1).lower()])
            return _SLOT

        wording = _norm(self._pattern.sub(slot, instruction or ""))
        hit = _templates().get(wording)
        if hit is None or not found:
            return None
        family, attr = hit
        if (family == "compare") != (len(found) == 2) or len(found) > 2 or (family == "compare" and found[0] == found[1]):
            return None
        return Request(family, frozenset(found), attr)

    def asks_for_segment(self, instruction: str, gold_row: dict) -> bool:
        """Does `instruction` ask for what the gold segment `gold_row` answers (asks_for)?"""
        return asks_for(self.parse(instruction), gold_request(gold_row))


def gold_by_segment(gold_segments: Iterable[dict]) -> dict[tuple[str, str], dict]:
    """The world's gold segment rows by (page id, header), the segment a candidate comes from (gold_of)."""
    return {(g["page_id"], g["header"]): g for g in gold_segments}


def gold_of(gold: dict[tuple[str, str], dict], candidate: dict) -> Optional[dict]:
    """A candidate pair's gold segment row (its doc_id and header), None when the gold has none."""
    return gold.get((candidate.get("doc_id"), candidate.get("header")))


def gold_request(row: dict) -> Optional[Request]:
    """The request a gold segment row answers (None for junk)."""
    if not row.get("family"):
        return None
    names = [row["entity"]] + ([row["other_entity"]] if row.get("other_entity") else [])
    return Request(row["family"], frozenset(names), row.get("attribute"))


def asks_for(parsed: Optional[Request], gold: Optional[Request]) -> bool:
    """Same family and entities (the attribute is not required: a fact block also states side facts)."""
    return parsed is not None and gold is not None and (parsed.family, parsed.entities) == (gold.family, gold.entities)
