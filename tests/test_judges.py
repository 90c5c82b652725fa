"""Judges: AlpacaEval prompt formats and strict parsers, the API judge against humpback-serve on loopback
(with injected 500 / 429 / slow replies and broken 200 bodies), the local HF judge, and the annotation
cache. tests/reliability/test_judge_faults.py runs the API judge through 30% mixed faults at scale."""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from humpback.config.schema import JudgeConfig
from humpback.evaluation.annotations import read_annotations, write_annotations
from humpback.evaluation.judges import AnnotationCache, CachedJudge, JudgeUnavailable, attach_extras, judge_fingerprint
from humpback.evaluation.judges.prompted import Verdict
from humpback.evaluation.judges.prompts import judge_messages, parse_ranking, preference_from_top_logprobs
from humpback.evaluation.judging import annotate, make_judge, swap_coin
from humpback.inference.openai_engine import call_with_retries
from humpback.serve import FaultConfig, FaultInjector, HumpbackServer, serve_in_thread
from tests.judge_model import PREFERENCE_M

SECRET = "sk-test-never-written-anywhere-0123456789"


# ---- prompt formats and parsers ------------------------------------------------------------------

def test_ranking_prompt_labels_outputs_and_keeps_braces() -> None:
    system, user = judge_messages("ranking", "Say {hi}", "out {1}", "out {2}")
    assert system["role"] == "system" and user["role"] == "user"
    text = user["content"]
    assert "Say {hi}" in text and "### model_1\n\nout {1}\n\n### model_2\n\nout {2}" in text
    assert "[{'model': 'model_1', 'rank': 1}, {'model': 'model_2', 'rank': 2}]" in text


def test_logprob_prompt_labels_outputs_m_and_M() -> None:
    text = judge_messages("logprob", "Name a fish.", "Trout.", "Salmon.")[1]["content"]
    assert "### Model m\n\nTrout.\n\n### Model M\n\nSalmon." in text
    assert text.rstrip().endswith("the single letter m or the single letter M (case matters).")
    with pytest.raises(ValueError, match="prompt_format"):
        judge_messages("likert", "a", "b", "c")


@pytest.mark.parametrize("reply, expected", [
    ("[{'model': 'model_1', 'rank': 1}, {'model': 'model_2', 'rank': 2}]", 1.0),
    ("[{'model': 'model_2', 'rank': 1}, {'model': 'model_1', 'rank': 2}]", 2.0),
    ('  [{"model": "model_2", "rank": 1}, {"model": "model_1", "rank": 2}]\n', 2.0),
    ("```python\n[{'model': 'model_1', 'rank': 1}, {'model': 'model_2', 'rank': 2}]\n```", 1.0),
    ("model_1 is better: [{'model': 'model_1', 'rank': 1}, {'model': 'model_2', 'rank': 2}]", None),
    ("[{'model': 'model_1', 'rank': 1}, {'model': 'model_2', 'rank': 1}]", None),
    ("[{'model': 'model_1', 'rank': True}, {'model': 'model_2', 'rank': 2}]", None),
    ("[{'model': 'model_1', 'rank': 1.0}, {'model': 'model_2', 'rank': 2}]", None),
    ("[{'model': 'model_1', 'rank': 1}, {'model': 'model_3', 'rank': 2}]", None),
    ("[{'model': 'model_1', 'rank': 1, 'why': 'x'}, {'model': 'model_2', 'rank': 2}]", None),
    ("[{'model': 'model_1', 'rank': 1}]", None),
    ("MMMMM", None),
    ("", None),
])
def test_parse_ranking_is_strict(reply: str, expected: float | None) -> None:
    assert parse_ranking(reply) == expected


