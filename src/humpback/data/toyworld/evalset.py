"""Eval prompts with reference outputs from the middling "reference system" and the oracle's check.

Half (by default) of the prompts are about web-only entities, those the seed never covers but the
web does in at least one good (grade >= 3) block: a model can only answer them well with knowledge
brought in by backtranslated web data (or pretraining). Eval requests are drawn before the seed,
which then leaves them out, so no eval request repeats a seed request and every family keeps
eval prompts about seed entities too.
"""

from __future__ import annotations

import random
from typing import Any

from .config import ToyWorldConfig
from .families import FAMILIES, Task, families_of, instruction, make_check, reference_parts
from .kb import KnowledgeBase
from .render import chat_text
from .seedset import task_key


def _draw_task(kb: KnowledgeBase, family: str, names: list[str], partners_of, rng: random.Random) -> Task | None:
    names = [n for n in names if family in families_of(kb[n].kind)]
    if not names:
        return None
    name = rng.choice(names)
    ent = kb[name]
    if family == "fact":
        return Task("fact", name, attr=rng.choice(list(ent.facts)))
    if family == "compare":
        partners = [p for p in partners_of(name) if p != name]
        return Task("compare", name, other=rng.choice(partners)) if partners else None
    return Task(family, name)


def eval_records(kb: KnowledgeBase, cfg: ToyWorldConfig, rng: random.Random, seed_entities: list[str],
                 web_only: list[str]) -> list[tuple[Task, dict[str, Any]]]:
    n_web = round(cfg.n_eval * cfg.eval_web_only_share) if web_only else 0
    groups = [(web_only, n_web, lambda name: kb.kinds[kb[name].kind]),
              (seed_entities, cfg.n_eval - n_web, lambda name: [p for p in seed_entities if kb[p].kind == kb[name].kind])]
    chosen: list[tuple[Task, bool]] = []
    keys: set = set()
    for names, count, partners_of in groups:
        got, turn, misses = 0, 0, 0
        while got < count:
            family = FAMILIES[turn % len(FAMILIES)]  # families take turns; one without a fresh task is skipped
            task = _draw_task(kb, family, names, partners_of, rng)
            if task is None or task_key(task) in keys:
                misses += 1
                if misses % 50 == 0:
                    turn += 1
                if misses > 100 * (count + 1):
                    raise RuntimeError("toy world: cannot draw enough distinct eval prompts; raise n_entities_per_kind")
                continue
            keys.add(task_key(task))
            chosen.append((task, names is seed_entities))
            got += 1
            turn += 1
    out = []
    for i, (task, in_seed) in enumerate(chosen):
        text = instruction(kb, task, rng)
        ref = chat_text(reference_parts(kb, task, rng, cfg.reference_coverage, cfg.reference_filler_share))
        out.append((task, {
            "id": f"toy-eval-{i:04d}",
            "instruction": text,
            "output": ref,
            "generator": "toy_reference",
            "dataset": "toyworld",
            "family": task.family,
            "entity": task.entity,
            "entity_in_seed": in_seed,
            "check": make_check(kb, task),
        }))
    return out
