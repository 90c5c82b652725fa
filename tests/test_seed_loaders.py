"""Seed loaders on the real public formats (shared data) and on small crafted files."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from humpback.data.records import DataError, read_jsonl, write_jsonl
from humpback.data.seed import SeedConfig, load_seed, load_seed_with_stats
from humpback.data.seed_formats.oasst import flatten_oasst_trees


# ---------------------------------------------------------------- helpers

def _walk(msg: dict, parent: dict | None = None):
    """(message, parent) for a nested message and all its replies, read straight from the raw file."""
    yield msg, parent
    for reply in msg.get("replies") or []:
        yield from _walk(reply, msg)


def _raw_roots(path: Path) -> list[dict]:
    return [row["prompt"] if "prompt" in row else row for row in read_jsonl(path)]


def _oasst(path, fmt="oasst_tree", **kw) -> SeedConfig:
    return SeedConfig(format=fmt, path=str(path), n=kw.pop("n", None), **kw)


@pytest.fixture(scope="module")
def tree_file(shared_data) -> Path:
    return shared_data / "oasst" / "en_100_tree.jsonl"


@pytest.fixture(scope="module")
def flat_file(tree_file, tmp_path_factory) -> Path:
    """The tree export flattened into the hub's message-table shape (neither shared file is flat)."""
    path = tmp_path_factory.mktemp("flat") / "oasst_flat.jsonl"
    write_jsonl(path, flatten_oasst_trees(read_jsonl(tree_file)))
    return path


def _msg(mid, parent, role, text, rank=None, lang="en", deleted=False, synthetic=False, tree=None, state="ready_for_export"):
    return {"message_id": mid, "parent_id": parent, "message_tree_id": tree or mid, "tree_state": state, "role": role,
            "lang": lang, "rank": rank, "deleted": deleted, "synthetic": synthetic, "text": text}


# ---------------------------------------------------------------- OASST on the real files

def test_both_shared_oasst_files_are_nested_and_give_the_same_pairs(shared_data, tree_file):
    message_file = shared_data / "oasst" / "en_100_message.jsonl"
    assert all("replies" in row and "parent_id" in row for row in read_jsonl(message_file))  # bare root messages
    assert all(set(row) == {"message_tree_id", "tree_state", "prompt"} for row in read_jsonl(tree_file))
    a, stats = load_seed_with_stats(_oasst(tree_file))
    b = load_seed(_oasst(message_file))
    assert a == b
    assert (stats["rows"], stats["trees"], stats["messages"], stats["returned"]) == (100, 100, 1167, 94)
    assert stats["excluded"] == {"no_rank0_reply": 1, "prompt_synthetic": 5}


def test_flat_table_shape_gives_the_same_pairs_as_the_tree_export(tree_file, flat_file):
    flat = read_jsonl(flat_file)
    assert len(flat) == 1167 and all("replies" not in r for r in flat)
    assert sum(r["parent_id"] is None for r in flat) == 100
    random.Random(3).shuffle(flat)  # a table's row order means nothing
    write_jsonl(flat_file.with_name("shuffled.jsonl"), flat)
    expected = load_seed(_oasst(tree_file))
    assert load_seed(_oasst(flat_file, "oasst")) == expected
    assert load_seed(_oasst(flat_file.with_name("shuffled.jsonl"), "oasst")) == expected


