"""Strict parsing of the curator's "Score: k" line.

Reproductions of the paper saw 45-67% of ratings without a parsable score and loose regexes that let
through 8, 91 or 10502. Here a rating counts only when the answer ends with a line "Score: k",
k an integer 1..5; every other case is a named failure, counted and reported by the curate stage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One "Score:" line: optional markdown emphasis around the label, the value, optional "/5" and a full stop.
_SCORE_LINE = re.compile(r"^\W*score[\s*_]*:[\s*_]*(?P<value>.*?)\s*$", re.IGNORECASE)
_VALUE = re.compile(r"^(?P<num>[+-]?\d+(?:\.\d+)?)(?:\s*/\s*5)?\s*[.*]*$")

FAILURE_REASONS = ("missing", "not_last_line", "trailing_text", "not_a_number", "conflicting", "not_integer", "out_of_range")


@dataclass(frozen=True)
class ParsedScore:
    score: int | None
    reason: str  # "ok" or one of FAILURE_REASONS

    @property
    def ok(self) -> bool:
        return self.score is not None


def parse_score(text: str) -> ParsedScore:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    score_lines = [(i, m.group("value")) for i, ln in enumerate(lines) if (m := _SCORE_LINE.match(ln))]
    if not score_lines:
        return ParsedScore(None, "missing")
    if score_lines[-1][0] != len(lines) - 1:
        return ParsedScore(None, "not_last_line")  # the prompt asks for the score in the last line
    values = []
    for _, raw in score_lines:
        m = _VALUE.match(raw)
        if not m:  # "Score: 4 because ..." vs "Score: five"
            return ParsedScore(None, "trailing_text" if re.match(r"[+-]?\d", raw) else "not_a_number")
        values.append(m.group("num"))
    if len(set(values)) > 1:
        return ParsedScore(None, "conflicting")
    num = values[-1]
    if "." in num and float(num) != int(float(num)):
        return ParsedScore(None, "not_integer")
    k = int(float(num))
    if not 1 <= k <= 5:
        return ParsedScore(None, "out_of_range")
    return ParsedScore(k, "ok")
