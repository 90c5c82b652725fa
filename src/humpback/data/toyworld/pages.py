"""Web pages: HTML with a title, a nav bar, <h2> sections holding graded blocks, ads, a comment
section, a sidebar and a footer; plus each page's visible text and the gold grade of every section.

Where the project's segmenter looks: sections inside <article> and the comment <section> are
candidates; the sidebar (<aside>) and the <footer> are page chrome it skips, headers included
(their gold rows say `chrome: true`). Some junk sits under headers the segment filters catch
(navigation words, all caps, empty), some under innocent ones, so curation has junk to reject.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from html import escape
from typing import Any, Optional

from . import render
from .blocks import JUNK_KINDS, chatter_parts, graded_parts, junk_parts, PROMO, PRODUCTS
from .config import ToyWorldConfig
from .families import SPECS, Task, families_of, instruction
from .kb import KnowledgeBase, capitalize
from .render import slug

SITES = (  # name, host, kinds it prefers
    ("Wander Notes", "wandernotes", ("town", "dish")),
    ("Kitchen Corner", "kitchencorner", ("dish",)),
    ("Field Guide Online", "fieldguide", ("animal", "town")),
    ("Gadget Shed", "gadgetshed", ("device",)),
    ("Lives and Letters", "livesletters", ("person", "device")),
    ("Ask the Almanac", "askalmanac", ("town", "animal", "dish", "device", "person")),
    ("Town Crier Daily", "towncrier", ("town", "person")),
    ("The Answer Box", "answerbox", ("town", "animal", "dish", "device", "person")),
)
NAV_BAR = ("Home", "Travel", "Recipes", "Wildlife", "Gadgets", "People", "About Us", "Contact Us")
ANSWER_HEADERS = {
    "fact": ("{Label} of {e}", "{E}: {label}", "{E} and its {label}"),
    "describe": ("About {e}", "{E} at a glance", "Overview of {e}", "{E} in brief"),
    "list": ("{List} of {e}", "{E}: {list}", "The {list} of {e}"),
    "howto": ("How to {verb} {e}", "{E}: {verb}ing it", "Step by step: {e}"),
    "compare": ("{E} vs {o}", "{E} compared with {o}", "{E} or {o}?"),
}
BLOG_HEADERS = ("My take on {e}", "Why I love {e}", "A personal story about {e}", "What {e} taught me",
                "{E} and me", "My week with {e}")
PARTIAL_HEADERS = ("More on {e}", "{E}, continued", "{E} notes", "{E} (part 2)", "Still more about {e}")
JUNK_HEADERS = {
    "nav": ("More from {site}", "Browse by topic", "Explore {site}"),
    "promo": ("Deals of the week", "Shop our favorites", "Today's offers"),
    "repetition": ("{E} guide", "Best {e} tips", "{E} facts"),
    "offtopic": ("Site news", "A note from the editors", "News in brief"),
    "chatter": ("Reader questions", "What readers are saying"),
}
# Headers a segment filter catches: navigation words (the paper's list), all caps, empty.
BAIT_HEADERS = ("Advertisement", "Quick Links", "Free Newsletter", "Forum", "SPECIAL OFFER", "RELATED POSTS",
                "TOP PICKS", "")
COMMENT_HEADERS = ("Comments", "{n} Comments", "Leave a Reply", "Reader Comments")
FOOTER_HEADERS = ("FOLLOW US", "Free Newsletter", "ABOUT THIS SITE", "STAY IN TOUCH")
FOOTER_LINKS = ("About Us", "Contact Us", "Privacy Policy", "Terms of Use", "Sitemap", "Careers")


@dataclass
class Section:
    header: str
    parts: list
    grade: int
    kind: str  # answer | answer_filler | blog | partial | nav | promo | repetition | offtopic | chatter | ad | comments | quick_links | footer
    task: Optional[Task] = None
    entity: Optional[str] = None
    bait_header: bool = False
    chrome: bool = False  # inside <aside>/<footer>: page chrome a segmenter skips
    html_wrapper: str = "section"


@dataclass
class Page:
    id: str
    url: str
    title: str
    site: str
    topic: str
    nav: list[str]
    sections: list[Section] = field(default_factory=list)  # in document order

    @property
    def heading(self) -> str:
        """The title without the site name (shown at the top of the page)."""
        return self.title.split(" - ")[0].split(" | ")[0]


def related_index(kb: KnowledgeBase) -> dict[str, list[str]]:
    """Entities a page about each entity may also cover (its town, its maker, dishes from a town...)."""
    links: dict[str, list[str]] = {n: [] for n in kb.entities}
    for ent in kb.entities.values():
        for v in ent.facts.values():
            if v in kb.entities:
                links[ent.name].append(v)
                links[v].append(ent.name)
    return links


def _fmt(tmpl: str, **kw: str) -> str:
    return capitalize(tmpl.format(**kw))


def _header_for(section: Section, kb: KnowledgeBase, rng: random.Random, site: str, used: set[str]) -> tuple[str, bool]:
    task = section.task
    ent = kb[section.entity] if section.entity else None
    names = {"e": ent.ref, "E": ent.Ref} if ent else {"e": "this", "E": "This"}
    bait = False
    if section.grade >= 4:
        spec = SPECS[ent.kind]
        tmpls = ANSWER_HEADERS[task.family]
        if task.family == "fact":
            label = spec.facts[task.attr].label
            names.update(Label=label, label=label.lower())
        names.update(List=capitalize(spec.list_label), list=spec.list_label,
                     verb="make" if ent.kind == "dish" else "use", o=kb[task.other].ref if task.other else "")
    elif section.grade == 3:
        tmpls = BLOG_HEADERS
    elif section.grade == 2:
        tmpls = PARTIAL_HEADERS
    elif section.bait_header:
        tmpls, bait = BAIT_HEADERS, True
    else:
        tmpls = JUNK_HEADERS[section.kind]
    options = [_fmt(t, site=site, **names) for t in tmpls]
    rng.shuffle(options)
    for h in options:
        if h not in used:
            used.add(h)
            return h, bait
    base, k = options[0] or "More", 2
    while f"{base} ({k})" in used:
        k += 1
    used.add(f"{base} ({k})")
    return f"{base} ({k})", False


def _pick_task(kb: KnowledgeBase, subject: str, rng: random.Random) -> Task:
    ent = kb[subject]
    family = rng.choice(families_of(ent.kind))
    if family == "fact":
        task = Task("fact", subject, attr=rng.choice(list(ent.facts)))
    elif family == "compare":
        task = Task("compare", subject, other=rng.choice([n for n in kb.kinds[ent.kind] if n != subject]))
    else:
        task = Task(family, subject)
    return task


def build_pages(kb: KnowledgeBase, cfg: ToyWorldConfig, rng: random.Random, topics: list[str]) -> list[Page]:
    grades = sorted(cfg.grade_mix, reverse=True)
    weights = [float(cfg.grade_mix[g]) for g in grades]
    lo, hi = cfg.sections_per_page
    pages = []
    related = related_index(kb)
    for i in range(cfg.n_pages):
        topic = topics[i % len(topics)]
        ent = kb[topic]
        sites = [s for s in SITES if ent.kind in s[2]]
        site, host, _ = rng.choice(sites)
        nav = ["Home"] + rng.sample(NAV_BAR[1:6], 3) + ["About Us", "Contact Us"]
        title = rng.choice(("{E} | {site}", "All about {e} - {site}", "{E}: what to know - {site}")).format(
            E=ent.Ref, e=ent.ref, site=site)
        page = Page(f"toy-page-{i:04d}", f"https://www.{host}.example/{ent.kind}/{slug(ent.name)}-{i}", title, site,
                    topic, nav)
        links = related[topic]
        taken: set = set()
        body: list[Section] = []
        for _ in range(rng.randint(lo, hi)):
            grade = int(rng.choices(grades, weights)[0])
            body.append(_graded_section(kb, cfg, rng, grade, topic, links, taken))
        if rng.random() < cfg.chrome_ad_share:
            ad = Section("", [("p", " ".join(t.format(pct=rng.choice((20, 30, 50)), product=rng.choice(PRODUCTS),
                                                             price=rng.choice((25, 50))) for t in rng.sample(PROMO, 2)))],
                         1, "ad", bait_header=True, html_wrapper="ad")
            body.insert(rng.randint(1, len(body)), ad)
        town = ent.facts.get("origin") or ent.facts.get("range_town") or ent.facts.get("birth_town") or \
            (topic if ent.kind == "town" else rng.choice(kb.kinds["town"]))
        if rng.random() < cfg.chrome_comments_share:
            other = rng.choice(kb.kinds[ent.kind])
            body.append(Section("", chatter_parts(rng, rng.randint(120, 400), town, kb[other].ref), 1, "comments",
                                entity=None, html_wrapper="comments"))
        if rng.random() < cfg.chrome_quick_links_share:
            body.append(Section("Quick Links", [("links", rng.sample(list(NAV_BAR[1:]) + [f"{ent.name} guide"], 5))], 1,
                                "quick_links", bait_header=True, chrome=True, html_wrapper="aside"))
        body.append(Section(rng.choice(FOOTER_HEADERS), [("p", f"\u00a9 2023 {site}. All rights reserved."),
                                                         ("links", rng.sample(FOOTER_LINKS, 4))],
                            1, "footer", bait_header=True, chrome=True, html_wrapper="footer"))
        used: set[str] = set()
        for s in body:  # chrome headers first, so graded sections get fresh ones
            if s.kind in ("quick_links", "footer"):
                used.add(s.header)
        for s in body:
            if s.kind == "ad":
                s.header = "Advertisement" if "Advertisement" not in used else "Sponsored"
                used.add(s.header)
            elif s.kind == "comments":
                s.header = rng.choice(COMMENT_HEADERS).format(n=rng.randint(2, 40))
                if s.header in used:
                    s.header = "Comments and replies"
                used.add(s.header)
            elif s.kind not in ("quick_links", "footer"):
                s.header, s.bait_header = _header_for(s, kb, rng, site, used)
        page.sections = body
        pages.append(page)
    return pages


def _graded_section(kb: KnowledgeBase, cfg: ToyWorldConfig, rng: random.Random, grade: int, topic: str,
                    links: list[str], taken: set) -> Section:
    if grade >= 2:
        for _ in range(12):
            subject = rng.choice(links) if links and rng.random() < cfg.related_entity_share else topic
            task = _pick_task(kb, subject, rng)
            key = (task.family, task.entity, task.attr)
            if key in taken:
                continue
            made = graded_parts(kb, task, grade, rng, cfg.min_block_chars, cfg.max_block_chars, cfg.fact_answers_restate)
            if made is None:
                continue
            taken.add(key)
            parts, kind = made
            return Section("", parts, grade, kind, task=task, entity=task.entity)
        # no task of this grade fits the length window (rare): junk instead; the manifest's
        # sections_by_grade shows the mix actually realised
    kind = rng.choice(JUNK_KINDS)
    ent = kb[topic]
    town = rng.choice(kb.kinds["town"])
    other = kb[rng.choice(kb.kinds[ent.kind])].ref
    parts = junk_parts(kind, rng, cfg.min_block_chars, ent, town, other)
    mentioned = topic if kind == "repetition" else None
    return Section("", parts, 1, kind, entity=mentioned, bait_header=rng.random() < cfg.junk_bait_header_share)


# ---------------------------------------------------------------- output

def _section_html(s: Section) -> str:
    head = f"<h2>{escape(s.header, quote=False)}</h2>"
    content = render.html(s.parts)
    if s.html_wrapper == "ad":
        return f'<div class="ad-slot">\n{head}\n<div class="ad">\n{content}\n</div>\n</div>'
    if s.html_wrapper == "comments":
        return f'<section class="comments">\n{head}\n{content}\n</section>'
    if s.html_wrapper in ("aside", "footer"):
        return f"<{s.html_wrapper}>\n{head}\n{content}\n</{s.html_wrapper}>"
    return f"<section>\n{head}\n{content}\n</section>"


def page_html(page: Page) -> str:
    nav = "".join(f'<li><a href="/{slug(x)}">{escape(x, quote=False)}</a></li>' for x in page.nav)
    article = [s for s in page.sections if s.html_wrapper in ("section", "ad")]
    rest = [s for s in page.sections if s.html_wrapper not in ("section", "ad")]
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(page.title, quote=False)}</title>",
        "</head>",
        "<body>",
        f'<div class="site-name">{escape(page.site, quote=False)}</div>',
        f"<nav><ul>{nav}</ul></nav>",
        "<main>",
        f'<div class="page-title">{escape(page.heading, quote=False)}</div>',
        "<article>",
        *[_section_html(s) for s in article],
        "</article>",
        *[_section_html(s) for s in rest if s.html_wrapper == "comments"],
        "</main>",
        *[_section_html(s) for s in rest if s.html_wrapper != "comments"],
        "</body>",
        "</html>",
        "",
    ])


def ordered_sections(page: Page) -> list[Section]:
    """Sections in the order they appear in the HTML."""
    article = [s for s in page.sections if s.html_wrapper in ("section", "ad")]
    comments = [s for s in page.sections if s.html_wrapper == "comments"]
    chrome = [s for s in page.sections if s.html_wrapper in ("aside", "footer")]
    return article + comments + chrome


def page_text(page: Page) -> str:
    """The visible text of the page, in reading order (for the pretraining corpus)."""
    lines = [page.site, " | ".join(page.nav), page.heading]
    for s in ordered_sections(page):
        if s.header:
            lines.append(s.header)
        lines.append(render.web_text(s.parts))
    return "\n".join(lines)


def gold_rows(page: Page, kb: KnowledgeBase, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for s in ordered_sections(page):
        rows.append({
            "page_id": page.id,
            "header": s.header,
            "text": render.web_text(s.parts),
            "grade": s.grade,
            "family": s.task.family if s.task else None,
            "entity": s.entity,
            "attribute": s.task.attr if s.task else None,  # fact family: the asked attribute
            "other_entity": s.task.other if s.task else None,  # compare family: the second entity
            "kind": s.kind,
            "chrome": s.chrome,
            "bait_header": s.bait_header,
            "instruction": instruction(kb, s.task, rng) if s.task else None,  # one wording of the block's request
        })
    return rows