def test_every_pair_obeys_the_paper_selection_rules_checked_on_the_raw_file(tree_file):
    raw = {}  # message_id -> (message, parent, tree root)
    roots = _raw_roots(tree_file)
    for root in roots:
        for msg, parent in _walk(root):
            raw[msg["message_id"]] = (msg, parent, root)
    pairs = load_seed(_oasst(tree_file))
    for p in pairs:
        prompt, prompt_parent, _ = raw[p["prompt_id"]]
        reply, reply_parent, root = raw[p["id"]]
        assert prompt_parent is None and prompt is root and prompt["role"] == "prompter"
        assert reply_parent is root and reply["role"] == "assistant" and reply["rank"] == 0
        assert prompt["lang"] == reply["lang"] == "en"
        assert not prompt["deleted"] and not reply["deleted"]
        assert not prompt["synthetic"] and not reply["synthetic"]
        assert (p["instruction"], p["output"]) == (prompt["text"], reply["text"])
        assert p["source"] == "oasst"
    # ... and no qualifying tree was missed
    expected = {
        c["message_id"] for root in roots if not root["deleted"] and root["lang"] == "en" and not root["synthetic"]
        for c in root["replies"] if c.get("rank") == 0 and not c["deleted"] and c["lang"] == "en" and not c["synthetic"]
    }
    assert {p["id"] for p in pairs} == expected and len(expected) == 94


def test_sampling_is_deterministic_nested_and_independent_of_row_order(tree_file, flat_file, tmp_path):
    lines = tree_file.read_text(encoding="utf-8").splitlines()
    random.Random(0).shuffle(lines)
    shuffled = tmp_path / "shuffled_trees.jsonl"
    shuffled.write_text("\n".join(lines) + "\n", encoding="utf-8")

    s20 = load_seed(_oasst(tree_file, n=20))
    assert len(s20) == 20 and len({p["id"] for p in s20}) == 20
    assert load_seed(_oasst(tree_file, n=20)) == s20
    assert load_seed(_oasst(shuffled, n=20)) == s20
    assert load_seed(_oasst(flat_file, "oasst", n=20)) == s20
    assert load_seed(_oasst(tree_file, n=10)) == s20[:10]  # smaller n = subset (data-scaling runs)
    assert load_seed(_oasst(tree_file, n=20, sample_seed=1)) != s20
    everything, stats = load_seed_with_stats(_oasst(tree_file, n=3200))  # paper's n, more than the file has
    assert len(everything) == 94 and stats["requested_n"] == 3200
    assert load_seed(_oasst(tree_file)) == sorted(everything, key=lambda p: p["id"])  # n=None: all, by id


def test_turns_all_follows_rank0_paths_with_history(tree_file):
    first = load_seed(_oasst(tree_file))
    every, stats = load_seed_with_stats(_oasst(tree_file, turns="all"))
    assert len(every) == 133 > len(first) == 94
    assert stats["excluded"] == {"no_rank0_reply": 64, "prompt_synthetic": 5}
    by_id = {p["id"]: p for p in every}
    assert all(by_id[p["id"]]["instruction"] == p["instruction"] and by_id[p["id"]]["turn"] == 0 for p in first)
    raw = {}
    for root in _raw_roots(tree_file):
        for msg, parent in _walk(root):
            raw[msg["message_id"]] = (msg, parent)
    later = [p for p in every if p["turn"] > 0]
    assert Counter(p["turn"] for p in every) == {0: 94, 1: 39}
    for p in later:
        prompt, previous_reply = raw[p["prompt_id"]]
        assert previous_reply["rank"] == 0 and previous_reply["role"] == "assistant"
        assert raw[p["id"]][0]["rank"] == 0 and raw[p["id"]][1] is prompt
        assert len(p["history"]) == 2 * p["turn"]
        assert p["history"][-1] == {"role": "assistant", "text": previous_reply["text"]}
        assert p["history"][0]["role"] == "user"


# ---------------------------------------------------------------- OASST selection on a crafted table

