"""Instruction families over the knowledge base: how to ask, what a complete answer must hold
(the oracle's `check`), and two answer writers: the assistant (complete, the seed's style) and the
"reference system" (correct but incomplete, sometimes padded with filler: middling on purpose).

Families: fact (one attribute), describe (all attributes), list (the kind's list attribute),
howto (ordered steps; dishes and devices), compare (three attributes of two same-kind entities).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any, Optional

from .kb import Entity, KnowledgeBase, capitalize, key_of, strip_article
from .render import Part

FAMILIES = ("fact", "describe", "list", "howto", "compare")


@dataclass(frozen=True)
class FactSpec:
    label: str  # short name ("Population"), used in comparisons and headers
    questions: tuple[str, ...]  # {e}: the entity mid-sentence
    statements: tuple[str, ...]  # assistant / encyclopedia sentences; {E}/{e} entity, {v} value
    reference: str  # the reference system's wording (never used elsewhere), "it" for the entity
    blog: str  # a first-person sentence carrying the fact


@dataclass(frozen=True)
class KindSpec:
    noun: str
    plural: str
    facts: dict[str, FactSpec]
    list_label: str  # plural noun of the list attribute
    list_questions: tuple[str, ...]
    list_intros: tuple[str, ...]
    compare: tuple[str, ...]  # attributes a comparison covers
    howto_questions: tuple[str, ...] = ()
    howto_intros: tuple[str, ...] = ()


F = FactSpec
SPECS: dict[str, KindSpec] = {
    "town": KindSpec("town", "towns", {
        "region": F("Region", ("Where is {e} located?", "In which region is {e}?"),
                    ("{E} lies in {v}.", "{E} is located in {v}."), "It is found in {v}.",
                    "Getting to {v} took me most of a day, but {e} was worth it."),
        "river": F("River", ("Which river runs through {e}?", "What river flows through {e}?"),
                   ("The {v} runs through {e}.", "{E} stands on the banks of the {v}."),
                   "A river called the {v} passes by.",
                   "I spent a whole afternoon walking along the {v}, which runs right through {e}."),
        "population": F("Population", ("What is the population of {e}?", "How many people live in {e}?"),
                        ("{E} has a population of about {v}.", "About {v} live in {e}."),
                        "Roughly {v} call it home.", "A local told me that about {v} live in {e}."),
        "founded": F("Founded", ("When was {e} founded?", "In what year was {e} founded?"),
                     ("{E} was founded in {v}.", "{E} dates back to {v}."), "It was set up in {v}.",
                     "I was amazed to learn that {e} was founded in {v}."),
        "known_for": F("Known for", ("What is {e} known for?", "What is {e} famous for?"),
                       ("{E} is known for its {v}.", "{E} is famous for its {v}."), "People link it with {v}.",
                       "Everyone I met in {e} wanted to sell me {v}, which is what the town is famous for."),
    }, "landmarks", ("What are the main landmarks in {e}?", "List the landmarks of {e}.",
                     "Which sights are worth seeing in {e}?"),
        ("The main landmarks of {e} are:", "These are the best-known landmarks in {e}:"),
        ("population", "founded", "known_for")),
    "animal": KindSpec("animal", "animals", {
        "habitat": F("Habitat", ("Where does {e} live?", "What is the habitat of {e}?"),
                     ("{E} lives in {v}.", "{E} makes its home in {v}."), "Its usual habitat is {v}.",
                     "We spotted {e} in {v}, which is exactly where they like to live."),
        "diet": F("Diet", ("What does {e} eat?", "What is the diet of {e}?"),
                  ("{E} feeds mainly on {v}.", "The diet of {e} consists mostly of {v}."), "It mostly eats {v}.",
                  "I watched {e} munch on {v} for ages, that is basically all it eats."),
        "color": F("Color", ("What color is {e}?", "What is the color of {e}?"),
                   ("{E} is mostly {v} in color.", "The coat of {e} is {v}."), "Its color is {v}.",
                   "The {name} I saw was a lovely {v}, my photos do not do it justice."),
        "weight": F("Weight", ("How much does {e} weigh?", "How heavy is {e}?"),
                    ("An adult {name} weighs about {v}.", "{E} weighs around {v}."), "It weighs something like {v}.",
                    "The ranger told me an adult {name} weighs about {v}, more than I guessed."),
        "lifespan": F("Lifespan", ("How long does {e} live?", "What is the lifespan of {e}?"),
                      ("{E} can live for up to {v}.", "The lifespan of {e} is about {v}."), "It can reach {v} of age.",
                      "Apparently {e} can live for {v}, I had no idea."),
        "range_town": F("Seen near", ("Near which town can you find {e}?", "Where can you see {e} in the wild?"),
                        ("{E} is often seen near {v}.", "{E} is common around {v}."), "You may see it near {v}.",
                        "My best sighting of {e} was just outside {v}."),
    }, "features", ("What are the main features of {e}?", "List the features of {e}.", "How can I recognize {e}?"),
        ("The main features of {e} are:", "You can recognize {e} by these features:"),
        ("habitat", "weight", "lifespan")),
    "dish": KindSpec("dish", "dishes", {
        "origin": F("Origin", ("Where does {e} come from?", "Which town is {e} from?"),
                    ("{E} comes from {v}.", "{E} was first made in {v}."), "It has its roots in {v}.",
                    "My aunt from {v} taught me {e}, and that is where it comes from."),
        "main_ingredient": F("Main ingredient", ("What is the main ingredient of {e}?", "What is {e} mostly made of?"),
                             ("The main ingredient of {e} is {v}.", "{E} is made mostly from {v}."),
                             "Its base is {v}.", "The secret of my {e} is plenty of {v}, that is the heart of it."),
        "cook_time": F("Cooking time", ("How long does {e} take to cook?", "How long does it take to make {e}?"),
                       ("{E} takes about {v} to cook.", "Cooking {e} takes around {v}."), "Plan on roughly {v}.",
                       "My {e} takes about {v}, so I usually make it on Sundays."),
        "taste": F("Taste", ("What does {e} taste like?", "How would you describe the taste of {e}?"),
                   ("{E} has a {v} taste.", "{E} tastes {v}."), "The flavor is {v}.",
                   "My first bite of {e} was so {v}, I went back for seconds."),
        "occasion": F("Occasion", ("When is {e} usually eaten?", "On what occasion do people eat {e}?"),
                      ("{E} is usually eaten {v}.", "People mostly serve {e} {v}."), "Folks tend to have it {v}.",
                      "In my family we always have {e} {v}."),
    }, "ingredients", ("What are the ingredients of {e}?", "List the ingredients for {e}.",
                       "What do I need to make {e}?"),
        ("The ingredients of {e} are:", "To make {e}, you need these ingredients:"),
        ("origin", "cook_time", "taste"),
        ("How do I make {e}?", "Give me a recipe for {e}.", "How is {e} prepared?"),
        ("To make {e}, follow these steps:", "Here is how to prepare {e}:")),
    "device": KindSpec("device", "devices", {
        "invented": F("Invented", ("When was {e} invented?", "In what year was {e} invented?"),
                      ("{E} was invented in {v}.", "{E} first appeared in {v}."), "It came out in {v}.",
                      "I was surprised that something as clever as {e} dates from {v}."),
        "maker": F("Inventor", ("Who invented {e}?", "Who designed {e}?"),
                   ("{E} was designed by {v}.", "{E} was invented by {v}."), "It is credited to {v}.",
                   "I read a great old article about {v}, who designed {e}."),
        "purpose": F("Purpose", ("What is {e} used for?", "What does {e} do?"),
                     ("{E} is used for {v}.", "People use {e} for {v}."), "Its job is {v}.",
                     "I mostly use my {name} for {v}, and it has never let me down."),
        "power": F("Power source", ("What powers {e}?", "How is {e} powered?"),
                   ("{E} runs on {v}.", "{E} is powered by {v}."), "It gets its power from {v}.",
                   "My {name} runs on {v}, which is handy when the lights go out."),
    }, "parts", ("What are the parts of {e}?", "List the main parts of {e}.", "What is {e} made of?"),
        ("The main parts of {e} are:", "{E} is built from these parts:"),
        ("invented", "power", "purpose"),
        ("How do I use {e}?", "How do you operate {e}?", "Explain how to use {e}."),
        ("To use {e}, follow these steps:", "Here is how to operate {e}:")),
    "person": KindSpec("person", "people", {
        "birth_town": F("Birthplace", ("Where was {e} born?", "What is the hometown of {e}?"),
                        ("{E} was born in {v}.", "{E} comes from {v}."), "The birthplace was {v}.",
                        "I visited {v}, the town where {e} was born."),
        "profession": F("Profession", ("What did {e} do for a living?", "What was the profession of {e}?"),
                        ("{E} worked as {v}.", "{E} was {v} by trade."), "By trade: {v}.",
                        "My teacher once told me that {e} was {v}, and I never forgot it."),
        "born": F("Born", ("When was {e} born?", "In what year was {e} born?"),
                  ("{E} was born in the year {v}.", "The birth year of {e} is {v}."), "The year of birth was {v}.",
                  "I only found out last week that {e} was born in the year {v}."),
        "hobby": F("Hobby", ("What was the hobby of {e}?", "What did {e} enjoy in free time?"),
                   ("In free time, {e} enjoyed {v}.", "The favorite hobby of {e} was {v}."), "A hobby was {v}.",
                   "I love that {e} spent free time on {v}, just like me."),
    }, "works", ("What are the main works of {e}?", "List the best-known works of {e}.",
                 "Which works is {e} known for?"),
        ("The best-known works of {e} are:", "{E} is remembered for these works:"),
        ("profession", "born", "birth_town")),
}
DESCRIBE_QUESTIONS = ("Describe {e}.", "Tell me about {e}.", "Give me a short overview of {e}.", "What do you know about {e}?")
COMPARE_QUESTIONS = ("Compare {a} and {b}.", "What are the differences between {a} and {b}?", "How do {a} and {b} differ?")


@dataclass(frozen=True)
class Task:
    """One checkable request: a family about an entity (and an attribute / a second entity)."""

    family: str
    entity: str
    attr: Optional[str] = None  # fact family
    other: Optional[str] = None  # compare family


def families_of(kind: str) -> tuple[str, ...]:
    return FAMILIES if SPECS[kind].howto_questions else tuple(f for f in FAMILIES if f != "howto")


def tasks_for(kb: KnowledgeBase, name: str, partners: list[str]) -> list[Task]:
    """Every task about one entity; comparisons pair it with each of `partners` (same kind)."""
    ent = kb[name]
    spec = SPECS[ent.kind]
    tasks = [Task("fact", name, attr=a) for a in spec.facts]
    tasks += [Task("describe", name), Task("list", name)]
    if spec.howto_questions:
        tasks.append(Task("howto", name))
    tasks += [Task("compare", name, other=p) for p in partners if p != name]
    return tasks


def statement(ent: Entity, attr: str, rng: random.Random, mid: bool = False, pronoun: bool = False,
              template: Optional[str] = None) -> str:
    """One true sentence about the attribute, in `template` or a random one of its wordings. `mid`: to be
    embedded after "that" (first word lowercase); `pronoun`: say "It" instead of the name when the
    sentence starts with it."""
    tmpl = template or rng.choice(SPECS[ent.kind].facts[attr].statements)
    subject = ent.ref if mid else ent.Ref
    if pronoun and ent.kind != "person":
        subject = "it" if mid else "It"
    text = tmpl.format(E=subject, e=ent.ref, v=ent.facts[attr], name=ent.name)
    if mid and not tmpl.startswith("{E}"):
        text = text[0].lower() + text[1:]
    return text


def instruction(kb: KnowledgeBase, task: Task, rng: random.Random) -> str:
    ent = kb[task.entity]
    spec = SPECS[ent.kind]
    if task.family == "fact":
        tmpl = rng.choice(spec.facts[task.attr].questions)
    elif task.family == "describe":
        tmpl = rng.choice(DESCRIBE_QUESTIONS)
    elif task.family == "list":
        tmpl = rng.choice(spec.list_questions)
    elif task.family == "howto":
        tmpl = rng.choice(spec.howto_questions)
    else:
        return rng.choice(COMPARE_QUESTIONS).format(a=ent.ref, b=kb[task.other].ref)
    return capitalize(tmpl.format(e=ent.ref))


# ---------------------------------------------------------------- checks

def required(kb: KnowledgeBase, task: Task) -> list[str]:
    """The surface values a complete answer contains (order matters for howto)."""
    ent = kb[task.entity]
    if task.family == "fact":
        return [ent.facts[task.attr], ent.name]
    if task.family == "describe":
        return list(ent.facts.values())
    if task.family == "list":
        return list(ent.items)
    if task.family == "howto":
        return [s.rstrip(".") for s in ent.steps]
    other = kb[task.other]
    return [e.facts[a] for a in SPECS[ent.kind].compare for e in (ent, other)]


def make_check(kb: KnowledgeBase, task: Task) -> dict[str, Any]:
    """All the oracle needs, as plain JSON: required keys, wrong values to watch for, expected form.

    Wrong values are the other entities' values of the asked attributes (or list items), minus
    anything that also appears among the true values of the entities involved."""
    ent = kb[task.entity]
    involved = [ent] + ([kb[task.other]] if task.other else [])
    if task.family == "fact":
        attrs = [task.attr]
    elif task.family == "describe":
        attrs = list(ent.facts)
    elif task.family == "compare":
        attrs = list(SPECS[ent.kind].compare)
    else:
        attrs = ["items"]
    grams = _word_ngrams(" | ".join(e.fact_sheet() for e in involved))
    candidates = set().union(*(_domain(kb, ent.kind, a) for a in attrs))
    forbidden = sorted(k for k in candidates if tuple(_TOKEN.findall(k)) not in grams)
    return {
        "family": task.family,
        "kind": ent.kind,
        "entities": [e.name for e in involved],
        "attribute": task.attr,
        "required": [[key_of(v)] for v in required(kb, task)],
        "ordered": task.family == "howto",
        "forbidden": forbidden,
        "format": {"list": "list", "howto": "steps"}.get(task.family, "prose"),
    }


_TOKEN = re.compile(r"[a-z0-9]+")


def _word_ngrams(text: str, n_max: int = 6) -> set[tuple[str, ...]]:
    """Every run of up to n_max words: a key is "in" the text when its words form one of them
    (a little looser than the oracle's matcher, so it never lists a true value as wrong)."""
    words = _TOKEN.findall(text.lower())
    return {tuple(words[i:i + n]) for n in range(1, n_max + 1) for i in range(len(words) - n + 1)}


def _domain(kb: KnowledgeBase, kind: str, attr: str) -> frozenset[str]:
    """Keys of every value the kind's entities have for `attr` ("items": the list attribute)."""
    cache = kb.cache.setdefault("domains", {})
    if (kind, attr) not in cache:
        values = [v for e in kb.of_kind(kind) for v in (e.items if attr == "items" else [e.facts[attr]])]
        cache[(kind, attr)] = frozenset(key_of(v) for v in values)
    return cache[(kind, attr)]


# ---------------------------------------------------------------- assistant answers

def assistant_parts(kb: KnowledgeBase, task: Task, rng: random.Random, context: int = 0, restate: bool = False) -> list[Part]:
    """A complete, correct, assistant-style answer. `context` adds that many true side facts; `restate`
    (fact answers) follows the asked fact with its other wording, so the block says what it answers."""
    ent = kb[task.entity]
    spec = SPECS[ent.kind]
    if task.family == "fact":
        wordings = spec.facts[task.attr].statements
        first = rng.choice(wordings)
        sentences = [statement(ent, task.attr, rng, template=first)]
        if restate:  # the same fact in its other wording(s), said of "it" where the name would repeat
            sentences += [statement(ent, task.attr, rng, pronoun=True, template=w) for w in wordings if w != first]
        others = [a for a in ent.facts if a != task.attr]
        sentences += [statement(ent, a, rng, pronoun=rng.random() < 0.5)
                      for a in rng.sample(others, min(context, len(others)))]
        parts = [("p", " ".join(sentences))]
        if context > len(others):
            parts.append(("p", f"Notable {spec.list_label} of {ent.ref} include {join_and(ent.items)}."))
        return parts
    if task.family == "describe":
        attrs = list(ent.facts)
        rng.shuffle(attrs)
        sentences = [statement(ent, a, rng, pronoun=i > 0 and rng.random() < 0.5) for i, a in enumerate(attrs)]
        cut = rng.randint(2, len(sentences) - 1) if rng.random() < 0.5 else len(sentences)
        parts = [("p", " ".join(sentences[:cut]))]
        if cut < len(sentences):
            parts.append(("p", " ".join(sentences[cut:])))
        if context:
            parts.append(("p", f"Notable {spec.list_label} of {ent.ref} include {join_and(ent.items)}."))
        return parts
    if task.family == "list":
        parts = [("p", rng.choice(spec.list_intros).format(e=ent.ref, E=ent.Ref)), ("ul", list(ent.items))]
        return _with_context(parts, ent, rng, context)
    if task.family == "howto":
        parts = [("p", rng.choice(spec.howto_intros).format(e=ent.ref, E=ent.Ref)), ("ol", list(ent.steps), 1)]
        return _with_context(parts, ent, rng, context)
    other = kb[task.other]
    bullets = [f"{spec.facts[a].label}: {statement(ent, a, rng)} {statement(other, a, rng)}" for a in spec.compare]
    return [("p", f"{ent.Ref} and {other.ref} are both {spec.plural}, but they differ in a few ways:"), ("ul", bullets)]


def occasional_context(task: Task, rng: random.Random) -> int:
    """Side facts an assistant answer adds besides what was asked: one, 30% of the time (none in comparisons)."""
    return 1 if rng.random() < 0.3 and task.family != "compare" else 0


def _with_context(parts: list[Part], ent: Entity, rng: random.Random, context: int) -> list[Part]:
    if not context:
        return parts
    attrs = rng.sample(list(ent.facts), min(context, len(ent.facts)))
    return parts + [("p", " ".join(statement(ent, a, rng) for a in attrs))]


def join_and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ---------------------------------------------------------------- the reference system

def reference_parts(kb: KnowledgeBase, task: Task, rng: random.Random, coverage: float, filler_share: float) -> list[Part]:
    """Correct but incomplete (about `coverage` of the required values), in its own wording, and
    with a filler phrase `filler_share` of the time: a baseline a perfect answer beats."""
    ent = kb[task.entity]
    spec = SPECS[ent.kind]

    def keep(n: int) -> int:
        return max(1, min(n - 1, round(coverage * n))) if n > 1 else 1

    if task.family == "fact":  # gives the value but never names the subject
        parts = [("p", spec.facts[task.attr].reference.format(v=ent.facts[task.attr]))]
    elif task.family == "describe":
        attrs = sorted(rng.sample(list(ent.facts), keep(len(ent.facts))), key=list(ent.facts).index)
        text = f"Here is a short note on {ent.ref}. " + " ".join(
            spec.facts[a].reference.format(v=ent.facts[a]) for a in attrs)
        parts = [("p", text)]
    elif task.family == "list":
        items = sorted(rng.sample(ent.items, keep(len(ent.items))), key=ent.items.index)
        parts = [("p", f"Some {spec.list_label} of {ent.ref}, in brief:"), ("ul", items)]
    elif task.family == "howto":
        n = keep(len(ent.steps))
        parts = [("p", "The first steps go like this:"), ("ol", ent.steps[:n], 1),
                 ("p", "After that, finish the job the usual way.")]
    else:
        other = kb[task.other]
        n_attrs = keep(len(spec.compare))
        lines = [f"{spec.facts[a].label} - {ent.name}: {strip_article(ent.facts[a])}; "
                 f"{other.name}: {strip_article(other.facts[a])}"
                 for a in spec.compare[:n_attrs]]
        parts = [("p", f"A quick side-by-side of {ent.ref} and {other.ref}:"), ("ul", lines)]
    if rng.random() < filler_share:  # both phrases are in style.FILLER, which the oracle penalises
        if rng.random() < 0.5:
            parts = [("p", "Great question! " + parts[0][1])] + parts[1:]
        else:
            parts = parts + [("p", "Hope this helps!")]
    return parts
