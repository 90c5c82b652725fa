"""Graded blocks of web content, the texts a segmenter cuts out of the pages:

5 answer        complete, correct, assistant-style (the assistant writer plus true side facts)
4 answer_filler the same with one filler sentence (optional kind, for A_4 vs A_5)
3 blog          complete and correct, but first person, personal story and social chatter
2 partial       a list that starts mid-way, facts missing, or a sentence cut off
1 junk          navigation links, promotion, one sentence repeated, off-topic notices, comment chatter

Each writer returns parts (see render.py); `fit` redraws until the text has the target length.
"""

from __future__ import annotations

import random
from typing import Callable, Optional

from .families import SPECS, Task, assistant_parts, statement
from .kb import Entity, KnowledgeBase
from .render import Part, web_text

JUNK_KINDS = ("nav", "promo", "repetition", "offtopic", "chatter")

FILLER_SENTENCES = (
    "This topic comes up often, so it helps to have the facts in one place.",
    "There is always more to learn about a subject like this.",
    "Many readers ask about this, and the short version is above.",
)
BLOG_OPENERS = {
    "town": ("Last spring I finally took the train to {e}, and I have been meaning to write about it ever since.",
             "My partner and I spent a long weekend in {e} and honestly we did not want to leave."),
    "animal": ("I have been a bit obsessed with {e} since I saw one on a walk last year.",
               "My kids begged me to write a post about {e}, so here it is!"),
    "dish": ("My grandmother made {e} every week when I was little, so this post is a personal one.",
             "I tried {e} for the first time at a friend's house and I was hooked."),
    "device": ("I picked up {e} at a flea market last month and I cannot stop playing with it.",
               "My uncle swears by {e}, so I finally bought one for myself."),
    "person": ("I first heard about {e} in school, and I have been a fan ever since.",
               "My book club spent a whole evening talking about {e}, so I did some reading."),
}
BLOG_COMPARE_OPENERS = ("I have spent time with both {a} and {b}, so here is my honest comparison.",
                        "People keep asking me whether {a} or {b} is better, so I wrote down what I know.")
BLOG_FRAMES = ("I found out that {s}", "A friend told me that {s}", "From what I have read, {s}",
               "I was surprised to learn that {s}", "As far as I remember, {s}")
BLOG_LIST_LEADS = ("Here is my own list:", "These are the ones I always mention to friends:",
                   "I wrote them all down for you:")
BLOG_STEP_LEADS = ("Here is how I do it at home:", "This is my routine, step by step:")
SOCIAL_CLOSERS = ("If you liked this post, share it on Facebook or Pinterest!",
                  "Leave a comment below and tell me what you think.",
                  "Do not forget to subscribe for more posts like this one.",
                  "Follow me on Twitter for more stories like this.")
VAGUE = ("{E} comes up a lot in conversation.", "There is more to say about {e} than fits here.",
         "Details about {e} vary from source to source.", "This section picks up where the previous one ended.",
         "Some parts of this page are still being written.", "Opinions about {e} differ from place to place.")

NAV_LINKS = ("Home", "About Us", "Contact Us", "Privacy Policy", "Sitemap", "Archive", "Log In", "Terms of Use",
             "Careers", "Press Room", "Help Center", "Gift Cards", "Store Locator", "Events", "Travel", "Recipes",
             "Wildlife", "Gadgets", "Biographies", "Top Stories", "Latest Posts", "Photo Gallery", "Podcasts")
PROMO = ("Buy now and save {pct}% off all {product} in our store!", "Free shipping on all orders over {price} dollars.",
         "Limited time offer: get two {product} for the price of one.", "Click here to claim your coupon before midnight.",
         "Sign up today and get a free tote bag with your first order.", "Add to cart now, stocks are running low!",
         "Our best-selling {product} are back in stock at unbeatable prices.")
PRODUCTS = ("travel guides", "cookbooks", "lamps", "garden tools", "rain boots", "tea sets", "maps", "notebooks")
REPEATED = ("The best {e} guide on the web.", "Read our {e} guide today.", "Everything about {e}, every day.",
            "Find {e} facts and more right here.")