def test_each_exclusion_reason_is_counted(tmp_path):
    rows = [
        _msg("a", None, "prompter", "good question"),
        _msg("a1", "a", "assistant", "best answer", rank=0.0, tree="a"),  # float rank, as Parquet gives
        _msg("a2", "a", "assistant", "worse answer", rank=1, tree="a"),
        _msg("b", None, "prompter", "deleted question", deleted=True),
        _msg("b1", "b", "assistant", "x", rank=0, tree="b"),
        _msg("c", None, "prompter", "frage", lang="de"),
        _msg("c1", "c", "assistant", "antwort", rank=0, lang="de", tree="c"),
        _msg("d", None, "prompter", "q"),
        _msg("d1", "d", "assistant", "deleted best", rank=0, deleted=True, tree="d"),
        _msg("d2", "d", "assistant", "runner-up is not promoted", rank=1, tree="d"),
        _msg("e", None, "prompter", "only reply is unranked"),
        _msg("e1", "e", "assistant", "alone", rank=float("nan"), tree="e"),
        _msg("f", None, "prompter", "   "),
        _msg("f1", "f", "assistant", "y", rank=0, tree="f"),
        _msg("g", None, "prompter", "q"),
        _msg("g1", "g", "assistant", " \n", rank=0, tree="g"),
        _msg("h", None, "prompter", "machine written", synthetic=True),
        _msg("h1", "h", "assistant", "z", rank=0, tree="h"),
        _msg("i", None, "prompter", "q", state="aborted_low_grade"),
        _msg("i1", "i", "assistant", "z", rank=0, tree="i", state="aborted_low_grade"),
        _msg("j", None, "prompter", "q"),
        _msg("j1", "j", "assistant", "reply in french", rank=0, lang="fr", tree="j"),
        _msg("k1", "gone", "assistant", "parent not in the table", rank=0, tree="k"),
    ]
    path = tmp_path / "flat.jsonl"
    write_jsonl(path, rows)
    pairs, stats = load_seed_with_stats(_oasst(path, "oasst"))
    assert pairs == [{"id": "a1", "instruction": "good question", "output": "best answer", "source": "oasst",
                      "tree_id": "a", "prompt_id": "a"}]
    assert stats["excluded"] == {
        "prompt_deleted": 1, "prompt_lang": 1, "reply_deleted": 1, "no_rank0_reply": 1, "prompt_empty_text": 1,
        "reply_empty_text": 1, "prompt_synthetic": 1, "tree_state": 1, "reply_lang": 1}
    assert stats["orphan_messages"] == 1 and stats["trees"] == 10
    kept = load_seed(_oasst(path, "oasst", drop_synthetic=False, tree_state=None, lang="de"))
    assert [p["id"] for p in kept] == ["c1"]
    assert {p["id"] for p in load_seed(_oasst(path, "oasst", drop_synthetic=False, tree_state=None))} == {"a1", "h1", "i1"}


@pytest.mark.parametrize("rows, message", [
    ([_msg("a", None, "prompter", "q"), _msg("a", None, "prompter", "q")], "duplicate message_id"),
    ([_msg("a", None, "prompter", "q"), _msg("b", "a", "prompter", "q")], "replies to a prompter"),
    ([_msg("a", None, "assistant", "q")], "must start with a prompter"),
    ([_msg("a", None, "prompter", "q"), _msg("b", "a", "assistant", "r", rank=0), _msg("c", "a", "assistant", "s", rank=0)],
     "share rank 0"),
    ([{**_msg("a", None, "prompter", "q"), "text": None}], "'text' should be a string"),
    ([{**_msg("a", None, "robot", "q")}], "role 'robot'"),
    ([{**_msg("a", None, "prompter", "q"), "rank": "first"}], "rank should be a number"),
    ([{k: v for k, v in _msg("a", None, "prompter", "q").items() if k != "parent_id"}], "missing field 'parent_id'"),
])
def test_malformed_oasst_rows_raise_with_location(tmp_path, rows, message):
    path = tmp_path / "bad.jsonl"
    write_jsonl(path, rows)
    with pytest.raises(DataError, match=message) as err:
        load_seed(_oasst(path, "oasst"))
    assert str(path) in str(err.value)


def test_wrong_oasst_shape_is_named(tree_file, flat_file):
    with pytest.raises(DataError, match=rf"{tree_file}:1: nested tree record.*oasst_tree"):
        load_seed(_oasst(tree_file, "oasst"))
    with pytest.raises(DataError, match=rf"{flat_file}:1: .*use format=oasst"):
        load_seed(_oasst(flat_file, "oasst_tree"))