def test_preference_from_top_logprobs() -> None:
    assert preference_from_top_logprobs([("M", math.log(0.6)), ("x", math.log(0.3)), ("m", math.log(0.2))]) == pytest.approx(1.75)
    assert preference_from_top_logprobs([(" m", math.log(0.5)), ("m", math.log(0.3))]) == pytest.approx(1.0)  # both spellings of m
    assert preference_from_top_logprobs([("M", -0.1), ("Model", -2.0)]) == pytest.approx(2.0)
    assert preference_from_top_logprobs([("The", -0.1), ("A", -2.0)]) is None  # neither label: a failure, not a guess
    assert preference_from_top_logprobs(None) is None


# ---- retries --------------------------------------------------------------------------------------

def _rate_limited(retry_after: str | None) -> openai.RateLimitError:
    try:
        import httpx2 as httpx  # the HTTP library this openai client is built on
    except ImportError:  # pragma: no cover - older clients use httpx
        import httpx
    headers = {"retry-after": retry_after} if retry_after else {}
    response = httpx.Response(429, headers=headers, request=httpx.Request("POST", "http://127.0.0.1/v1/chat/completions"))
    return openai.RateLimitError("slow down", response=response, body=None)


def test_retries_back_off_and_respect_retry_after() -> None:
    calls, waits = [], []

    def flaky() -> str:
        calls.append(1)
        if len(calls) <= 2:
            raise _rate_limited("2")
        return "ok"

    assert call_with_retries(flaky, max_retries=3, backoff_s=0.1, max_backoff_s=5.0, sleep=waits.append) == "ok"
    assert len(calls) == 3 and waits == [2.0, 2.0]

    waits.clear()
    with pytest.raises(openai.RateLimitError):
        call_with_retries(lambda: (_ for _ in ()).throw(_rate_limited(None)), max_retries=3, backoff_s=1.0, max_backoff_s=3.0, sleep=waits.append)
    assert len(waits) == 3 and 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0 and 1.5 <= waits[2] <= 3.0  # doubling, capped

    waits.clear()
    with pytest.raises(ValueError):  # not an API hiccup: raised at once
        call_with_retries(lambda: (_ for _ in ()).throw(ValueError("bug")), max_retries=3, sleep=waits.append)
    assert waits == []


# ---- the API judge against humpback-serve -----------------------------------------------------------

def eval_rows(n: int) -> tuple[list[dict[str, Any]], list[str]]:
    records = [{"instruction": f"Describe the town number {i}.", "output": f"Town {i} is a small harbour town.", "generator": "reference",
                "dataset": "toy"} for i in range(n)]
    outputs = [f"Town {i} has a harbour, a market and {i} bridges." for i in range(n)]
    outputs[0] = records[0]["output"]  # identical outputs: a draw without a call
    return records, outputs


def expected_preferences(records: list[dict[str, Any]], order_seed: int = 0) -> list[float]:
    """The tiny judge always prefers the output it sees second (1.75); mapped back through each row's coin."""
    prefs = [1.5]
    for r in records[1:]:
        prefs.append(3.0 - PREFERENCE_M if swap_coin(r["instruction"], order_seed) else PREFERENCE_M)
    return prefs


# The client's timeout in these tests: a slow fault (SLOW_S) outlasts it; a genuine reply of the tiny
# judge never should, even on a loaded CI machine (at 0.5 s one did, and its retry broke a fault count).
TIMEOUT_S = 3.0
SLOW_S = TIMEOUT_S + 1.0


def api_config(url: str, cache_dir: Path | None, **kw: Any) -> JudgeConfig:
    base = dict(kind="api", name="tiny_api_judge", model="judge", base_url=url, prompt_format="logprob", max_concurrency=3,
                max_retries=4, timeout_s=TIMEOUT_S, backoff_s=0.01, max_backoff_s=0.1, cache_dir=str(cache_dir) if cache_dir else None,
                price_per_1k_prompt_tokens=0.01, price_per_1k_completion_tokens=0.03)
    return JudgeConfig(**{**base, **kw})


