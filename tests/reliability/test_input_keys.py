"""Input stages are keyed by the content of their files, not by their paths (issue 9, "a key is what
the stage reads"): an emptied-then-restored seed is not served from the cache, an edit changes the key,
a touch does not, and a large corpus is hashed once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from humpback.cache import digest
from humpback.pipeline import make_context
from humpback.stages import inputs
from tests.helpers import compose_config

PAIRS = [{"instruction": f"Question {i}?", "output": f"Answer number {i}."} for i in range(5)]


def write_rows(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def context(tmp_path: Path, *overrides: str, plan: bool = False):
    cfg = compose_config(["data=files", f"cache_dir={tmp_path / 'cache'}", *overrides])
    return make_context(cfg, tmp_path / "job", plan=plan)


def seed_overrides(path: Path) -> list[str]:
    return ["data.seed.format=jsonl", f"data.seed.path={path}", "data.seed.n=null"]


def seed_key(tmp_path: Path, path: Path) -> str:
    return inputs.seed(context(tmp_path, *seed_overrides(path), plan=True), None).key


def test_emptied_then_restored_seed_is_not_reused(tmp_path):
    seed_file = tmp_path / "seed.jsonl"
    write_rows(seed_file, PAIRS)
    original = seed_file.read_bytes()
    seed_file.write_text("")
    try:  # an empty seed may also be refused outright; either way nothing may be cached for the real one
        inputs.seed(context(tmp_path, *seed_overrides(seed_file)), None)
    except ValueError:
        pass
    seed_file.write_bytes(original)
    art = inputs.seed(context(tmp_path, *seed_overrides(seed_file)), None)
    assert not art.cached and art.metrics["count"] == len(PAIRS)


def test_edit_changes_the_key_and_touch_keeps_it(tmp_path):
    seed_file = tmp_path / "seed.jsonl"
    write_rows(seed_file, PAIRS)
    key = seed_key(tmp_path, seed_file)
    st = seed_file.stat()
    os.utime(seed_file, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # touched, same bytes
    assert seed_key(tmp_path, seed_file) == key
    write_rows(seed_file, [*PAIRS[:-1], {**PAIRS[-1], "output": "Answer number 5."}])  # same size, new text
    assert seed_key(tmp_path, seed_file) != key


def test_corpus_and_eval_files_are_keyed_by_content(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_rows(corpus / "a.jsonl", [{"id": "d1", "text": "Some page text. " * 20}])
    evalset = tmp_path / "eval.jsonl"
    write_rows(evalset, [{"instruction": "Say hi.", "output": "Hi."}])
    over = ["data.corpus.format=jsonl", f"data.corpus.paths=['{corpus}/*.jsonl']", "eval.set.format=alpaca_eval",
            f"eval.set.path={evalset}"]

    def keys() -> tuple[str, str]:
        ctx = context(tmp_path, *over, plan=True)
        return inputs.segments(ctx, None).key, inputs.eval_set(ctx, None).key

    seg0, ev0 = keys()
    write_rows(corpus / "a.jsonl", [{"id": "d1", "text": "Other page text. " * 20}])
    seg1, ev1 = keys()
    assert seg1 != seg0 and ev1 == ev0
    write_rows(corpus / "b.jsonl", [{"id": "d2", "text": "A new file the glob now matches."}])
    seg2, _ = keys()
    assert seg2 != seg1
    write_rows(evalset, [{"instruction": "Say hi.", "output": "Hello."}])
    assert keys()[1] != ev1


def test_a_file_is_hashed_once_while_unchanged(tmp_path, monkeypatch):
    big = tmp_path / "big.jsonl"
    big.write_bytes(b"x" * 100_000)
    old = big.stat().st_mtime_ns - 60_000_000_000  # settled a minute ago: the memo may trust it
    os.utime(big, ns=(old, old))
    calls = []
    real = digest._hash_file
    monkeypatch.setattr(digest, "_hash_file", lambda p: calls.append(p) or real(p))
    first = digest.input_digests([str(big)], tmp_path / "cache")
    second = digest.input_digests([str(big)], tmp_path / "cache")
    assert first == second and len(calls) == 1
    big.write_bytes(b"y" * 100_000)  # new content: size equal, mtime moves
    assert digest.input_digests([str(big)], tmp_path / "cache") != first and len(calls) == 2


def test_digests_of_folders_missing_paths_and_a_broken_memo(tmp_path):
    folder = tmp_path / "html"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "p.html").write_text("<p>hi</p>")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / digest.MEMO).write_text("{not json")  # a memo cut short is only a rehash
    d = digest.input_digests([str(folder), "OpenAssistant/oasst1", None], cache)
    assert list(d) == [str(folder), "OpenAssistant/oasst1"]  # unset paths are left out, hub names are not files
    assert d[str(folder)] and d["OpenAssistant/oasst1"] is None
    (folder / "sub" / "p.html").write_text("<p>ho</p>")
    assert digest.input_digests([str(folder)], cache)[str(folder)] != d[str(folder)]


@pytest.mark.parametrize("missing", ["???", None])
def test_unset_seed_path_still_plans(tmp_path, missing):
    over = ["data.seed.format=jsonl", f"data.seed.path={'null' if missing is None else missing}"]
    assert inputs.seed(context(tmp_path, *over, plan=True), None).key
