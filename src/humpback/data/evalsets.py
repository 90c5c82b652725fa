"""Evaluation prompt sets in their public formats -> AlpacaEval-shaped records.

Each record: {id, instruction, output (reference output or None), generator, dataset, split ("dev"/"test"),
...other fields of the row}. Formats:
- alpaca_eval: rows {instruction, output = reference (AlpacaEval 1: text-davinci-003), generator, dataset}.
- prompts: plain prompt sets; the prompt field is auto-detected on the first row: `turns` (Vicuna bench,
  MT-bench: first turn), `conversations` (LIMA test: first turn), `instruction` (+ `instances` for the
  Self-Instruct user-oriented set, whose human-written instance output becomes the reference, or + `input`
  Alpaca-style), `prompt` (Koala), `text`, `question`. A multi-turn list stays in the record (MT-bench turn 2),
  and MT-bench's judge `reference` answers stay as they are: they are not pairwise reference outputs. Reference outputs can come from `reference_path`
  (AlpacaEval-shaped or any {instruction, output} JSONL), matched on the exact instruction text.
- toyworld: rows {instruction, output (optional reference), ...}.
An eval set is never silently shortened: a row without a usable prompt raises DataError naming file:line, and
so does a repeated id or prompt; a set left empty (by the file, the split or the limit) raises too.
Instruction texts are kept verbatim (AlpacaEval's own prompts carry stray whitespace).

Dev/test split: a prompt is in dev when a hash of (split_seed, instruction) falls below dev_fraction, so
the split is disjoint, covers everything, and does not depend on row order or on the other rows; equal
instructions always land together. The paper's 7B ablations used a ~250-prompt dev set of the 805.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from humpback.data.records import DataError
from humpback.data.seed_formats.rows import Row, iter_rows, require_str
from humpback.data.seed_formats.simple import join_instruction_input

log = logging.getLogger(__name__)

FORMATS = ("alpaca_eval", "prompts", "toyworld")
SPLITS = ("all", "dev", "test")
# Auto-detected prompt fields of plain prompt sets, in order of preference.
PROMPT_FIELDS = ("turns", "conversations", "instruction", "prompt", "text", "question")


@dataclass
class EvalSetConfig:
    format: str = "alpaca_eval"  # alpaca_eval (instruction, output=reference, generator, dataset) | prompts (plain prompt sets) | toyworld
    path: Optional[str] = None  # local .jsonl/.jsonl.gz/.json/.parquet, or a hub "owner/name" (needs network)
    hub_split: str = "eval"  # split name when path is a hub dataset
    name: Optional[str] = None  # `dataset` label for rows without one; None = the file's stem
    prompt_field: Optional[str] = None  # prompts: field holding the prompt (a list -> its first element); None = auto-detect
    reference_path: Optional[str] = None  # reference outputs {instruction, output[, generator]} matched by instruction text
    split: str = "all"  # all | dev | test (hash of the instruction, see the module docstring)
    dev_fraction: float = 0.31  # share of prompts in dev: about 250 of AlpacaEval's 805 (paper's 7B ablation dev set; its exact membership is unreported)
    split_seed: int = 0  # salt of the split hash; change it for a different dev set
    limit: Optional[int] = None  # keep the first N records (file order) after the split; None = all


def split_of(instruction: str, dev_fraction: float, split_seed: int = 0) -> str:
    """'dev' or 'test' for one prompt; depends only on its text, the fraction and the salt."""
    digest = hashlib.sha256(f"{split_seed}\x00{instruction}".encode("utf-8")).digest()
    return "dev" if int.from_bytes(digest[:8], "big") / 2.0**64 < dev_fraction else "test"


def load_eval_set(cfg: EvalSetConfig) -> list[dict[str, Any]]:
    return load_eval_set_with_stats(cfg)[0]


def load_eval_set_with_stats(cfg: EvalSetConfig) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    if cfg.format not in FORMATS:
        raise ValueError(f"eval.format {cfg.format!r} is not one of {FORMATS}")
    if cfg.split not in SPLITS:
        raise ValueError(f"eval.split {cfg.split!r} is not one of {SPLITS}")
    if not 0.0 <= cfg.dev_fraction <= 1.0:
        raise ValueError(f"eval.dev_fraction must be in [0, 1], got {cfg.dev_fraction}")
    if cfg.path is None:
        raise ValueError("eval.path is required")
    name = cfg.name or _stem(cfg.path)
    rows = iter_rows(cfg.path, cfg.hub_split)
    if cfg.format == "alpaca_eval":
        located = [(where, _alpaca_eval_record(where, row, name, i)) for i, (where, row) in enumerate(rows, 1)]
    elif cfg.format == "toyworld":
        located = [(where, _toyworld_record(where, row, name, i)) for i, (where, row) in enumerate(rows, 1)]
    else:
        located = _prompt_records(rows, name, cfg.prompt_field)
    _check_unique(located)
    records = [r for _, r in located]

    stats: dict[str, Any] = {"format": cfg.format, "path": cfg.path, "dataset": name, "rows": len(records)}
    if cfg.reference_path:
        stats.update(_attach_references(records, cfg.reference_path, cfg.hub_split))
    for r in records:
        r["split"] = split_of(r["instruction"], cfg.dev_fraction, cfg.split_seed)
    counts = Counter(r["split"] for r in records)
    stats.update(dev=counts["dev"], test=counts["test"], with_reference=sum(r["output"] is not None for r in records))
    if cfg.split != "all":
        records = [r for r in records if r["split"] == cfg.split]
    if cfg.limit is not None:
        records = records[: cfg.limit]
    if not records:  # a win rate over no prompts is undefined: say so here, not as NaN at the end
        chosen = "" if cfg.split == "all" else f" in split {cfg.split!r} (dev_fraction {cfg.dev_fraction})"
        raise DataError(f"{cfg.path}: no eval prompts{chosen}; {stats['rows']} rows read")
    stats.update(split=cfg.split, returned=len(records))
    log.info("eval set: %s", stats)
    return records, stats


def _stem(path: str) -> str:
    p = Path(path)
    return p.name.split(".")[0] if p.suffix else path


def _record(where: str, row: dict[str, Any], instruction: str, output: Optional[str], generator: Optional[str],
            dataset: str, rid: str, consumed: tuple[str, ...]) -> dict[str, Any]:
    if not instruction.strip():
        raise DataError(f"{where}: empty instruction")
    rec = {k: v for k, v in row.items() if k not in consumed}
    rec.update(id=rid, instruction=instruction, output=output, generator=generator, dataset=dataset)
    return rec


def _row_id(row: dict[str, Any], where: str, dataset: str, name: str, position: int) -> str:
    """The row's own id (`id`, or `question_id` prefixed by the dataset), else `{name}-{position}` (1-based
    row position: AlpacaEval rows have no id). Ids only name records; the split never uses them."""
    for key in ("id", "question_id"):
        if key in row:
            value = row[key]
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise DataError(f"{where}: field {key!r} should be a string or integer")
            return str(value) if key == "id" else f"{dataset}-{value}"
    return f"{name}-{position}"


def _alpaca_eval_record(where: str, row: dict[str, Any], name: str, position: int) -> dict[str, Any]:
    instruction = require_str(row, "instruction", where)
    output = require_str(row, "output", where)
    generator = require_str(row, "generator", where, optional=True)
    dataset = require_str(row, "dataset", where, optional=True) or name
    rid = _row_id(row, where, dataset, name, position)
    return _record(where, row, instruction, output, generator, dataset, rid, ("instruction", "output"))


def _toyworld_record(where: str, row: dict[str, Any], name: str, position: int) -> dict[str, Any]:
    instruction = require_str(row, "instruction", where)
    output = require_str(row, "output", where, optional=True)
    generator = require_str(row, "generator", where, optional=True) or ("reference" if output is not None else None)
    dataset = require_str(row, "dataset", where, optional=True) or name
    rid = _row_id(row, where, dataset, name, position)
    return _record(where, row, instruction, output, generator, dataset, rid, ("instruction", "output"))


def _prompt_records(rows: Iterable[Row], name: str, prompt_field: Optional[str]) -> list[tuple[str, dict[str, Any]]]:
    records: list[tuple[str, dict[str, Any]]] = []
    field = prompt_field
    for position, (where, row) in enumerate(rows, 1):
        if field is None:
            field = next((f for f in PROMPT_FIELDS if f in row), None)
            if field is None:
                raise DataError(f"{where}: no prompt field found (looked for {PROMPT_FIELDS}); set prompt_field")
        if field not in row:
            raise DataError(f"{where}: missing prompt field {field!r}")
        dataset = require_str(row, "dataset", where, optional=True) or name
        rid = _row_id(row, where, dataset, name, position)
        if field == "instruction" and "instances" in row:
            records.extend(_self_instruct_records(where, row, dataset, rid))
            continue
        value = row[field]
        consumed: tuple[str, ...] = (field,)
        if isinstance(value, list):
            if not value or not isinstance(value[0], str):
                raise DataError(f"{where}: {field!r} should be a non-empty list of strings")
            prompt = value[0]
            if len(value) > 1:
                consumed = ()  # later turns (MT-bench turn 2) stay available under the same field
        elif isinstance(value, str):
            prompt = value
        else:
            raise DataError(f"{where}: {field!r} should be a string or a list of strings")
        if field == "instruction" and "input" in row:
            prompt = join_instruction_input(prompt, require_str(row, "input", where, optional=True))
            consumed += ("input",)
        output = require_str(row, "output", where, optional=True)
        generator = "reference" if output is not None else None
        records.append((where, _record(where, row, prompt, output, generator, dataset, rid, consumed + ("output",))))
    return records


def _self_instruct_records(where: str, row: dict[str, Any], dataset: str, rid: str) -> list[tuple[str, dict[str, Any]]]:
    """Self-Instruct tasks: instruction + instance input (blank line between, as AlpacaEval does); the
    human-written instance output is the reference. One record per instance."""
    instruction = require_str(row, "instruction", where)
    instances = row["instances"]
    if not isinstance(instances, list) or not instances:
        raise DataError(f"{where}: 'instances' should be a non-empty list")
    records = []
    for k, inst in enumerate(instances):
        at = f"{where} instance {k}"
        if not isinstance(inst, dict):
            raise DataError(f"{at}: expected an object with input and output")
        prompt = join_instruction_input(instruction, require_str(inst, "input", at, optional=True))
        output = require_str(inst, "output", at)
        inst_id = rid if len(instances) == 1 else f"{rid}-{k}"
        records.append((at, _record(at, row, prompt, output, "human", dataset, inst_id, ("instruction", "instances"))))
    return records


def _attach_references(records: list[dict[str, Any]], path: str, hub_split: str) -> dict[str, int]:
    """Fill `output`/`generator` from a reference file, matched on the instruction text (exact, then with
    surrounding whitespace stripped). Unmatched records keep what they had."""
    exact: dict[str, tuple[str, str, str]] = {}
    loose: dict[str, Optional[tuple[str, str, str]]] = {}  # stripped text; None where two references clash
    for where, row in iter_rows(path, hub_split):
        instruction = require_str(row, "instruction", where)
        ref = (require_str(row, "output", where), require_str(row, "generator", where, optional=True) or "reference", where)
        prev = exact.get(instruction)
        if prev is not None and prev[0] != ref[0]:
            raise DataError(f"{where}: instruction also at {prev[2]} with a different output")
        exact[instruction] = ref
        key = instruction.strip()
        loose[key] = ref if key not in loose or (loose[key] or ("",))[0] == ref[0] else None
    matched = 0
    for r in records:
        hit = exact.get(r["instruction"]) or loose.get(r["instruction"].strip())
        if hit is not None:
            r["output"], r["generator"] = hit[0], hit[1]
            matched += 1
    if matched < len(records):
        log.warning("eval set: %d of %d prompts have no reference in %s", len(records) - matched, len(records), path)
    return {"references_matched": matched, "references_missing": len(records) - matched}


def _check_unique(located: list[tuple[str, dict[str, Any]]]) -> None:
    """Ids name records, and a prompt asked twice would count twice in every win rate: both are errors."""
    seen: dict[tuple[str, str], str] = {}
    for where, r in located:
        for what, value in (("id", r["id"]), ("instruction", r["instruction"])):
            if (what, value) in seen:
                shown = value if what == "id" else value[:60] + ("..." if len(value) > 60 else "")
                raise DataError(f"{where}: {what} {shown!r} appears twice (also at {seen[what, value]})")
            seen[what, value] = where