def test_api_judge_survives_faults_and_a_rerun_makes_no_calls(backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    records, outputs = eval_rows(10)
    assert {swap_coin(r["instruction"], 0) for r in records[1:]} == {True, False}  # both orders are exercised
    faults = FaultInjector(FaultConfig(fail_500=2, fail_429=2, slow=1, slow_s=SLOW_S))
    with serve_in_thread(HumpbackServer({"judge": backend}, faults=faults, api_key=SECRET)) as server:
        cfg = api_config(server.url, tmp_path / "cache")
        judge = make_judge(cfg)
        rows = annotate(judge, records, outputs, "M_1", cfg.order_seed)
        attach_extras(judge, rows)
        first = judge.stats
        served = server.stats()["completions"]

        rerun_judge = make_judge(cfg)
        rerun = annotate(rerun_judge, records, outputs, "M_1", cfg.order_seed)
        attach_extras(rerun_judge, rerun)
        assert server.stats()["completions"] == served  # the rerun reached the server not once
        assert {k: v for k, v in server.stats()["injected"].items() if v} == {"500": 2, "429": 2, "slow": 1}

    assert [r["preference"] for r in rows] == pytest.approx(expected_preferences(records), abs=1e-4)
    assert first["calls"] == 9 and first["retries"] == 5 and first["failed_calls"] == 0 and first["parse_failures"] == 0
    assert first["cache_misses"] == 9 and first["cache_hits"] == 0 and first["completion_tokens"] == 9
    assert first["cost_usd"] == pytest.approx(first["prompt_tokens"] / 1000 * 0.01 + 9 / 1000 * 0.03)
    assert rerun_judge.stats["calls"] == 0 and rerun_judge.stats["cache_hits"] == 9 and rerun_judge.stats["retries"] == 0
    assert [r["preference"] for r in rerun] == [r["preference"] for r in rows]
    assert rerun == rows  # same annotations, accounting fields included

    judged = rows[1]
    assert judged["raw_completion"]["text"] == "M" and [t for t, _ in judged["raw_completion"]["top_logprobs"][:2]] == ["M", "m"]
    assert judged["prompt_tokens"] > 100 and judged["completion_tokens"] == 1
    assert judged["price_per_example"] == pytest.approx(judged["prompt_tokens"] / 1000 * 0.01 + 1 / 1000 * 0.03)
    assert "raw_completion" not in rows[0]  # the draw was never sent

    path = tmp_path / "annotations.json"
    write_annotations(path, rows)
    back = read_annotations(path)
    assert len(back) == 10 and len({r["instruction"] for r in back}) == 10  # one annotation per instruction, none lost or doubled
    assert {r["annotator"] for r in back} == {"tiny_api_judge"} and {r["generator_2"] for r in back} == {"M_1"}
    assert len(AnnotationCache(tmp_path / "cache", judge_fingerprint(cfg))) == 9
    for f in (path, tmp_path / "cache" / "annotations.sqlite"):
        assert SECRET.encode() not in f.read_bytes()


def test_ranking_format_counts_unparsable_replies_and_caches_them(backend, tmp_path: Path) -> None:
    records, outputs = eval_rows(4)
    with serve_in_thread(HumpbackServer({"judge": backend})) as server:
        cfg = api_config(server.url, tmp_path, prompt_format="ranking", max_tokens=4)
        judge = make_judge(cfg)
        rows = annotate(judge, records, outputs, "M_0", 0)
        attach_extras(judge, rows)
        rerun = make_judge(cfg)
        annotate(rerun, records, outputs, "M_0", 0)
    assert [r["preference"] for r in rows] == [1.5, None, None, None]  # "MMMM" is not a ranking
    assert rows[1]["raw_completion"] == "MMMM"
    assert judge.stats["parse_failures"] == 3 and judge.stats["calls"] == 3
    assert rerun.stats["calls"] == 0 and rerun.stats["cache_hits"] == 3


def test_requests_that_keep_failing_are_reported_not_cached(backend, tmp_path: Path) -> None:
    records, outputs = eval_rows(5)  # 4 comparisons
    faults = FaultInjector(FaultConfig(fail_every=2))  # every second request fails
    with serve_in_thread(HumpbackServer({"judge": backend}, faults=faults)) as server:
        cfg = api_config(server.url, tmp_path, max_retries=0, max_concurrency=1)
        judge = make_judge(cfg)
        with pytest.raises(JudgeUnavailable, match="2 of 4 comparisons missing.*the 2 that arrived are cached"):
            annotate(judge, records, outputs, "M_0", 0)
        assert judge.stats["calls"] == 2 and judge.stats["failed_calls"] == 2
        assert len(AnnotationCache(tmp_path, judge_fingerprint(cfg))) == 2  # the finished half is kept

        resumed = make_judge(api_config(server.url, tmp_path, max_retries=2, max_concurrency=1))
        rows = annotate(resumed, records, outputs, "M_0", 0)
    assert resumed.stats["cache_hits"] == 2 and resumed.stats["calls"] == 2  # only the failed half is asked again
    assert [r["preference"] for r in rows] == pytest.approx(expected_preferences(records), abs=1e-4)


@pytest.mark.parametrize("prompt_format", ["logprob", "ranking"])
def test_broken_bodies_are_retried_never_taken_for_answers(backend, tmp_path: Path, prompt_format: str) -> None:
    records, outputs = eval_rows(4)  # 3 comparisons; the first meets every broken body in turn
    faults = FaultInjector(FaultConfig(garbage=1, truncated=1, no_choices=1, empty=1))
    with serve_in_thread(HumpbackServer({"judge": backend}, faults=faults)) as server:
        cfg = api_config(server.url, tmp_path, prompt_format=prompt_format, max_tokens=4, max_concurrency=1)
        judge = make_judge(cfg)
        rows = attach_extras(judge, annotate(judge, records, outputs, "M_0", 0))
        assert server.stats()["requests"] == 3 + 4
    assert judge.stats["retries"] == 4 and judge.stats["calls"] == 3 and judge.stats["failed_calls"] == 0
    assert [r["raw_completion"] for r in rows[1:]] == ([{"text": "M", "top_logprobs": r["raw_completion"]["top_logprobs"]} for r in rows[1:]]
                                                       if prompt_format == "logprob" else ["MMMM"] * 3)
    if prompt_format == "logprob":
        assert [r["preference"] for r in rows] == pytest.approx(expected_preferences(records), abs=1e-4)
    assert len(AnnotationCache(tmp_path, judge_fingerprint(cfg))) == 3


def test_a_fatal_error_keeps_the_replies_in_flight(tmp_path: Path) -> None:
    from humpback.evaluation.judges.prompted import ChatReply

    records, outputs = eval_rows(12)
    cfg = api_config("http://127.0.0.1:9/v1", tmp_path, max_concurrency=3)
    judge = make_judge(cfg)
    started = []

    def chat(messages: list[dict[str, str]], params: Any) -> ChatReply:
        started.append(1)
        if "town number 1." in messages[1]["content"]:
            raise ValueError("a bug, or a request the server rejects")  # not retryable: stops the batch
        time.sleep(0.2)  # still in flight when the error arrives
        return ChatReply("M", [("M", -0.1), ("m", -2.0)])

    judge.inner.transport.chat = chat
    with pytest.raises(ValueError, match="a bug"):
        annotate(judge, records, outputs, "M_0", 0)
    kept = len(AnnotationCache(tmp_path, judge_fingerprint(cfg)))
    assert kept >= 2 and kept == len(started) - 1 < 11  # every reply that arrived was cached; the rest were never sent


def test_auth_errors_are_not_retried(backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    records, outputs = eval_rows(3)
    with serve_in_thread(HumpbackServer({"judge": backend}, api_key=SECRET)) as server:
        judge = make_judge(api_config(server.url, tmp_path))
        with pytest.raises(openai.AuthenticationError):
            annotate(judge, records, outputs, "M_0", 0)
    assert judge.stats["retries"] == 0


def test_api_key_only_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUMPBACK_TEST_JUDGE_KEY", raising=False)
    cfg = api_config("https://api.example.com/v1", tmp_path, api_key_env="HUMPBACK_TEST_JUDGE_KEY")
    with pytest.raises(RuntimeError, match="HUMPBACK_TEST_JUDGE_KEY"):
        make_judge(cfg)
    assert make_judge(api_config("http://127.0.0.1:9/v1", tmp_path, api_key_env="HUMPBACK_TEST_JUDGE_KEY")).name == "tiny_api_judge"


# ---- the local HF judge -------------------------------------------------------------------------------

def test_hf_judge_reads_the_same_preference_in_process(judge_model_dir: Path, tmp_path: Path) -> None:
    records, outputs = eval_rows(6)
    cfg = JudgeConfig(kind="hf", name="tiny_hf_judge", model=str(judge_model_dir), prompt_format="logprob", device="cpu", batch_size=2,
                      cache_dir=str(tmp_path))
    judge = make_judge(cfg)
    rows = annotate(judge, records, outputs, "M_0", 0)
    attach_extras(judge, rows)
    assert [r["preference"] for r in rows] == pytest.approx(expected_preferences(records), abs=1e-4)
    assert judge.stats["calls"] == 5 and rows[2]["raw_completion"]["text"] == "M" and rows[2]["prompt_tokens"] > 100
    again = make_judge(cfg)
    assert [r["preference"] for r in annotate(again, records, outputs, "M_0", 0)] == [r["preference"] for r in rows]
    assert again.stats["calls"] == 0 and again.stats["cache_hits"] == 5


# ---- the annotation cache -------------------------------------------------------------------------

class CountingJudge:
    """A plain PairwiseJudge (like the oracle): prefers the longer output; counts what it is asked."""

    name = "counting"

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def compare_many(self, items: list[dict[str, Any]]) -> list[float]:
        self.seen += [(i["instruction"], i["output_a"], i["output_b"]) for i in items]
        return [2.0 if len(i["output_b"]) > len(i["output_a"]) else 1.0 for i in items]


def item(instruction: str, a: str, b: str) -> dict[str, Any]:
    return {"record": {}, "instruction": instruction, "output_a": a, "output_b": b}


def test_cache_judges_each_pair_once_in_the_order_seen(tmp_path: Path) -> None:
    cfg = JudgeConfig(kind="oracle", cache_dir=str(tmp_path))
    inner = CountingJudge()
    judge = CachedJudge(inner, AnnotationCache(tmp_path, judge_fingerprint(cfg)))
    batch = [item("q", "a", "bb"), item("q", "a", "bb"), item("q", "bb", "a"), item("r", "a", "bb")]
    assert judge.compare_many(batch) == [2.0, 2.0, 1.0, 2.0]
    assert inner.seen == [("q", "a", "bb"), ("q", "bb", "a"), ("r", "a", "bb")]  # the repeated pair once; the swapped pair is its own
    assert judge.compare_many(batch[:3]) == [2.0, 2.0, 1.0] and len(inner.seen) == 3
    assert judge.stats["cache_hits"] == 1 + 3 and judge.stats["cache_misses"] == 3  # hits + misses = items asked


def test_fingerprint_ignores_operational_settings_only() -> None:
    base = JudgeConfig(kind="api", model="gpt-4-turbo", prompt_format="logprob")
    same = [JudgeConfig(kind="api", model="gpt-4-turbo", prompt_format="logprob", name="other", base_url="http://127.0.0.1:1/v1",
                        max_concurrency=64, max_retries=1, timeout_s=1.0, max_tokens=7, price_per_1k_prompt_tokens=9.0, cache_dir="/x")]
    different = [JudgeConfig(kind="api", model="gpt-4o", prompt_format="logprob"), JudgeConfig(kind="api", model="gpt-4-turbo"),
                 JudgeConfig(kind="api", model="gpt-4-turbo", prompt_format="logprob", top_logprobs=20),
                 JudgeConfig(kind="api", model="gpt-4-turbo", prompt_format="logprob", temperature=1.0)]
    assert all(judge_fingerprint(c) == judge_fingerprint(base) for c in same)
    assert len({str(judge_fingerprint(c)) for c in [base, *different]}) == 5
    assert "prompt_template" in judge_fingerprint(base)


def test_failed_verdicts_are_not_cached(tmp_path: Path) -> None:
    cache = AnnotationCache(tmp_path, {"kind": "x"})
    key = cache.key("q", "a", "b")
    cache.put(key, item("q", "a", "b"), Verdict(None, {"judge_error": "timeout"}, failed=True))
    assert cache.get_many([key]) == {}
    cache.put(key, item("q", "a", "b"), Verdict(None, {"raw_completion": "nonsense"}))
    assert cache.get_many([key])[key].extras == {"raw_completion": "nonsense"} and len(cache) == 1


def test_concurrent_writers_share_one_cache_file(tmp_path: Path) -> None:
    fp = {"kind": "x"}
    items = [item(f"q{i}", "a", "b") for i in range(40)]

    def worker(offset: int) -> None:
        cache = AnnotationCache(tmp_path, fp)
        for it in items[offset:] + items[:offset]:
            cache.put(cache.key(it["instruction"], "a", "b"), it, Verdict(1.0 + offset / 10))
        cache.close()

    threads = [threading.Thread(target=worker, args=(k * 10,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    rows = sqlite3.connect(tmp_path / "annotations.sqlite").execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM annotations").fetchone()
    assert rows == (40, 40)  # first writer wins, no duplicates


def test_make_judge_rejects_unknown_kinds_and_can_skip_the_cache(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="judge.kind='gpt'"):
        make_judge(JudgeConfig(kind="gpt"))
    judge = make_judge(api_config("http://127.0.0.1:9/v1", None))
    assert not isinstance(judge, CachedJudge) and judge.name == "tiny_api_judge"


def test_judges_that_read_the_record_key_on_it(tmp_path: Path) -> None:
    inner = CountingJudge()
    judge = CachedJudge(inner, AnnotationCache(tmp_path, {"kind": "oracle"}), key_record=True)
    same_text = [dict(item("q", "a", "bb"), record={"check": 1}), dict(item("q", "a", "bb"), record={"check": 2})]
    judge.compare_many(same_text)
    assert len(inner.seen) == 2  # another world's facts: judged again
    oracle = make_judge(JudgeConfig(kind="oracle", cache_dir=str(tmp_path / "oracle")))
    assert isinstance(oracle, CachedJudge) and oracle.key_record and oracle.name == "toyworld_oracle"


def test_composed_configs_build_cached_judges(tmp_path: Path) -> None:
    from tests.helpers import compose_config

    cfg = compose_config(["judge=api", "judge.base_url=http://127.0.0.1:9/v1", f"cache_dir={tmp_path}"])
    judge = make_judge(cfg.judge)
    assert isinstance(judge, CachedJudge) and judge.cache.path == tmp_path / "judge_annotations" / "annotations.sqlite"
    assert judge.inner.prompt_format == "logprob" and judge.inner.params.max_tokens == 1 and judge.inner.params.top_logprobs == 5
    hf = compose_config(["judge=hf", "judge.model=/models/judge"]).judge
    assert (hf.kind, hf.model, hf.prompt_format, hf.cache_dir) == ("hf", "/models/judge", "logprob", "outputs/cache/judge_annotations")
