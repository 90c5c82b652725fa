"""The oracle judge: scores an answer against an eval record's `check` (no model, no state).

- correctness = hits / (hits + wrong): required values present vs wrong values of the same
  attributes (other entities' values) present; 0 when the answer says neither;
- completeness = share of required values present (for steps: the longest run in the right order);
- style = 1 minus penalties: first-person anecdote, social chatter, navigation/promotion,
  repeated sentences, cut-off ending, numbered list not starting at 1, missing list form, filler;
- total = 0.4 correctness + 0.3 completeness + 0.3 style.

`preference` turns two totals into an AlpacaEval preference (1 = output_1 better, 2 = output_2
better, 1.5 = within `margin`); `grade` maps the same analysis to the curation prompt's 1-5 scale.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from typing import Any, Mapping

from .style import DANGLING, FILLER, FIRST_PERSON, LIST_MARKER, NAV_PROMO, SENTENCE_END, SOCIAL, contains_any

PENALTIES = {
    "first_person": 0.4,
    "social": 0.3,
    "nav_promo": 0.3,
    "repetition": 0.3,
    "truncated": 0.2,
    "list_midway": 0.2,
    "no_list_form": 0.2,
    "filler": 0.15,
}
WEIGHTS = {"correctness": 0.4, "completeness": 0.3, "style": 0.3}
_NUMBERED = re.compile(r"^\s*(\d+)[.)]\s+")


@lru_cache(maxsize=65536)
def _pattern(key: str) -> re.Pattern:
    return re.compile(r"(?<![a-z0-9])" + re.escape(key.lower()) + r"(?![a-z0-9])")


def mentions(text_lower: str, key: str) -> bool:
    """Whether `key` occurs in `text_lower` as whole words (case-insensitive on the key)."""
    return _pattern(key).search(text_lower) is not None


def _position(text_lower: str, alternatives: list[str]) -> int:
    found = [m.start() for k in alternatives if (m := _pattern(k).search(text_lower))]
    return min(found) if found else -1


def _longest_increasing(values: list[int]) -> int:
    tails: list[int] = []
    for v in values:
        i = bisect.bisect_left(tails, v)
        tails[i:i + 1] = [v]
    return len(tails)


def style_flags(output: str, expected_format: str = "prose") -> list[str]:
    """The style problems of an answer, in PENALTIES order."""
    lower = output.lower()
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    flags = set()
    if FIRST_PERSON.search(output):
        flags.add("first_person")
    if contains_any(lower, SOCIAL):
        flags.add("social")
    if contains_any(lower, NAV_PROMO):
        flags.add("nav_promo")
    sentences = [LIST_MARKER.sub("", s).strip().lower() for ln in lines for s in SENTENCE_END.split(ln)]
    sentences = [s for s in sentences if len(s.split()) >= 4]
    if len(set(sentences)) < len(sentences):
        flags.add("repetition")
    if lines and _cut_off(lines[-1]):
        flags.add("truncated")
    numbered = [int(m.group(1)) for ln in lines if (m := _NUMBERED.match(ln))]
    if numbered and numbered[0] > 1:
        flags.add("list_midway")
    if expected_format == "steps" and len(numbered) < 2:
        flags.add("no_list_form")
    if expected_format == "list" and sum(1 for ln in lines[1:] if _list_line(ln)) < 2:
        flags.add("no_list_form")
    if contains_any(lower, FILLER):
        flags.add("filler")
    return [f for f in PENALTIES if f in flags]


def _list_line(line: str) -> bool:
    return bool(LIST_MARKER.match(line)) or (len(line.split()) <= 5 and not line.endswith((".", "!", "?", ":")))


def _cut_off(line: str) -> bool:
    if line.endswith(("...", "\u2026")):
        return True
    words = re.findall(r"[A-Za-z']+", line)
    if words and words[-1].lower() in DANGLING and not line.endswith((".", "!", "?")):
        return True
    if LIST_MARKER.match(line) or line.endswith((".", "!", "?", ")", '"')):
        return False
    return len(line.split()) > 5


def _check_of(record_or_check: Mapping[str, Any]) -> Mapping[str, Any]:
    check = record_or_check.get("check", record_or_check)
    if not isinstance(check, Mapping) or "required" not in check:
        raise ValueError("oracle: expected a toy-world eval record (with 'check') or a check dict (with 'required')")
    return check


class OracleJudge:
    """Stateless judge over toy-world records. `margin`: totals closer than this are a draw."""

    def __init__(self, margin: float = 0.02):
        self.margin = margin

    def analyze(self, record_or_check: Mapping[str, Any], output: str) -> dict[str, Any]:
        """Everything the scores derive from: hits, wrong values, style flags, and the scores."""
        check = _check_of(record_or_check)
        output = output or ""
        text = output.lower()
        required = check["required"]
        positions = [_position(text, alts) for alts in required]
        hits = sum(p >= 0 for p in positions)
        wrong = [k for k in check.get("forbidden", ()) if mentions(text, k)]
        n = max(len(required), 1)
        if check.get("ordered"):
            completeness = _longest_increasing([p for p in positions if p >= 0]) / n
        else:
            completeness = hits / n
        correctness = hits / (hits + len(wrong)) if hits + len(wrong) else 0.0
        flags = style_flags(output, check.get("format", "prose"))
        style = 0.0 if not output.strip() else max(0.0, 1.0 - sum(PENALTIES[f] for f in flags))
        total = (WEIGHTS["correctness"] * correctness + WEIGHTS["completeness"] * completeness
                 + WEIGHTS["style"] * style)
        return {"correctness": correctness, "completeness": completeness, "style": style, "total": total,
                "hits": hits, "wrong": wrong, "flags": flags, "empty": not output.strip()}

    def score(self, eval_record: Mapping[str, Any], output: str) -> dict[str, float]:
        a = self.analyze(eval_record, output)
        return {k: float(a[k]) for k in ("correctness", "completeness", "style", "total")}

    def preference(self, eval_record: Mapping[str, Any], output_1: str, output_2: str) -> float:
        """AlpacaEval preference: 1.0 output_1 better, 2.0 output_2 better, 1.5 draw."""
        if (output_1 or "").strip() == (output_2 or "").strip():
            return 1.5
        t1 = self.analyze(eval_record, output_1)["total"]
        t2 = self.analyze(eval_record, output_2)["total"]
        if abs(t1 - t2) <= self.margin:
            return 1.5
        return 1.0 if t1 > t2 else 2.0

    def grade(self, instruction_record_or_check: Mapping[str, Any], output: str) -> int:
        """The curation prompt's 5-point scale, decided from the analysis (an "oracle curator")."""
        a = self.analyze(instruction_record_or_check, output)
        flags = set(a["flags"])
        if a["empty"] or a["wrong"] or flags & {"nav_promo", "repetition"} or a["hits"] == 0:
            return 1
        if a["completeness"] < 1.0 or flags & {"truncated", "list_midway"}:
            return 2
        if flags & {"first_person", "social"}:
            return 3
        if flags & {"filler", "no_list_form"}:
            return 4
        return 5
