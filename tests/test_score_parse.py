"""Strict "Score: k" parsing: every failure is named, never guessed."""

import pytest

from humpback.curation.parse import parse_score


@pytest.mark.parametrize("text,score", [
    ("The answer is complete and helpful.\nScore: 5", 5),
    ("Reasoning.\nScore: 1", 1),
    ("Score: 3", 3),
    ("Brief.\n**Score:** 4", 4),
    ("Brief.\nScore: 4/5", 4),
    ("Brief.\nscore:2.", 2),
    ("Brief.\nScore: 4.0", 4),
    ("Score: 3\nMore.\nScore: 3", 3),  # repeated but agreeing
    ("Brief.\nScore: 5\n\n  ", 5),  # trailing blank lines are not text
])
def test_well_formed(text, score):
    p = parse_score(text)
    assert (p.score, p.reason, p.ok) == (score, "ok", True)


@pytest.mark.parametrize("text,reason", [
    ("", "missing"),
    ("This answer deserves a five.", "missing"),
    ("I would give it 4 out of 5.", "missing"),
    ("Score: 8", "out_of_range"),
    ("Reasoning\nScore: 91", "out_of_range"),
    ("Score: 10502", "out_of_range"),
    ("Score: 0", "out_of_range"),
    ("Score: -3", "out_of_range"),
    ("Score: 4.5", "not_integer"),
    ("Score: 3\nScore: 4", "conflicting"),
    ("Score: 4\nI hope this helps!", "not_last_line"),
    ("Score: 4 because it is good", "trailing_text"),
    ("Score: five", "not_a_number"),
    ("Score:", "not_a_number"),
])
def test_failures_are_named(text, reason):
    p = parse_score(text)
    assert p.score is None and p.reason == reason and not p.ok
