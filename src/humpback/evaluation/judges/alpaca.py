"""AlpacaEval's own annotators (judge.annotator=<name>), read at run time from the installed alpaca-eval
package (the `alpaca` extra), so a humpback judge asks and reads exactly as the public leaderboard does.

Each annotator is `evaluators_configs/<name>/configs.yaml` plus the prompt file it names. We follow it:
- the prompt: a ChatML template; {instruction}, {output_1}, {output_2} are filled (once each, batch_size 1);
- the request: completions_kwargs (model_name, max_tokens, temperature, logprobs/top_logprobs, tools and
  tool_choice for the function-calling annotators, whose reply is the first tool call's arguments);
- the reply: fn_completion_parser with completion_parser_kwargs (regex_parser is AlpacaEval's default),
  written here from the configs' documented semantics: ranking, json, regex, logprob and pipeline parsers;
- the output order: is_randomize_output_order (default true) with AlpacaEval's coin, seeded by the
  instruction and judge.order_seed (AlpacaEval's seed is 0, as is ours by default), so each pair is shown
  in the order the leaderboard showed it; the preference is mapped back (3 - p) by judging.annotate.

alpaca_eval itself is never imported: its import needs pkg_resources (setuptools < 81), and we only read
its files. Annotators this judge cannot run (other providers, completion-style prompts, batched prompts,
logit biases, ...) are reported with the reason instead of being approximated.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import json
import math
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from humpback.evaluation.judges.prompted import ChatParams, ChatReply, HumpbackAnnotator

PACKAGE = "alpaca_eval"
INSTALL_HINT = "pip install -e '.[alpaca]'"
HUMPBACK = HumpbackAnnotator.name  # judge.annotator for our own wording (judges/prompts.py)
SLOTS = ("instruction", "output_1", "output_2")
_PLACEHOLDER = re.compile(r"{([^ \s]+?)}")  # what AlpacaEval counts as a placeholder (so "{\n" in its prompts is text)
_SLOT = re.compile(r"\{(instruction|output_1|output_2)\}")
# completions_kwargs we send as they are (model_name becomes the model), and those that only say where
# or at what price AlpacaEval serves the judge (ours are judge.base_url and judge.price_per_1k_*).
_REQUEST_KEYS = {"model_name", "max_tokens", "temperature", "logprobs", "top_logprobs", "tools", "tool_choice", "requires_chatml"}
_OPERATIONAL_KEYS = {"price_per_token", "client_kwargs"}
_PROCESSORS = {"ChainOfThoughtProcessor"}  # only copies the explanation into extra columns: no effect on the preference


class AnnotatorError(ValueError):
    """judge.annotator names nothing this machine can run; the message is one line for the user."""


# ---------------------------------------------------------------- parsers (AlpacaEval's semantics, our code)
# Each takes a completion and returns the list of annotations it holds (one per batched example); any
# exception means "no usable annotation", as in AlpacaEval.

def _ranking_parser(completion: Any, model_1_name: str = "model_1") -> list[Any]:
    """The rank (1 or 2) of the entry named model_1_name in a ranking list (a Python literal or parsed JSON)."""
    ranking = ast.literal_eval(completion) if isinstance(completion, str) else completion
    rank = [entry for entry in ranking if entry["model"] == model_1_name][0]["rank"]
    if isinstance(rank, bool) or rank not in (1, 2):
        raise ValueError(f"rank {rank!r} is neither 1 nor 2")
    return [rank]


def _json_parser(completion: str, annotation_key: Optional[str]) -> list[Any]:
    """JSON (optionally inside a ```json fence); the annotation_key of the object, or of each object of a list."""
    if "```json" in completion:
        fenced = re.search(r"```json(.*?)```", completion, re.DOTALL)
        if fenced is None:
            raise ValueError("unclosed ```json fence")
        completion = fenced.group(1)
    loaded = json.loads(completion)
    pick = (lambda d: d[annotation_key]) if annotation_key is not None else (lambda d: d)
    return [pick(loaded)] if isinstance(loaded, dict) else [pick(d) for d in loaded]


def _regex_parser(completion: str, outputs_to_match: dict[Any, str]) -> list[Any]:
    """The keys of outputs_to_match in the order their patterns match, each match consumed before the next."""
    patterns = {key: re.compile(p) for key, p in outputs_to_match.items()}  # re caches compiled patterns
    found = []
    while True:
        hits = [(m.start(), m.end(), key) for key, pattern in patterns.items() if (m := pattern.search(completion))]
        if not hits:
            return found
        _, end, key = min(hits, key=lambda h: h[0])  # the earliest match; ties go to the first key
        found.append(key)
        completion = completion[end:]


TEXT_PARSERS: dict[str, Callable[..., list[Any]]] = {"ranking_parser": _ranking_parser, "json_parser": _json_parser,
                                                     "regex_parser": _regex_parser}


def _pipeline(completion: Any, steps: list[tuple[str, dict[str, Any]]], depth: int = 0) -> list[Any] | Any:
    """pipeline_meta_parser: the first parser's annotations, each fed to the rest; singletons below the top are unwrapped."""
    (name, kwargs), rest = steps[0], steps[1:]
    out = TEXT_PARSERS[name](completion, **kwargs)
    if rest:
        out = [_pipeline(o, rest, depth + 1) for o in out]
    return out[0] if depth and len(out) == 1 else out


def _logprob_preference(top: Optional[list[tuple[str, float]]], numerator_token: str, denominator_tokens: list[str],
                        is_binarize: bool = True) -> Optional[float]:
    """logprob_parser on the first token's alternatives (tokens matched exactly): 2 - P(num) / P(denominators),
    or with is_binarize 1 when the numerator beats every other denominator token, else 2."""
    wanted = set(denominator_tokens) | {numerator_token}
    found = {token: lp for token, lp in top or () if token in wanted}
    if not found:
        return None
    num = found.get(numerator_token, -math.inf)
    if is_binarize:
        return 1.0 if all(num > found.get(t, -math.inf) for t in denominator_tokens if t != numerator_token) else 2.0
    dens = [found[t] for t in denominator_tokens if t in found]
    if not dens:
        return None
    top_lp = max(dens)
    log_den = top_lp + math.log(sum(math.exp(lp - top_lp) for lp in dens))
    return 2.0 - math.exp(num - log_den)


def _preference(value: Any) -> Optional[float]:
    """A parsed annotation as AlpacaEval's preference (a number in [1, 2]), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 2:
        return None
    return float(value)


# ---------------------------------------------------------------- the annotator


@dataclass(frozen=True)
class AlpacaEvalAnnotator:
    name: str
    version: str  # of the installed alpaca-eval
    config: dict[str, Any]  # its configs.yaml entry, as shipped
    template: str  # the prompt file's text
    digest: str  # sha256 of config and prompt: the judge key changes when an alpaca-eval upgrade changes either

    @property
    def kwargs(self) -> dict[str, Any]:
        return self.config.get("completions_kwargs") or {}

    @property
    def model(self) -> str:
        return self.kwargs["model_name"]

    @property
    def parser(self) -> str:
        return self.config.get("fn_completion_parser") or "regex_parser"

    @property
    def parser_kwargs(self) -> dict[str, Any]:
        return self.config.get("completion_parser_kwargs") or {}

    @property
    def randomize_order(self) -> bool:
        return bool(self.config.get("is_randomize_output_order", True))

    @property
    def params(self) -> ChatParams:
        kw = self.kwargs
        tools = {k: kw[k] for k in ("tools", "tool_choice") if k in kw}
        return ChatParams(max_tokens=int(kw["max_tokens"]), temperature=float(kw["temperature"]),
                          top_logprobs=int(kw.get("top_logprobs", 0)) if kw.get("logprobs") else 0, extra=tools)

    def messages(self, instruction: str, output_1: str, output_2: str) -> list[dict[str, str]]:
        """The template as chat messages, then the slots filled in one pass: a text that holds "{output_1}"
        or "<|im_start|>" stays text (AlpacaEval fills first and would read either as template)."""
        slots = {"instruction": instruction, "output_1": output_1, "output_2": output_2}
        return [{**m, "content": _SLOT.sub(lambda s: slots[s.group(1)], m["content"])} for m in chatml_messages(self.template)]

    def parse(self, reply: ChatReply) -> tuple[Optional[float], Any]:
        """(preference in the presented order or None, the raw completion to keep)."""
        kw = self.parser_kwargs
        if self.parser == "logprob_parser":
            raw = {"text": reply.text, "top_logprobs": [[t, lp] for t, lp in reply.top_logprobs or []]}
            return _preference(_logprob_preference(reply.top_logprobs, kw["numerator_token"], list(kw["denominator_tokens"]),
                                                   kw.get("is_binarize", True))), raw
        if not reply.text:
            return None, reply.text
        try:
            if self.parser == "pipeline_meta_parser":
                found = _pipeline(reply.text, [(n, k or {}) for n, k in kw["parsers_to_kwargs"].items()])
            else:
                found = TEXT_PARSERS[self.parser](reply.text, **kw)
        except Exception:  # noqa: BLE001 - AlpacaEval's rule: a reply its parser cannot read has no annotation
            return None, reply.text
        return (_preference(found[0]) if len(found) == 1 else None), reply.text  # batch_size 1: exactly one annotation

    def swap(self, instruction: str, order_seed: int) -> bool:
        """AlpacaEval's coin (RandomSwitchTwoColumnsProcessor): the same order as on the leaderboard."""
        if not self.randomize_order:
            return False
        return random.Random(f"is_switched_outputs{instruction}{order_seed}").choices([False, True], k=1)[0]

    def describe(self) -> str:
        kw = self.kwargs
        decoding = ", ".join(f"{k}={kw[k]}" for k in ("max_tokens", "temperature", "top_logprobs") if k in kw)
        tools = ", answers by tool call" if "tools" in kw else ""
        order = "outputs in AlpacaEval's random order" if self.randomize_order else "outputs in fixed order"
        served = (kw.get("client_kwargs") or {}).get("base_url")
        where = f"; AlpacaEval serves it at {served}, set judge.base_url" if served else ""
        return (f"AlpacaEval annotator {self.name} (alpaca-eval {self.version}, config {self.digest[:12]}): {self.parser}, "
                f"{decoding}{tools}, {order}{where}")


def chatml_messages(prompt: str) -> list[dict[str, str]]:
    """A ChatML prompt (<|im_start|>role\\ncontent<|im_end|> ...) as chat messages; "system name=x" keeps the name."""
    messages = []
    for part in prompt.strip().split("<|im_start|>")[1:]:
        head, _, body = part.partition("\n")
        role, *params = head.split()
        message = {"role": role, "content": body.split("<|im_end|>", 1)[0].strip()}
        message.update(p.split("=", 1) for p in params if "=" in p)
        messages.append(message)
    return messages


# ---------------------------------------------------------------- finding them in the installed package


def configs_dir() -> Optional[Path]:
    """alpaca_eval/evaluators_configs of the installed package, found without importing it; None without the extra."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        if (Path(location) / "evaluators_configs").is_dir():
            return Path(location) / "evaluators_configs"
    return None


def _unsupported(cfg: dict[str, Any], template: Optional[str]) -> Optional[str]:
    """Why humpback's judge cannot follow this config, or None when it can."""
    kw = cfg.get("completions_kwargs") or {}
    parser = cfg.get("fn_completion_parser") or "regex_parser"
    pkw = cfg.get("completion_parser_kwargs") or {}
    if cfg.get("fn_completions") != "openai_completions":
        return f"it calls {cfg.get('fn_completions')}, and humpback's judge speaks the OpenAI chat API"
    if (cfg.get("batch_size") or 1) != 1:
        return f"it batches {cfg.get('batch_size')} examples per prompt"
    if template is None:
        return f"its prompt file {cfg.get('prompt_template')} is missing"
    if not (template.strip().startswith("<|im_start|>") and kw.get("requires_chatml", True)):
        return "its prompt is completion-style, not chat"
    placeholders = _PLACEHOLDER.findall(template)
    if sorted(placeholders) != sorted(SLOTS):
        return f"its prompt has placeholders {placeholders}, not one each of {list(SLOTS)}"
    unknown = set(kw) - _REQUEST_KEYS - _OPERATIONAL_KEYS
    if unknown:
        return f"it needs completions_kwargs {sorted(unknown)}"
    if "model_name" not in kw or "max_tokens" not in kw or "temperature" not in kw:
        return "its completions_kwargs lack model_name, max_tokens or temperature"
    extra_processors = set(cfg.get("processors_to_kwargs") or {}) - _PROCESSORS
    if extra_processors:
        return f"it needs processors {sorted(extra_processors)}"
    if parser == "logprob_parser":
        if not (kw.get("logprobs") and kw.get("top_logprobs")):
            return "logprob_parser without logprobs/top_logprobs in completions_kwargs"
        if pkw.get("log_prob_index", "batch") != "batch":
            return f"log_prob_index={pkw['log_prob_index']} reads a later token's logprobs (we read the first)"
    elif parser == "pipeline_meta_parser":
        steps = list((pkw.get("parsers_to_kwargs") or {}))
        if not steps or set(steps) - set(TEXT_PARSERS):
            return f"pipeline_meta_parser over {steps}"
    elif parser not in TEXT_PARSERS:
        return f"it parses with {parser}"
    elif parser == "regex_parser" and not pkw.get("outputs_to_match"):
        return "regex_parser without outputs_to_match"
    return None


@lru_cache(maxsize=None)
def _shipped() -> tuple[str, dict[str, AlpacaEvalAnnotator], dict[str, str]]:
    """(version, runnable annotators by name, unsupported ones with the reason) of the installed alpaca-eval."""
    root = configs_dir()
    if root is None:
        return "", {}, {}
    version = importlib.metadata.version("alpaca_eval")
    ok: dict[str, AlpacaEvalAnnotator] = {}
    skipped: dict[str, str] = {}
    for path in sorted(root.glob("*/configs.yaml")):
        name = path.parent.name
        entry = (yaml.safe_load(path.read_text()) or {}).get(name)
        if not isinstance(entry, dict):  # e.g. alpaca_farm: a pool of differently named annotators
            skipped[name] = "its configs.yaml holds a pool of annotators, not one named after it"
            continue
        prompt = root / str(entry.get("prompt_template", ""))
        template = prompt.read_text() if entry.get("prompt_template") and prompt.is_file() else None
        reason = _unsupported(entry, template)
        if reason:
            skipped[name] = reason
            continue
        digest = hashlib.sha256(json.dumps([entry, template], sort_keys=True, default=str).encode()).hexdigest()
        ok[name] = AlpacaEvalAnnotator(name, version, entry, template, digest)
    return version, ok, skipped


def available() -> list[str]:
    """Every judge.annotator this machine can run: humpback, then the installed AlpacaEval annotators we support."""
    return [HUMPBACK, *_shipped()[1]]


def load_annotator(name: str) -> AlpacaEvalAnnotator:
    """The installed AlpacaEval annotator `name`, or AnnotatorError saying what to choose instead."""
    version, ok, skipped = _shipped()
    if name in ok:
        return ok[name]
    choose = f"choose one of {', '.join(available())}"
    if not version:
        raise AnnotatorError(f"judge.annotator={name!r} needs the alpaca-eval package, which is not installed "
                             f"({INSTALL_HINT}); without it {choose}")
    if name in skipped:
        raise AnnotatorError(f"judge.annotator={name!r}: alpaca-eval {version} ships it but humpback cannot follow it "
                             f"({skipped[name]}); {choose}")
    raise AnnotatorError(f"judge.annotator={name!r} is no annotator of alpaca-eval {version}; {choose}")


def annotator_problem(name: Optional[str], kind: Optional[str]) -> Optional[str]:
    """config validation of judge.annotator (humpback/validate.py): one line naming the key, or None."""
    if name == HUMPBACK:
        return None
    if kind not in ("api", "hf"):
        return f"judge.annotator={name!r} is for prompted judges (judge=api or judge=hf), not judge.kind={kind}"
    try:
        annotator = load_annotator(str(name))
    except AnnotatorError as err:
        return str(err)
    if kind == "hf" and annotator.params.extra:
        return f"judge.annotator={name!r} answers through a tool call, which judge.kind=hf cannot make: use judge=api"
    return None