def test_hub_branch_loads_the_flat_table_with_datasets(monkeypatch, flat_file, tree_file):
    import datasets

    calls = []
    table = datasets.Dataset.from_list(read_jsonl(flat_file))  # rank becomes a nullable column, as on the hub

    def fake_load_dataset(name, split=None, **kwargs):
        calls.append((name, split))
        return table

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    pairs, stats = load_seed_with_stats(SeedConfig(format="oasst", path="OpenAssistant/oasst1", n=None))
    assert pairs == load_seed(_oasst(tree_file))
    assert calls == [("OpenAssistant/oasst1", "train")]
    assert stats["excluded"] == {"no_rank0_reply": 1, "prompt_synthetic": 5}
    load_seed(SeedConfig(n=5, split="validation"))  # the default config reads the hub dataset
    assert calls[-1] == ("OpenAssistant/oasst1", "validation")


def test_parquet_flat_table(tmp_path, flat_file, tree_file):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "oasst.parquet"
    pq.write_table(pa.Table.from_pylist(read_jsonl(flat_file)), path)
    assert load_seed(_oasst(path, "oasst")) == load_seed(_oasst(tree_file))


def test_missing_local_path_that_is_not_a_hub_name(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_seed(SeedConfig(format="lima", path=str(tmp_path / "nope.jsonl")))
    with pytest.raises(ValueError, match="seed.path is required"):
        load_seed(SeedConfig(format="lima"))
    with pytest.raises(ValueError, match="seed.format"):
        load_seed(SeedConfig(format="sharegpt", path="x"))


# ---------------------------------------------------------------- LIMA

def test_lima_first_turns(shared_data):
    path = shared_data / "seed" / "lima_train.jsonl"
    raw = read_jsonl(path)
    pairs, stats = load_seed_with_stats(SeedConfig(format="lima", path=str(path), n=None))
    assert len(raw) == len(pairs) == 1030 and stats["excluded"] == {} and stats["duplicates"] == 0
    assert {(p["instruction"], p["output"]) for p in pairs} == {(r["conversations"][0], r["conversations"][1]) for r in raw}
    assert Counter(p["lima_source"] for p in pairs) == Counter(r["source"] for r in raw)
    assert Counter(p["lima_source"] for p in pairs)["stackexchange"] == 400
    sample = load_seed(SeedConfig(format="lima", path=str(path), n=100, sample_seed=7))
    assert len(sample) == 100 and {p["id"] for p in sample} <= {p["id"] for p in pairs}


def test_lima_all_turns(shared_data):
    path = shared_data / "seed" / "lima_train.jsonl"
    pairs, stats = load_seed_with_stats(SeedConfig(format="lima", path=str(path), n=None, turns="all"))
    # 1000 single-turn + 30 multi-turn conversations (4/6/8/20 turns; one has 5: its last user turn is unpaired)
    assert len(pairs) == 1084 and stats["excluded"] == {"unpaired_last_turn": 1}
    longest = sorted((p for p in pairs if p["turn"] == 9), key=lambda p: p["id"])
    assert len(longest) == 1 and len(longest[0]["history"]) == 18
    assert [h["role"] for h in longest[0]["history"][:3]] == ["user", "assistant", "user"]


def test_lima_rows_checked(tmp_path):
    path = tmp_path / "lima.jsonl"
    write_jsonl(path, [{"conversations": ["q", "a"]}, {"conversations": ["only a question"]},
                       {"conversations": ["", "a"]}, {"conversations": ["q", "a"]}])
    pairs, stats = load_seed_with_stats(SeedConfig(format="lima", path=str(path), n=None))
    assert [(p["instruction"], p["output"]) for p in pairs] == [("q", "a")]
    assert stats["excluded"] == {"no_reply": 1, "empty_text": 1} and stats["duplicates"] == 1
    write_jsonl(path, [{"conversations": ["q", "a"]}, {"conversations": "q"}])
    with pytest.raises(DataError, match=rf"{path}:2: 'conversations' should be a list"):
        load_seed(SeedConfig(format="lima", path=str(path)))


# ---------------------------------------------------------------- Alpaca, generic JSONL, toyworld

def test_alpaca_with_input_jsonl_and_json_list(tmp_path):
    rows = [
        {"instruction": "Summarise the text.", "input": "Whales are mammals.", "output": "Whales: mammals."},
        {"instruction": "Name a colour.", "input": "", "output": "Blue."},
        {"instruction": "Say nothing.", "input": "", "output": "  "},
    ]
    jsonl = tmp_path / "alpaca.jsonl"
    write_jsonl(jsonl, rows)
    json_list = tmp_path / "alpaca_data.json"
    json_list.write_text(json.dumps(rows), encoding="utf-8")
    for path in (jsonl, json_list):
        pairs, stats = load_seed_with_stats(SeedConfig(format="alpaca", path=str(path), n=None))
        assert sorted((p["instruction"], p["output"]) for p in pairs) == [
            ("Name a colour.", "Blue."), ("Summarise the text.\n\nWhales are mammals.", "Whales: mammals.")]
        assert stats["excluded"] == {"empty_output": 1} and stats["rows"] == 3
        assert {p["source"] for p in pairs} == {"alpaca"} and all(p["id"].startswith("alpaca-") for p in pairs)


def test_generic_jsonl_with_custom_fields(tmp_path):
    path = tmp_path / "custom.jsonl"
    write_jsonl(path, [
        {"id": 7, "prompt": "Translate", "context": "chat", "response": "Plaudern", "topic": "de"},
        {"prompt": "Add 2 and 2", "context": None, "response": "4"},
    ])
    cfg = SeedConfig(format="jsonl", path=str(path), n=None, instruction_field="prompt", output_field="response",
                     input_field="context")
    pairs = load_seed(cfg)
    assert pairs[0] == {"id": "7", "instruction": "Translate\n\nchat", "output": "Plaudern", "source": "jsonl", "topic": "de"}
    assert pairs[1]["instruction"] == "Add 2 and 2" and pairs[1]["id"].startswith("jsonl-")
    write_jsonl(path, [{"prompt": "q", "response": "a"}, {"prompt": "q"}])
    with pytest.raises(DataError, match=rf"{path}:2: missing field 'response'"):
        load_seed(cfg)


def test_toyworld_pairs_keep_their_fields(tmp_path):
    path = tmp_path / "toy.jsonl"
    write_jsonl(path, [{"id": "t1", "instruction": "q", "output": "a", "family": "weather", "source": "toy-web"},
                       {"id": "t2", "instruction": "q2", "output": "a2", "family": "math"}])
    pairs = load_seed(SeedConfig(format="toyworld", path=str(path), n=None))
    assert pairs == [{"id": "t1", "instruction": "q", "output": "a", "family": "weather", "source": "toy-web"},
                     {"id": "t2", "instruction": "q2", "output": "a2", "family": "math", "source": "toyworld"}]


def test_bad_json_line_names_file_and_line(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"instruction": "a", "output": "b"}\n\n{"instruction": "c", "output": \n', encoding="utf-8")
    with pytest.raises(DataError, match=rf"{path}:3: not valid JSON"):
        load_seed(SeedConfig(format="alpaca", path=str(path)))
    path.write_text('{"instruction": "a", "output": "b"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(DataError, match=rf"{path}:2: expected a JSON object"):
        load_seed(SeedConfig(format="jsonl", path=str(path)))


def test_duplicate_ids_with_different_content_are_an_error(tmp_path):
    path = tmp_path / "dup.jsonl"
    write_jsonl(path, [{"id": "x", "instruction": "q", "output": "a"}, {"id": "x", "instruction": "q", "output": "b"}])
    with pytest.raises(DataError, match="id 'x' is used by two different pairs"):
        load_seed(SeedConfig(format="jsonl", path=str(path)))
