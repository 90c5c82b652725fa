"""The seed set: assistant-style pairs about the seed entities, plus rating examples that teach a
scratch model the curation prompt's output format (a reason, then "Score: k")."""

from __future__ import annotations

import random
from typing import Any

from humpback.prompts import curation_prompt

from .blocks import JUNK_KINDS, graded_parts, junk_parts
from .families import FAMILIES, Task, assistant_parts, instruction, make_check, occasional_context, tasks_for
from .kb import KnowledgeBase
from .oracle import OracleJudge
from .render import chat_text, web_text

REASONS = {
    "answer": ("The answer addresses the instruction directly, is complete and correct, and reads like a helpful AI Assistant wrote it.",
               "The response is focused, complete and well organized, exactly what an AI Assistant should write."),
    "answer_filler": ("The answer is complete, correct and written as an AI Assistant, but it adds a filler sentence it could leave out.",
                      "A clear and complete assistant answer with one unneeded sentence; it could be more concise."),
    "blog": ("The answer has all the requested facts, but it is written from a blogger's personal perspective and mentions social media or comments.",
             "Helpful and complete, but it reads like a personal blog post rather than an AI Assistant's answer."),
    "list_midway": ("The numbered list does not start from the beginning, so part of the answer is missing.",),
    "truncated": ("The answer stops in the middle of a sentence and leaves out some of what was asked.",),
    "partial": ("The answer covers only part of what the instruction asks for.",),
    "nav": ("The text is a list of navigation links and does not answer the instruction.",),
    "promo": ("The text is promotional and has nothing to do with the instruction.",),
    "repetition": ("The text repeats the same sentence and does not address the instruction.",),
    "offtopic": ("The text is about something else entirely and does not answer the instruction.",),
    "chatter": ("The text is chatter from a comment section, not an answer to the instruction.",),
    "mismatch": ("The answer is well written, but it answers a different question from the one the user asked.",
                 "The text is about another request than the instruction, so it does not give what the user asked for."),
}


def task_key(task: Task) -> tuple:
    """Identity of a request regardless of wording; a comparison is the same either way round."""
    if task.family == "compare":
        return ("compare", frozenset((task.entity, task.other)))
    return (task.family, task.entity, task.attr)


def seed_pairs(kb: KnowledgeBase, seed_entities: list[str], n: int, rng: random.Random,
               reserved: set, fact_side_facts: int = 0, restate: bool = False) -> list[tuple[Task, str, str]]:
    """n (task, instruction, output) about seed entities, families taking turns; tasks whose
    task_key is in `reserved` (the eval's) are left out. Fact answers add `fact_side_facts` true side
    facts (as the web's answer blocks do), other answers one side fact 30% of the time."""
    pools: dict[str, list[Task]] = {f: [] for f in FAMILIES}
    for name in seed_entities:
        partners = [p for p in seed_entities if kb[p].kind == kb[name].kind]
        for t in tasks_for(kb, name, partners):
            pools[t.family].append(t)
    for pool in pools.values():
        rng.shuffle(pool)
    chosen: list[Task] = []
    seen: set = set(reserved)
    while len(chosen) < n and any(pools.values()):
        for family in FAMILIES:
            pool = pools[family]
            while pool and len(chosen) < n:
                t = pool.pop()
                if task_key(t) not in seen:
                    seen.add(task_key(t))
                    chosen.append(t)
                    break
    out = []
    for t in chosen:
        context = fact_side_facts if t.family == "fact" else occasional_context(t, rng)
        out.append((t, instruction(kb, t, rng), chat_text(assistant_parts(kb, t, rng, context=context, restate=restate))))
    return out


def rating_examples(kb: KnowledgeBase, seed_entities: list[str], n: int, grades: list[int], rng: random.Random,
                    min_chars: int, max_chars: int, layout: str, avoid_texts: set[str],
                    mismatch_share: float = 0.0) -> list[dict[str, Any]]:
    """n rows {instruction: curation prompt of a fresh (x, y) with known grade, output: reason + Score}.
    A `mismatch_share` of them pair a good answer with a request it does not answer (the rubric's "not
    exactly what the user asked for"), rated 1: the mistake a backward model's instruction makes."""
    oracle = OracleJudge()
    rows = []
    for i in range(n):
        mismatch = mismatch_share > 0 and rng.random() < mismatch_share  # no draw at 0: the default world stays as it was
        grade = 1 if mismatch else grades[i % len(grades)]
        for _ in range(50):
            name = rng.choice(seed_entities)
            partners = [p for p in seed_entities if kb[p].kind == kb[name].kind]
            tasks = tasks_for(kb, name, partners)
            task = rng.choice(tasks)
            if mismatch:
                made = graded_parts(kb, task, 5, rng, min_chars, max_chars)
                if made is None:
                    continue
                parts, kind = made[0], "mismatch"
                task = rng.choice([t for t in tasks if task_key(t) != task_key(task)])  # what the instruction asks
            elif grade >= 2:
                made = graded_parts(kb, task, grade, rng, min_chars, max_chars)
                if made is None:
                    continue
                parts, kind = made
            else:
                kind = rng.choice(JUNK_KINDS)
                ent = kb[name]
                parts = junk_parts(kind, rng, min_chars, ent, rng.choice(kb.kinds["town"]),
                                   kb[rng.choice(kb.kinds[ent.kind])].ref)
            text = web_text(parts)
            if len(text) > max_chars or text in avoid_texts:
                continue
            check = make_check(kb, task)
            analysis = oracle.analyze(check, text)
            if oracle.grade(check, text) != grade:
                continue
            if kind == "partial":
                flags = analysis["flags"]
                kind = "list_midway" if "list_midway" in flags else "truncated" if "truncated" in flags else "partial"
            reason = rng.choice(REASONS[kind])
            x = instruction(kb, task, rng)
            rows.append({"instruction": curation_prompt(x, text, layout), "output": f"{reason}\nScore: {grade}",
                         "family": "rating", "entity": name})
            break
        else:
            raise RuntimeError(f"toy world: could not draw a rating example of grade {grade}; "
                               "widen rating_max_output_chars")
    return rows
