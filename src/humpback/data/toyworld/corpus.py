"""Encyclopedia-style articles about every entity: the knowledge a scratch LM picks up in pretraining."""

from __future__ import annotations

import random

from .families import SPECS, join_and, statement
from .kb import Entity, KnowledgeBase

LEADS = {
    "town": "{E} is a town.", "animal": "{E} is an animal.", "dish": "{E} is a dish.",
    "device": "{E} is a device.", "person": "{E} is a person of some renown.",
}
METHOD_LEADS = {"dish": "The usual method is as follows.", "device": "It is operated as follows."}


def article(kb: KnowledgeBase, ent: Entity, rng: random.Random) -> str:
    spec = SPECS[ent.kind]
    attrs = list(ent.facts)
    rng.shuffle(attrs)
    paragraphs = [ent.name, " ".join([LEADS[ent.kind].format(E=ent.Ref)] + [statement(ent, a, rng) for a in attrs])]
    paragraphs.append(f"Notable {spec.list_label} of {ent.ref} include {join_and(ent.items)}.")
    if ent.steps:
        paragraphs.append(" ".join([METHOD_LEADS[ent.kind]] + ent.steps))
    mentions = [o for o in kb.entities.values() if ent.name in o.facts.values()]
    if mentions:
        paragraphs.append("See also: " + ", ".join(o.name for o in mentions) + ".")
    return "\n\n".join(paragraphs)


FAQ_TITLES = ("Questions and answers about {e}", "{E}: frequently asked questions", "Ask the experts: {e}")


def faq_page(kb: KnowledgeBase, ent: Entity, rng: random.Random, n_partners: int = 2) -> str:
    """A question-and-answer page about a background entity: every request the world knows, each with a
    complete assistant-style answer. Background entities are in no seed pair, web page or eval prompt,
    so these pages model the instruction-following a pretrained LLM brings without leaking any answer."""
    from .families import Task, assistant_parts, instruction, tasks_for
    from .render import chat_text

    peers = [n for n in kb.kinds[ent.kind] if n != ent.name]
    tasks = tasks_for(kb, ent.name, rng.sample(peers, min(n_partners, len(peers))))
    rng.shuffle(tasks)
    blocks = [rng.choice(FAQ_TITLES).format(e=ent.ref, E=ent.Ref)]
    for t in tasks:
        answer = chat_text(assistant_parts(kb, t, rng, context=1 if rng.random() < 0.3 and t.family != "compare" else 0))
        blocks.append(f"Question: {instruction(kb, t, rng)}\nAnswer: {answer}")
    return "\n\n".join(blocks)
