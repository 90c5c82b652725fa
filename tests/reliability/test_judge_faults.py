"""The API judge against a misbehaving server: humpback-serve on 127.0.0.1 (real HTTP, the tiny judge
model) answering 30% of requests with a mix of 500, 429, timeouts and broken 200 bodies (not JSON, JSON
cut off, no choices, empty content). Nothing is lost or judged twice, calls stay bounded, and after a
forced failure a rerun asks only for what is missing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from humpback.evaluation.judges import JudgeUnavailable, attach_extras
from humpback.evaluation.judging import annotate, make_judge
from humpback.serve import FaultConfig, FaultInjector, HumpbackServer, serve_in_thread
from tests.test_judges import SLOW_S, api_config, eval_rows, expected_preferences

N_ROWS = 151  # row 0 is a draw settled without a call: 150 comparisons
MAX_RETRIES = 8  # P(an item meets 9 faults in a row) ~ 150 * 0.3**9: never


def cache_rows(cache_dir: Path) -> tuple[int, int]:
    with sqlite3.connect(cache_dir / "annotations.sqlite") as db:
        return db.execute("SELECT COUNT(*), COUNT(DISTINCT instruction) FROM annotations").fetchone()


def test_thirty_percent_mixed_faults_lose_and_duplicate_nothing(backend, tmp_path: Path) -> None:
    records, outputs = eval_rows(N_ROWS)
    n = N_ROWS - 1
    faults = FaultInjector(FaultConfig(rate=0.3, seed=0, slow_s=SLOW_S))
    with serve_in_thread(HumpbackServer({"judge": backend}, faults=faults)) as server:
        cfg = api_config(server.url, tmp_path, max_concurrency=4, max_retries=MAX_RETRIES)
        judge = make_judge(cfg)
        rows = attach_extras(judge, annotate(judge, records, outputs, "M_1", 0))  # one run: no rerun needed
        served, injected = server.stats(), dict(faults.injected)
        rerun = make_judge(cfg)
        again = annotate(rerun, records, outputs, "M_1", 0)
        assert server.stats()["requests"] == served["requests"]  # the rerun is answered from the cache
    stats = judge.stats
    print(f"\n{n} items, {sum(injected.values()) / served['requests']:.1%} of requests faulted {injected}: {served['requests']} "
          f"requests, {stats['retries']} retries, {n - stats['calls']} lost, {stats['calls'] - n} duplicated")
    assert all(injected[k] > 0 for k in ("500", "429", "slow", "garbage", "truncated", "no_choices", "empty")), injected
    assert sum(injected.values()) == served["requests"] - n  # every fault was met, every item answered once
    assert 0.25 <= sum(injected.values()) / served["requests"] <= 0.35
    assert [r["preference"] for r in rows] == pytest.approx(expected_preferences(records), abs=1e-4)  # 0 lost, none wrong
    assert stats["calls"] == n and stats["failed_calls"] == 0 and stats["parse_failures"] == 0  # 0 judged twice
    assert cache_rows(tmp_path) == (n, n)
    assert len({r["instruction"] for r in rows}) == N_ROWS and all(r["raw_completion"]["text"] == "M" for r in rows[1:])
    assert served["requests"] == n + stats["retries"] <= 2 * n  # bounded: about n / (1 - 0.3), never n * (MAX_RETRIES + 1)
    assert served["completions"] <= n + injected["slow"]  # a timed-out request may still have been served; never used twice
    assert [r["preference"] for r in again] == [r["preference"] for r in rows] and rerun.stats["calls"] == 0


def test_after_a_forced_failure_a_rerun_asks_only_for_the_missing(backend, tmp_path: Path) -> None:
    records, outputs = eval_rows(N_ROWS)
    n = N_ROWS - 1
    faults = FaultInjector(FaultConfig(rate=0.3, seed=2))  # with no retries, about 30% of the items fail
    with serve_in_thread(HumpbackServer({"judge": backend}, faults=faults)) as server:
        judge = make_judge(api_config(server.url, tmp_path, max_concurrency=4, max_retries=0))
        with pytest.raises(JudgeUnavailable) as err:
            annotate(judge, records, outputs, "M_1", 0)
    missing = judge.stats["failed_calls"]
    assert 0 < missing < n and judge.stats["calls"] == n - missing
    assert f"{missing} of {n} comparisons missing" in str(err.value), str(err.value)
    assert cache_rows(tmp_path) == (n - missing, n - missing)  # every reply that arrived was kept

    with serve_in_thread(HumpbackServer({"judge": backend})) as healthy:
        resumed = make_judge(api_config(healthy.url, tmp_path, max_concurrency=4))
        rows = annotate(resumed, records, outputs, "M_1", 0)
        assert healthy.stats()["requests"] == missing  # only what was missing was asked for
    print(f"\nforced failure: {missing} of {n} missing; the rerun made {missing} requests")
    assert resumed.stats["cache_hits"] == n - missing and resumed.stats["calls"] == missing
    assert [r["preference"] for r in rows] == pytest.approx(expected_preferences(records), abs=1e-4)
    assert cache_rows(tmp_path) == (n, n)
