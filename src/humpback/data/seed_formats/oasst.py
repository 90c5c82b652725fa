"""Open Assistant conversation trees -> (instruction, output) pairs, as the paper selects its seed set.

Two public shapes are read:
- flat message table (hub `OpenAssistant/oasst1`): one row per message with message_id, parent_id,
  message_tree_id, role, lang, rank, deleted, synthetic, text, ...; the root has parent_id null.
- nested trees: either the tree export (`{"message_tree_id", "tree_state", "prompt": {message with
  "replies": [...]}}`, e.g. 2023-04-12_oasst_ready.trees.jsonl) or a bare root message with nested
  "replies" (the shape of Open-Assistant's model_eval `en_100_message.jsonl`).

Selection (paper: "first turn, English, rank 0"): the root prompter message and its assistant reply with
rank 0, both in `lang`, neither deleted. Synthetic (model-written) messages are left out by default because
the seed set is meant to be human-written; the paper does not mention them. With turns="all", every
prompter message reached from the root through rank-0 assistant replies only is paired with its own rank-0
reply (prompter follow-ups are unranked in OASST, so all of them are followed), and the pair carries the
conversation before it in `history` ([{"role": "user"|"assistant", "text"}]). Each tree or turn that does
not qualify is counted under its reason; malformed records raise DataError naming where they came from.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from humpback.data.records import DataError
from humpback.data.seed_formats.rows import Row, clean_number, require_str

ROLES = ("prompter", "assistant")
# Core columns of the hub's flat table (OpenAssistant/oasst1), in its order.
HUB_COLUMNS = ("message_id", "parent_id", "text", "role", "lang", "review_count", "review_result", "deleted",
               "rank", "synthetic", "model_name", "message_tree_id", "tree_state")
# Fields of a message that are structure, not content, in the nested shapes.
_NESTING = ("replies",)


@dataclass
class Message:
    id: str
    role: str
    text: str
    lang: Optional[str]
    rank: Optional[float]
    deleted: bool
    synthetic: bool
    where: str
    tree_id: str = ""
    tree_state: Optional[str] = None
    children: list["Message"] = field(default_factory=list)


def _parse_message(row: dict[str, Any], where: str) -> Message:
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a message object, got {type(row).__name__}")
    mid = row.get("message_id")
    if not isinstance(mid, str) or not mid:
        raise DataError(f"{where}: missing or non-string 'message_id'")
    where = f"{where} (message {mid})"
    role = require_str(row, "role", where)
    if role not in ROLES:
        raise DataError(f"{where}: role {role!r} is not one of {ROLES}")
    text = require_str(row, "text", where)
    lang = require_str(row, "lang", where, optional=True)
    try:
        rank = clean_number(row.get("rank"))
    except TypeError as e:
        raise DataError(f"{where}: rank should be a number or null, got {e}") from None
    return Message(
        id=mid, role=role, text=text, lang=lang, rank=rank,
        deleted=bool(row.get("deleted") or False), synthetic=bool(row.get("synthetic") or False), where=where,
    )


def _link(parent: Message, child: Message) -> None:
    if child.role == parent.role:
        raise DataError(f"{child.where}: a {child.role} message replies to a {parent.role} message")
    parent.children.append(child)


def parse_flat(rows: Iterable[Row], stats: Counter) -> list[Message]:
    """Roots of a flat message table, with children linked by parent_id."""
    by_id: dict[str, Message] = {}
    parent_of: dict[str, Optional[str]] = {}
    tree_of: dict[str, Any] = {}
    state_of: dict[str, Any] = {}
    for where, row in rows:
        if "replies" in row or "prompt" in row:
            raise DataError(f"{where}: nested tree record in a flat message table; use format=oasst_tree")
        if "parent_id" not in row:
            raise DataError(f"{where}: missing field 'parent_id'")
        msg = _parse_message(row, where)
        if msg.id in by_id:
            raise DataError(f"{msg.where}: duplicate message_id (first seen at {by_id[msg.id].where})")
        parent = row["parent_id"]
        if parent is not None and not isinstance(parent, str):
            raise DataError(f"{msg.where}: parent_id should be a string or null")
        by_id[msg.id], parent_of[msg.id] = msg, parent
        tree_of[msg.id], state_of[msg.id] = row.get("message_tree_id"), row.get("tree_state")
        stats["messages"] += 1
    roots = []
    for mid, msg in by_id.items():
        parent = parent_of[mid]
        if parent is None:
            msg.tree_id = tree_of[mid] or mid
            msg.tree_state = state_of[mid]
            roots.append(msg)
        elif parent in by_id:
            _link(by_id[parent], msg)
        else:
            stats["orphan_messages"] += 1  # parent not in this table (e.g. a filtered subset): unreachable
    return roots


def parse_trees(rows: Iterable[Row], stats: Counter) -> list[Message]:
    """Roots of nested trees (tree export rows, or bare root messages with nested replies)."""
    roots = []
    for where, row in rows:
        if "prompt" in row:
            tree_id, state, root_row = row.get("message_tree_id"), row.get("tree_state"), row["prompt"]
        elif "replies" in row and "message_id" in row:
            tree_id, state, root_row = None, row.get("tree_state"), row
        else:
            raise DataError(f"{where}: neither a tree export row ('prompt') nor a message with 'replies'"
                            " (flat message tables use format=oasst)")
        root = _parse_nested(root_row, where, stats)
        root.tree_id = tree_id if isinstance(tree_id, str) and tree_id else root.id
        root.tree_state = state
        roots.append(root)
    return roots


def _parse_nested(row: Any, where: str, stats: Counter) -> Message:
    msg = _parse_message(row, where)
    stats["messages"] += 1
    replies = row.get("replies") or []
    if not isinstance(replies, list):
        raise DataError(f"{msg.where}: 'replies' should be a list")
    for reply in replies:
        child = _parse_nested(reply, where, stats)
        parent_id = reply.get("parent_id")
        if parent_id is not None and parent_id != msg.id:
            raise DataError(f"{child.where}: parent_id {parent_id!r} but nested under {msg.id!r}")
        _link(msg, child)
    return msg


def select_pairs(
    roots: list[Message], lang: str, turns: str, drop_synthetic: bool, tree_state: Optional[str], excluded: Counter
) -> list[dict[str, Any]]:
    """The paper's pairs (see the module docstring); every tree or turn left out is counted in `excluded`."""
    pairs: list[dict[str, Any]] = []
    for root in roots:
        if root.role != "prompter":
            raise DataError(f"{root.where}: a conversation tree must start with a prompter message")
        if tree_state is not None and root.tree_state is not None and root.tree_state != tree_state:
            excluded["tree_state"] += 1
            continue
        _visit(root, root, [], lang, turns, drop_synthetic, excluded, pairs)
    return pairs


