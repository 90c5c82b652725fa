"""Seed pairs from row-per-example formats: LIMA conversations, Alpaca records, generic JSONL.

Malformed rows (missing field, wrong type) raise DataError naming file:line; rows that are well formed but
unusable (empty instruction or output, a conversation without a reply) are counted in `excluded`.
Texts are kept verbatim; only emptiness is judged on stripped text.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Optional

from humpback.data.records import DataError
from humpback.data.seed_formats.rows import Row, content_id, require_str

ROLE_OF_TURN = ("user", "assistant")


def lima_pairs(rows: Iterable[Row], turns: str, excluded: Counter) -> list[dict[str, Any]]:
    """LIMA rows {"conversations": [user, assistant, user, ...], "source"}: turns 0/1 are the pair; with
    turns="all" every user turn is paired with the reply after it (history = the turns before)."""
    pairs = []
    for where, row in rows:
        conv = row.get("conversations")
        if not isinstance(conv, list) or not all(isinstance(t, str) for t in conv):
            raise DataError(f"{where}: 'conversations' should be a list of strings")
        origin = row.get("source")
        if len(conv) < 2:
            excluded["no_reply"] += 1
            continue
        conv_id = content_id("lima", *conv)
        last = len(conv) - 1 if turns == "all" else 1
        if turns == "all" and len(conv) % 2:
            excluded["unpaired_last_turn"] += 1  # a user turn with no reply after it
        for k in range(0, last, 2):
            instruction, output = conv[k], conv[k + 1]
            if not instruction.strip() or not output.strip():
                excluded["empty_text"] += 1
                continue
            pair = {"id": f"{conv_id}-t{k // 2}", "instruction": instruction, "output": output, "source": "lima"}
            if isinstance(origin, str) and origin:
                pair["lima_source"] = origin
            if turns == "all":
                pair["turn"] = k // 2
                pair["history"] = [{"role": ROLE_OF_TURN[j % 2], "text": conv[j]} for j in range(k)]
            pairs.append(pair)
    return pairs


def join_instruction_input(instruction: str, input_text: Optional[str]) -> str:
    """Alpaca / Self-Instruct convention: the input follows the instruction after a blank line
    (this reproduces AlpacaEval's self-instruct prompts exactly)."""
    return f"{instruction}\n\n{input_text}" if input_text and input_text.strip() else instruction


def field_pairs(
    rows: Iterable[Row],
    source: str,
    instruction_field: str,
    output_field: str,
    input_field: Optional[str],
    keep_extra: bool,
    excluded: Counter,
) -> list[dict[str, Any]]:
    """Rows with an instruction, an output and an optional input field (Alpaca, generic JSONL, toyworld).
    The row's own `id` is kept when present, else the id is derived from the content; with keep_extra the
    row's other fields travel along (a row's own `source` wins over the format name)."""
    pairs = []
    mapped = {instruction_field, output_field, input_field}
    for where, row in rows:
        instruction = require_str(row, instruction_field, where)
        output = require_str(row, output_field, where)
        input_text = require_str(row, input_field, where, optional=True) if input_field else None
        if not instruction.strip():
            excluded["empty_instruction"] += 1
            continue
        if not output.strip():
            excluded["empty_output"] += 1
            continue
        prompt = join_instruction_input(instruction, input_text)
        own_id = row.get("id")
        if own_id is not None and not isinstance(own_id, (str, int)):
            raise DataError(f"{where}: field 'id' should be a string or integer")
        pair: dict[str, Any] = {}
        if keep_extra:
            pair.update((k, v) for k, v in row.items() if k not in mapped)
        pair.update(
            id=str(own_id) if own_id is not None else content_id(source, prompt, output),
            instruction=prompt,
            output=output,
            source=row["source"] if keep_extra and isinstance(row.get("source"), str) else source,
        )
        pairs.append(pair)
    return pairs
