"""Encyclopedia-style articles about every entity: the knowledge a scratch LM picks up in pretraining."""

from __future__ import annotations

import random

from humpback import prompts

from .families import SPECS, assistant_parts, instruction, join_and, occasional_context, statement, tasks_for
from .kb import Entity, KnowledgeBase
from .render import chat_text, web_text

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


WORKSHEET_LEADS = ("Read the passage and write the question it answers.", "What question does this passage answer?")


QA_LAYOUTS = {
    "faq": lambda q, a: f"Question: {q}\nAnswer: {a}",
    "inst": lambda q, a: f"{prompts.inst_prompt(q)} {a}",
}
PASSAGE_LAYOUTS = {
    "faq": lambda passage, q, rng: f"{rng.choice(WORKSHEET_LEADS)}\nPassage: {passage}\nQuestion: {q}",
    "inst": lambda passage, q, rng: f"{prompts.backward_prompt(passage)} {q}",
}
# The backward prompt's closing sentence is the S_a tag; ToyWorldConfig.background_passage_tag=False leaves it out.
_PASSAGE_TAG = f"\n\n{prompts.TAG_SEED} [/INST]"


def background_page(kb: KnowledgeBase, ent: Entity, rng: random.Random, layout: str = "faq", n_questions: int = 3,
                    n_passages: int = 2, passage_tag: bool = True) -> str:
    """One page about a background entity: an article, a few questions with complete assistant-style
    answers, and a reading exercise (a passage, then the question it answers).

    Background entities are many and each is seen on one page only, so a model cannot memorise its way
    through them: it has to learn the skills a pretrained LLM brings (read what is asked, answer about
    the entity named, tell what a passage is about). They are in no seed pair, web page or eval prompt,
    so no answer the eval asks for leaks."""
    peers = [n for n in kb.kinds[ent.kind] if n != ent.name]
    tasks = tasks_for(kb, ent.name, rng.sample(peers, min(2, len(peers))))
    rng.shuffle(tasks)
    blocks = [article(kb, ent, rng)]
    for t in tasks[:n_questions]:
        parts = assistant_parts(kb, t, rng, context=occasional_context(t, rng))
        blocks.append(QA_LAYOUTS[layout](instruction(kb, t, rng), chat_text(parts)))
    for t in tasks[n_questions:n_questions + n_passages]:
        parts = assistant_parts(kb, t, rng, context=occasional_context(t, rng))
        block = PASSAGE_LAYOUTS[layout](web_text(parts), instruction(kb, t, rng), rng)
        blocks.append(block if passage_tag else block.replace(_PASSAGE_TAG, " [/INST]"))
    return "\n\n".join(blocks)
