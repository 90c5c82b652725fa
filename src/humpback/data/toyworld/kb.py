"""The knowledge base: made-up entities of five kinds with checkable attributes.

Every fact has a surface value ("4200 residents", "the northern hills") whose *key* (the value
without a leading article) is what the oracle looks for in an answer. Kinds share one name
pool, so an entity name always means one entity.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

SYLLABLES = (
    "bel mor ta vin ka lo ri den sa mul tor fen gar lis po ven dra kel nor quin zu har mi sol "
    "bran te osk pel ra vel"
).split()

REGIONS = ["the northern hills", "the southern lowlands", "the eastern plains", "the western valley",
           "the lake district", "the high moors", "the river delta", "the pine uplands"]
PRODUCTS = ["wool", "glass", "cheese", "pottery", "salt", "paper", "honey", "copper", "rope", "silk",
            "lace", "cider", "candles", "baskets"]
LANDMARKS = ["the old bridge", "the clock tower", "the stone harbor", "the glass market", "the north gate",
             "the river garden", "the bell hall", "the salt mill", "the red chapel", "the long pier",
             "the hill fort", "the weavers square", "the lantern street", "the spring baths",
             "the grain tower", "the east park"]
ANIMAL_WEIGHTS = {"fox": (3, 12), "owl": (1, 4), "goat": (25, 90), "crane": (4, 12), "hare": (2, 6),
                  "otter": (5, 15), "boar": (40, 150), "deer": (30, 120), "heron": (1, 3), "badger": (8, 16)}
ANIMAL_BASES = list(ANIMAL_WEIGHTS)
HABITATS = ["pine forests", "salt marshes", "rocky cliffs", "river banks", "dry grasslands", "mountain lakes",
            "sand dunes", "deep caves", "birch woods", "reed beds"]
DIETS = ["seeds", "insects", "fish", "berries", "small rodents", "roots", "leaves", "snails", "worms", "grass"]
COLORS = ["grey", "rust red", "pale yellow", "dark brown", "silver", "black and white", "olive green", "sandy"]
FEATURES = ["long ears", "a striped tail", "webbed feet", "sharp claws", "a curved beak", "large eyes",
            "thick fur", "short legs", "a forked tongue", "spotted wings", "a loud call", "a flat snout",
            "a ringed neck", "pale whiskers"]
DISH_BASES = ["stew", "pie", "bread", "soup", "cake", "salad", "dumplings", "porridge", "tart", "pancakes"]
INGREDIENTS = ["barley", "lentils", "goat cheese", "river trout", "wild mushrooms", "red onions", "chestnuts",
               "plums", "rice", "pumpkin", "smoked fish", "butter", "sea salt", "black pepper", "dill", "garlic",
               "honey", "cream", "carrots", "flour", "eggs", "thyme", "vinegar", "walnuts"]
MAIN_INGREDIENTS = ["barley", "lentils", "goat cheese", "river trout", "wild mushrooms", "red onions", "chestnuts",
                    "plums", "rice", "pumpkin", "smoked fish", "carrots", "eggs", "walnuts"]
TASTES = ["smoky", "sweet", "sour", "spicy", "salty", "mild", "tangy", "nutty", "rich", "earthy"]
OCCASIONS = ["at weddings", "in winter", "at harvest festivals", "for breakfast", "on market days",
             "at midsummer", "after long journeys", "on rainy evenings"]
DEVICE_BASES = ["lamp", "pump", "press", "loom", "clock", "scale", "kettle", "compass", "mill", "radio"]
PURPOSES = ["measuring rainfall", "grinding grain", "sorting letters", "lighting tunnels", "pumping water",
            "weaving baskets", "drying fruit", "tuning bells", "cutting glass", "warming bread",
            "counting coins", "cleaning wool"]
POWERS = ["a hand crank", "steam", "a small battery", "wind", "a foot pedal", "a wound spring", "sunlight",
          "falling water"]
PARTS = ["a round dial", "a copper coil", "a wooden frame", "a glass lens", "a leather belt", "an iron gear",
         "a steel spring", "a clay bowl", "a rubber hose", "a cork seal", "a silver needle", "a tin funnel",
         "a brass handle", "a felt pad"]
PROFESSIONS = ["a weaver", "a mapmaker", "a clockmaker", "a botanist", "a singer", "a glassblower",
               "an astronomer", "a baker", "a poet", "a shipwright", "a beekeeper", "a potter"]
HOBBIES = ["chess", "sailing", "bird watching", "gardening", "fishing", "painting", "rowing", "stargazing",
           "knitting", "hiking"]
WORK_ADJ = ["Silent", "Golden", "Northern", "Hollow", "Bright", "Last", "Hidden", "Winter", "Quiet", "Distant"]
WORK_NOUN = ["Harbor", "Map", "Lantern", "Garden", "Song", "Tower", "Orchard", "Clock", "Voyage", "Letter"]

PREP_VERBS = {  # plausible first steps per ingredient
    "barley": ("Rinse", "Soak"), "lentils": ("Rinse", "Soak"), "goat cheese": ("Crumble", "Grate"),
    "river trout": ("Clean", "Fillet"), "wild mushrooms": ("Slice", "Clean"), "red onions": ("Chop", "Slice"),
    "chestnuts": ("Peel", "Roast"), "plums": ("Halve", "Pit"), "rice": ("Rinse", "Soak"), "pumpkin": ("Peel", "Dice"),
    "smoked fish": ("Flake", "Skin"), "butter": ("Melt", "Soften"), "sea salt": ("Measure", "Grind"),
    "black pepper": ("Grind", "Crack"), "dill": ("Chop", "Rinse"), "garlic": ("Crush", "Peel"),
    "honey": ("Warm", "Measure"), "cream": ("Whip", "Chill"), "carrots": ("Peel", "Dice"), "flour": ("Sift", "Measure"),
    "eggs": ("Beat", "Whisk"), "thyme": ("Strip", "Chop"), "vinegar": ("Measure", "Warm"), "walnuts": ("Toast", "Crush"),
}
COOK_STEPS = ["Simmer everything in a covered pot for {t}.", "Bake the mixture in a hot oven for {t}.",
              "Fry the mixture in a wide pan for {t}.", "Steam the mixture over boiling water for {t}."]
SERVE_STEPS = ["Serve it hot.", "Serve it warm with bread.", "Let it cool and serve it cold.",
               "Serve it in deep bowls."]
POWER_STEPS = {
    "a hand crank": "Turn the hand crank ten times.",
    "steam": "Fill the boiler with water and light the burner.",
    "a small battery": "Insert a charged battery.",
    "wind": "Face the vanes into the wind.",
    "a foot pedal": "Press the foot pedal at a steady pace.",
    "a wound spring": "Wind the spring until it is tight.",
    "sunlight": "Set the panel in full sunlight.",
    "falling water": "Open the water gate above the wheel.",
}


def strip_article(value: str) -> str:
    for article in ("the ", "a ", "an "):
        if value.startswith(article):
            return value[len(article):]
    return value


def key_of(value: str) -> str:
    """What the oracle looks for: the value without a leading article, lowercase."""
    return strip_article(value).lower()


def capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass
class Entity:
    kind: str
    name: str
    facts: dict[str, str]  # attribute -> surface value
    items: list[str]  # the kind's list attribute (landmarks, features, ingredients, parts, works)
    steps: list[str] = field(default_factory=list)  # how-to steps (dishes and devices)

    @property
    def ref(self) -> str:
        """How a sentence names the entity mid-sentence ("the Tavrin owl", "Belmora")."""
        return f"the {self.name}" if self.kind in ("animal", "device") else self.name

    @property
    def Ref(self) -> str:
        return capitalize(self.ref)

    def fact_sheet(self) -> str:
        """Every value of the entity in one lowercase string (to keep true values out of 'wrong' lists)."""
        return " | ".join([self.name, *self.facts.values(), *self.items, *self.steps]).lower()


class NameForge:
    """Unique made-up words from syllables, drawn in a seeded order."""

    def __init__(self, rng: random.Random, taken: set[str] = frozenset()):
        self.rng = rng
        self.used: set[str] = set(taken)

    def word(self, syllables: int | None = None) -> str:
        for attempt in range(10_000):
            n = syllables or self.rng.choice((2, 2, 3))
            if attempt >= 200:  # the short names are running out: allow one more syllable
                n += 1
            w = "".join(self.rng.choice(SYLLABLES) for _ in range(n)).capitalize()
            if len(w) >= 4 and w not in self.used:
                self.used.add(w)
                return w
        raise RuntimeError("toy world: ran out of made-up names; lower n_entities_per_kind")


@dataclass
class KnowledgeBase:
    entities: dict[str, Entity]  # name -> entity, in generation order
    kinds: dict[str, list[str]]  # kind -> entity names
    cache: dict = field(default_factory=dict, repr=False, compare=False)  # derived lookups (families.make_check)

    def __getitem__(self, name: str) -> Entity:
        return self.entities[name]

    def of_kind(self, kind: str) -> list[Entity]:
        return [self.entities[n] for n in self.kinds[kind]]


KIND_ORDER = ("town", "person", "animal", "dish", "device")


def build_kb(n_per_kind: int, rng: random.Random, taken: set[str] = frozenset()) -> KnowledgeBase:
    """n entities of each kind; names (and their syllable words) avoid `taken`."""
    forge = NameForge(rng, {w for name in taken for w in name.split()})
    entities: dict[str, Entity] = {}
    kinds: dict[str, list[str]] = {k: [] for k in KIND_ORDER}

    def add(e: Entity) -> None:
        entities[e.name] = e
        kinds[e.kind].append(e.name)

    for _ in range(n_per_kind):
        add(Entity("town", forge.word(), {
            "region": rng.choice(REGIONS),
            "river": f"{forge.word(2)} River",
            "population": f"{rng.randrange(1200, 98000, 100)} residents",
            "founded": str(rng.randrange(1200, 1900)),
            "known_for": rng.choice(PRODUCTS),
        }, rng.sample(LANDMARKS, rng.randint(3, 5))))
    towns = list(kinds["town"])
    for _ in range(n_per_kind):
        works = rng.sample([f"The {a} {n}" for a in WORK_ADJ for n in WORK_NOUN], rng.randint(3, 4))
        add(Entity("person", f"{forge.word(2)} {forge.word(2)}", {
            "birth_town": rng.choice(towns),
            "profession": rng.choice(PROFESSIONS),
            "born": str(rng.randrange(1600, 1960)),
            "hobby": rng.choice(HOBBIES),
        }, works))
    people = list(kinds["person"])
    for _ in range(n_per_kind):
        base = rng.choice(ANIMAL_BASES)
        add(Entity("animal", f"{forge.word()} {base}", {
            "habitat": rng.choice(HABITATS),
            "diet": rng.choice(DIETS),
            "color": rng.choice(COLORS),
            "weight": f"{rng.randint(*ANIMAL_WEIGHTS[base])} kilograms",
            "lifespan": f"{rng.randint(2, 40)} years",
            "range_town": rng.choice(towns),
        }, rng.sample(FEATURES, rng.randint(3, 4))))
    for _ in range(n_per_kind):
        main = rng.choice(MAIN_INGREDIENTS)
        ingredients = [main] + rng.sample([i for i in INGREDIENTS if i != main], rng.randint(3, 5))
        minutes = f"{rng.randrange(15, 185, 5)} minutes"
        add(Entity("dish", f"{forge.word()} {rng.choice(DISH_BASES)}", {
            "origin": rng.choice(towns),
            "main_ingredient": ingredients[0],
            "cook_time": minutes,
            "taste": rng.choice(TASTES),
            "occasion": rng.choice(OCCASIONS),
        }, ingredients, _dish_steps(ingredients, minutes, rng)))
    for _ in range(n_per_kind):
        parts = rng.sample(PARTS, rng.randint(3, 5))
        facts = {
            "invented": str(rng.randrange(1700, 1990)),
            "maker": rng.choice(people),
            "purpose": rng.choice(PURPOSES),
            "power": rng.choice(POWERS),
        }
        add(Entity("device", f"{forge.word()} {rng.choice(DEVICE_BASES)}", facts, parts,
                   _device_steps(parts, facts, rng)))
    return KnowledgeBase(entities, kinds)


def _dish_steps(ingredients: list[str], minutes: str, rng: random.Random) -> list[str]:
    a, b, c = ingredients[0], ingredients[1], ingredients[2]
    steps = [f"{rng.choice(PREP_VERBS[a])} the {a}.", f"{rng.choice(PREP_VERBS[b])} the {b}.", f"Mix the {a} and the {b} with the {c}.",
             rng.choice(COOK_STEPS).format(t=minutes)]
    if len(ingredients) > 3:
        steps.append(f"Season with the {ingredients[3]}.")
    steps.append(rng.choice(SERVE_STEPS))
    return steps


def _device_steps(parts: list[str], facts: dict[str, str], rng: random.Random) -> list[str]:
    p = [strip_article(x) for x in parts]
    steps = [f"Check that the {p[0]} is clean.", POWER_STEPS[facts["power"]],
             f"Set the {p[1]} to the first mark.", f"Wait until the {p[2]} starts to move."]
    if len(p) > 3 and rng.random() < 0.5:
        steps.append(f"Adjust the {p[3]} if the work runs slowly.")
    steps.append(f"Stop the machine once you finish {facts['purpose']}.")
    return steps