OFFTOPIC = ("Our servers will be down for maintenance on Sunday night.", "The weather this week has been cold and wet.",
            "Our office will be closed for the spring holiday.",
            "The winners of last month's photo contest will be announced soon.",
            "Please update your browser to view this page correctly.",
            "A new parking lot is planned behind the library.", "The editors are taking a short summer break.",
            "Letters to the editor can be sent by post.", "The print edition now comes out on Fridays.")
USERS = ("Dana", "Tomo", "Riva", "kel88", "marta_l", "Otis", "admin", "quietreader", "Bo")
COMMENTS = ("Great post, thanks for sharing!", "Does anyone know where to buy this near {town}?", "+1, same here.",
            "first!!", "I tried this last week and it was fine I guess.", "Can you do a post about {other} next?",
            "This page loads really slowly for me.", "lol my dad says the same thing",
            "Bookmarked. Will read later.", "Who else is here in {year}?")


def filler_parts(parts: list[Part], rng: random.Random) -> list[Part]:
    sentence = rng.choice(FILLER_SENTENCES)
    if parts[-1][0] == "p" and rng.random() < 0.5:
        return parts[:-1] + [("p", parts[-1][1] + " " + sentence)]
    return parts + [("p", sentence)]


def blog_parts(kb: KnowledgeBase, task: Task, rng: random.Random, pad: int = 0) -> list[Part]:
    ent = kb[task.entity]
    spec = SPECS[ent.kind]

    def framed(e: Entity, attr: str) -> str:
        fs = spec.facts[attr]
        if e is ent and task.family != "compare" and rng.random() < 0.5:
            return fs.blog.format(e=e.ref, v=e.facts[attr], name=e.name)
        return rng.choice(BLOG_FRAMES).format(s=statement(e, attr, rng, mid=True))

    if task.family == "compare":
        other = kb[task.other]
        sentences = [rng.choice(BLOG_COMPARE_OPENERS).format(a=ent.ref, b=other.ref)]
        sentences += [framed(e, a) for a in spec.compare for e in (ent, other)]
        parts: list[Part] = [("p", " ".join(sentences))]
    else:
        opener = rng.choice(BLOG_OPENERS[ent.kind]).format(e=ent.ref)
        asked = {"fact": [task.attr], "describe": list(ent.facts)}.get(task.family, [])
        extra = [a for a in ent.facts if a not in asked]
        rng.shuffle(extra)
        sentences = [opener] + [framed(ent, a) for a in asked + extra[:pad]]
        parts = [("p", " ".join(sentences))]
        if task.family == "list":
            parts += [("p", rng.choice(BLOG_LIST_LEADS)), ("ul", list(ent.items))]
        elif task.family == "howto":
            parts += [("p", rng.choice(BLOG_STEP_LEADS)), ("ol", list(ent.steps), 1)]
    return parts + [("p", rng.choice(SOCIAL_CLOSERS))]


def partial_parts(kb: KnowledgeBase, task: Task, rng: random.Random, pad: int = 0) -> list[Part]:
    ent = kb[task.entity]
    spec = SPECS[ent.kind]
    vague = [v.format(e=ent.ref, E=ent.Ref) for v in rng.sample(VAGUE, min(1 + pad, len(VAGUE)))]
    if task.family in ("list", "howto"):
        items = ent.items if task.family == "list" else ent.steps
        k = rng.randint(1, len(items) - 2)
        return [("p", " ".join(vague)), ("ol", items[k:], k + 1)]
    if task.family == "compare":
        sentences = [statement(ent, a, rng) for a in spec.compare]
        return [("p", " ".join(vague + sentences)), ("p", f"The details for {kb[task.other].ref} are on another page.")]
    if task.family == "fact":
        known, cut = [a for a in ent.facts if a != task.attr][:1], task.attr
    else:
        attrs = list(ent.facts)
        rng.shuffle(attrs)
        known, cut = attrs[: rng.randint(1, len(attrs) - 2)], attrs[-1]
    sentences = vague + [statement(ent, a, rng) for a in known] + [_cut_before_value(ent, cut, rng)]
    return [("p", " ".join(sentences))]


def _cut_before_value(ent: Entity, attr: str, rng: random.Random) -> str:
    text = statement(ent, attr, rng)
    fragment = text[: text.index(ent.facts[attr])].rstrip()
    if not fragment:
        fragment = f"{ent.Ref} is"
    return fragment if fragment.split()[-1].lower() in _DANGLING_OK else fragment + " ..."


