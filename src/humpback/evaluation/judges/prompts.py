"""Judge prompts in AlpacaEval's two formats (our own wording, AlpacaEval's reply formats).

- ranking (AlpacaEval 1): the outputs are labelled model_1 / model_2 and the judge replies with a Python
  list ranking them, e.g. [{'model': 'model_2', 'rank': 1}, {'model': 'model_1', 'rank': 2}];
  preference = the rank of model_1 (1 = output_1 better, 2 = output_2 better).
- logprob (AlpacaEval 2, weighted): the outputs are labelled m / M and the judge answers with one token;
  preference = 1 + P(M) / (P(m) + P(M)) from the first token's top log-probabilities.

Both parsers are strict: anything else is None (a counted failure), never a guess.
"""

from __future__ import annotations

import ast
import hashlib
import math
import re
from typing import Iterable, Optional

FORMATS = ("ranking", "logprob")

RANKING_SYSTEM = "You are a careful assistant who ranks AI models by how well they answered an instruction."

RANKING_USER = """We keep a leaderboard of AI assistants. Below is one instruction and the answers of two models. Rank the two models by the quality of their answers, the way a thoughtful person would: helpful, accurate, complete and clear answers rank higher.

## Instruction

{instruction}

## Answers

### model_1

{output_1}

### model_2

{output_2}

## Reply format

Reply with a Python list of two dictionaries and nothing else, the better model first. Either
[{'model': 'model_1', 'rank': 1}, {'model': 'model_2', 'rank': 2}]
or
[{'model': 'model_2', 'rank': 1}, {'model': 'model_1', 'rank': 2}]"""

LOGPROB_SYSTEM = ("You are a quick and careful assistant who picks the better of two AI answers to an instruction. "
                  "Your choices build a leaderboard that should match what people prefer.")

LOGPROB_USER = """Two AI models answered the instruction below. Decide which answer a thoughtful person would prefer: helpful, accurate, complete and clear.

## Instruction

{instruction}

## Answers

### Model m

{output_1}

### Model M

{output_2}

## Reply format

Answer with the identifier of the better model and nothing else: the single letter m or the single letter M (case matters)."""

LABEL_1, LABEL_2 = "m", "M"  # logprob format: output_1 is model m, output_2 is model M
_SLOT = re.compile(r"\{(instruction|output_1|output_2)\}")


def _fill(template: str, instruction: str, output_1: str, output_2: str) -> str:
    """One pass over the template, so braces inside the filled texts stay as they are."""
    slots = {"instruction": instruction, "output_1": output_1, "output_2": output_2}
    return _SLOT.sub(lambda m: slots[m.group(1)], template)


def judge_messages(prompt_format: str, instruction: str, output_1: str, output_2: str) -> list[dict[str, str]]:
    """Chat messages asking the judge to compare output_1 with output_2."""
    if prompt_format == "ranking":
        system, user = RANKING_SYSTEM, RANKING_USER
    elif prompt_format == "logprob":
        system, user = LOGPROB_SYSTEM, LOGPROB_USER
    else:
        raise ValueError(f"judge.prompt_format={prompt_format!r}: choose one of {list(FORMATS)}")
    return [{"role": "system", "content": system}, {"role": "user", "content": _fill(user, instruction, output_1, output_2)}]


def template_fingerprint(prompt_format: str) -> str:
    """Changes whenever the wording of a format changes, so cached verdicts of old wording are not reused."""
    texts = {"ranking": (RANKING_SYSTEM, RANKING_USER), "logprob": (LOGPROB_SYSTEM, LOGPROB_USER)}[prompt_format]
    return hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]


_FENCE = re.compile(r"```(?:python|json|py)?\s*(.*?)\s*```", re.S)


def parse_ranking(text: str) -> Optional[float]:
    """The rank of model_1 (1.0 or 2.0) from a reply that is exactly a two-entry ranking list
    (optionally inside one code fence); None for anything else."""
    body = (text or "").strip()
    fenced = _FENCE.fullmatch(body)
    if fenced:
        body = fenced.group(1)
    try:
        value = ast.literal_eval(body)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    ranks = {}
    for entry in value:
        if not isinstance(entry, dict) or set(entry) != {"model", "rank"}:
            return None
        rank = entry["rank"]
        if isinstance(rank, bool) or not isinstance(rank, int):
            return None
        ranks[entry["model"]] = rank
    if set(ranks) != {"model_1", "model_2"} or sorted(ranks.values()) != [1, 2]:
        return None
    return float(ranks["model_1"])


def preference_from_top_logprobs(top: Optional[Iterable[tuple[str, float]]]) -> Optional[float]:
    """1 + P(M) / (P(m) + P(M)) over the first token's alternatives (tokens compared after stripping
    whitespace, so " M" counts as M); None when neither label is among them."""
    p1 = p2 = 0.0
    for token, logprob in top or ():
        label = token.strip()
        if label == LABEL_1:
            p1 += math.exp(logprob)
        elif label == LABEL_2:
            p2 += math.exp(logprob)
    if p1 + p2 <= 0.0:
        return None
    return 1.0 + p2 / (p1 + p2)
