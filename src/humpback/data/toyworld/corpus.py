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