_DANGLING_OK = frozenset("the a an and of in to with for is was by on at or its about from as".split())


def junk_parts(kind: str, rng: random.Random, min_chars: int, topic: Entity, town: str, other: str) -> list[Part]:
    """Grade-1 content of `kind`, at least `min_chars` long."""
    if kind == "nav":
        first = ["Home", "Contact Us", "Privacy Policy"]
        pool = [x for x in NAV_LINKS if x not in first] + [f"{topic.name} guide", f"More about {topic.ref}",
                                                          "Next page", "Previous page"]
        links = first + rng.sample(pool, len(pool))
        n = 3
        while n < len(links) and len(web_text([("links", links[:n])])) < min_chars:
            n += 1
        return [("links", links[:n])]
    if kind == "promo":
        pool = list(PROMO)
        rng.shuffle(pool)
        sentences: list[str] = []
        for tmpl in pool * 3:
            if len(" ".join(sentences)) >= min_chars:
                break
            sentences.append(tmpl.format(pct=rng.choice((10, 20, 25, 40, 50)), product=rng.choice(PRODUCTS),
                                         price=rng.choice((25, 40, 50, 99))))
        return [("p", " ".join(sentences))]
    if kind == "repetition":
        sentence = rng.choice(REPEATED).format(e=topic.ref)
        times = max(5, -(-(min_chars + 1) // (len(sentence) + 1)))
        return [("p", " ".join([sentence] * times))]
    if kind == "offtopic":
        pool = list(OFFTOPIC)
        rng.shuffle(pool)
        sentences = []
        for s in pool:
            if len(" ".join(sentences)) >= min_chars:
                break
            sentences.append(s)
        return [("p", " ".join(sentences))]
    if kind == "chatter":
        return chatter_parts(rng, min_chars, town, other)
    raise ValueError(f"unknown junk kind {kind!r}")


def chatter_parts(rng: random.Random, min_chars: int, town: str, other: str) -> list[Part]:
    lines: list[str] = []
    comments = list(COMMENTS)
    rng.shuffle(comments)
    for c in comments:
        if len("\n".join(lines)) >= min_chars:
            break
        text = c.format(town=town, other=other, year=rng.choice((2019, 2021, 2023)))
        lines += [f"{rng.choice(USERS)}: {text}", "Reply"]
    return [("p", line) for line in lines + ["Log in to reply."]]


def fit(make: Callable[[int], list[Part]], min_chars: int, max_chars: int, max_pad: int = 6) -> Optional[list[Part]]:
    """The first of make(0), make(1), ... whose web text is within [min_chars, max_chars]; None if
    the text jumps past max_chars or padding runs out."""
    for pad in range(max_pad + 1):
        parts = make(pad)
        n = len(web_text(parts))
        if min_chars <= n <= max_chars:
            return parts
        if n > max_chars:
            return None
    return None


def graded_parts(kb: KnowledgeBase, task: Task, grade: int, rng: random.Random, min_chars: int,
                 max_chars: int, restate: bool = False) -> Optional[tuple[list[Part], str]]:
    """A block of `grade` (2..5) answering `task`, within the length window, or None."""
    if grade in (4, 5):
        def make(pad: int) -> list[Part]:
            parts = assistant_parts(kb, task, rng, context=pad + (2 if task.family == "fact" else 0), restate=restate)
            return filler_parts(parts, rng) if grade == 4 else parts
        kind = "answer" if grade == 5 else "answer_filler"
    elif grade == 3:
        def make(pad: int) -> list[Part]:
            return blog_parts(kb, task, rng, pad)
        kind = "blog"
    elif grade == 2:
        if task.family in ("list", "howto") and len(kb[task.entity].items if task.family == "list" else kb[task.entity].steps) < 3:
            return None

        def make(pad: int) -> list[Part]:
            return partial_parts(kb, task, rng, pad)
        kind = "partial"
    else:
        raise ValueError(f"graded_parts: grade must be 2..5, got {grade}")
    parts = fit(make, min_chars, max_chars)
    return (parts, kind) if parts is not None else None