def _why_unusable(msg: Message, side: str, lang: str, drop_synthetic: bool) -> Optional[str]:
    if msg.deleted:
        return f"{side}_deleted"
    if msg.lang != lang:
        return f"{side}_lang"
    if drop_synthetic and msg.synthetic:
        return f"{side}_synthetic"
    if not msg.text.strip():
        return f"{side}_empty_text"
    return None


def _visit(prompt, root, history, lang, turns, drop_synthetic, excluded, pairs) -> None:
    reason = _why_unusable(prompt, "prompt", lang, drop_synthetic)
    if reason:
        excluded[reason] += 1
        return
    best = [c for c in prompt.children if c.rank == 0]
    if len(best) > 1:
        raise DataError(f"{prompt.where}: {len(best)} replies share rank 0")
    if not best:
        excluded["no_rank0_reply"] += 1
        return
    reply = best[0]
    reason = _why_unusable(reply, "reply", lang, drop_synthetic)
    if reason:
        excluded[reason] += 1
        return
    pair = {"id": reply.id, "instruction": prompt.text, "output": reply.text, "source": "oasst",
            "tree_id": root.tree_id, "prompt_id": prompt.id}
    if turns == "all":
        pair["turn"] = len(history) // 2
        pair["history"] = list(history)
    pairs.append(pair)
    if turns == "all":
        so_far = history + [{"role": "user", "text": prompt.text}, {"role": "assistant", "text": reply.text}]
        for follow_up in reply.children:
            _visit(follow_up, root, so_far, lang, turns, drop_synthetic, excluded, pairs)


def flatten_oasst_trees(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nested trees (either nested shape) -> the hub's flat message table: one row per message, pre-order,
    with parent_id, message_tree_id and tree_state filled in and 'replies' removed. Every row gets the same
    columns (absent ones None, e.g. the root's rank), as a table needs."""
    flat: list[dict[str, Any]] = []
    for row in rows:
        root = row["prompt"] if "prompt" in row else row
        tree_id = row.get("message_tree_id") or root["message_id"]
        state = row.get("tree_state")
        stack: list[tuple[dict[str, Any], Optional[str]]] = [(root, None)]
        while stack:
            msg, parent_id = stack.pop()
            out = {k: v for k, v in msg.items() if k not in _NESTING}
            out.update(parent_id=parent_id, message_tree_id=tree_id, tree_state=state)
            flat.append(out)
            stack.extend((child, msg["message_id"]) for child in reversed(msg.get("replies") or []))
    columns = list(dict.fromkeys(HUB_COLUMNS + tuple(k for r in flat for k in r)))
    return [{k: r.get(k) for k in columns} for r in flat]
