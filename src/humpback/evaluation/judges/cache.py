"""Annotation cache: a judge's verdicts on disk, so a rerun (or another sweep point judging the same
outputs) makes no new judge calls.

One SQLite file (`<cache_dir>/annotations.sqlite`, safe for concurrent jobs) holds a row per verdict,
keyed by sha256 of (instruction, output_1, output_2, judge fingerprint), where output_1/output_2 are in
the order the judge saw them and the fingerprint is the canonical JSON of the judge settings that can
change a verdict (kind, model, prompt format and wording, decoding; or the AlpacaEval annotator's name
and config digest). Judges that also read the eval record (the toy world's oracle checks the facts kept
there) get the record in the key as well. Where the judge is served (base_url), how hard it is pushed
(concurrency, retries, timeouts), its label and prices are left out.
Failed requests are never cached; unparsable answers are (they are answers, and were paid for).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Optional

from omegaconf import OmegaConf

from humpback.evaluation.judges.accounting import JudgeStats
from humpback.evaluation.judges.prompted import HumpbackAnnotator, Verdict

# Settings that cannot change a verdict: excluded from the fingerprint.
OPERATIONAL_FIELDS = frozenset({
    "name", "order_seed", "base_url", "api_key_env", "max_concurrency", "max_retries", "timeout_s", "backoff_s", "max_backoff_s",
    "price_per_1k_prompt_tokens", "price_per_1k_completion_tokens", "cache_dir", "device", "batch_size",
})


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def config_dict(cfg: Any) -> dict[str, Any]:
    if OmegaConf.is_config(cfg):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    if is_dataclass(cfg):
        return asdict(cfg)
    return dict(cfg)


def judge_fingerprint(cfg: Any) -> dict[str, Any]:
    """The verdict-relevant part of a judge config (plus the prompt wording for prompted judges). With an
    AlpacaEval annotator its shipped config and prompt (digest) replace our format and decoding fields,
    and a null judge.model of the API judge counts as the annotator's model."""
    from humpback.evaluation.judges.alpaca import HUMPBACK, load_annotator
    from humpback.evaluation.judges.prompts import template_fingerprint

    fp = {k: v for k, v in config_dict(cfg).items() if k not in OPERATIONAL_FIELDS}
    annotator = fp.pop("annotator", HUMPBACK)  # left out for our wording, so keys from before annotators stay valid
    if fp.get("kind") not in ("api", "hf"):
        return fp
    if annotator == HUMPBACK:
        fp["prompt_template"] = template_fingerprint(fp["prompt_format"])
        if fp["prompt_format"] == "logprob":
            fp.pop("max_tokens", None)  # the logprob format always reads a single token
        else:
            fp.pop("top_logprobs", None)
        default_model = HumpbackAnnotator.model
    else:
        shipped = load_annotator(annotator)
        for unused in ("prompt_format", "max_tokens", "temperature", "top_logprobs"):
            fp.pop(unused, None)
        fp.update(annotator=annotator, annotator_config=shipped.digest)
        default_model = shipped.model
    if fp["kind"] == "api" and not fp.get("model"):
        fp["model"] = default_model
    return fp


class AnnotationCache:
    def __init__(self, cache_dir: str | Path, fingerprint: dict[str, Any]):
        self.path = Path(cache_dir) / "annotations.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fingerprint = _canonical(fingerprint)
        self.judge_id = hashlib.sha256(self.fingerprint.encode()).hexdigest()[:16]
        self._local = threading.local()
        with self._conn() as db:
            db.execute("CREATE TABLE IF NOT EXISTS judges (judge_id TEXT PRIMARY KEY, config TEXT NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS annotations (key TEXT PRIMARY KEY, judge_id TEXT NOT NULL, instruction TEXT, "
                       "output_1 TEXT, output_2 TEXT, preference REAL, extras TEXT NOT NULL, created REAL NOT NULL)")
            db.execute("INSERT OR IGNORE INTO judges VALUES (?, ?)", (self.judge_id, self.fingerprint))

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:  # one connection per thread; SQLite's file locks order writers across processes
            conn = self._local.conn = sqlite3.connect(self.path, timeout=120.0)
        return conn

    def key(self, instruction: str, output_1: str, output_2: str, record: Optional[dict[str, Any]] = None) -> str:
        """`record` joins the key only for judges that read it (the toy oracle checks facts kept there)."""
        fields = {"instruction": instruction, "output_1": output_1, "output_2": output_2, "judge": self.fingerprint}
        if record is not None:
            fields["record"] = record
        return hashlib.sha256(_canonical(fields).encode()).hexdigest()

    def get_many(self, keys: list[str]) -> dict[str, Verdict]:
        found: dict[str, Verdict] = {}
        unique = list(dict.fromkeys(keys))
        db = self._conn()
        for b in range(0, len(unique), 500):  # stay under SQLite's bound-parameter limit
            chunk = unique[b : b + 500]
            marks = ",".join("?" * len(chunk))
            for key, pref, extras in db.execute(f"SELECT key, preference, extras FROM annotations WHERE key IN ({marks})", chunk):
                found[key] = Verdict(pref, json.loads(extras))
        return found

    def put(self, key: str, item: dict[str, Any], verdict: Verdict) -> None:
        if verdict.failed:
            return
        with self._conn() as db:  # one transaction per verdict: a crash loses at most the request in flight
            db.execute("INSERT OR IGNORE INTO annotations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (key, self.judge_id, item["instruction"], item["output_a"], item["output_b"], verdict.preference,
                        _canonical(verdict.extras), time.time()))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def __len__(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM annotations WHERE judge_id = ?", (self.judge_id,)).fetchone()[0]


class CachedJudge:
    """Wraps any PairwiseJudge: cached items cost nothing, duplicates in a batch are judged once, and each
    new verdict is stored the moment it arrives. `stats` adds cache hits/misses to the judge's totals.
    `key_record`: the judge reads the eval record too (the oracle), so the record is part of the key."""

    def __init__(self, inner: Any, cache: AnnotationCache, key_record: bool = False):
        self.inner = inner
        self.cache = cache
        self.key_record = key_record
        self.name = inner.name
        self.accounting: JudgeStats = getattr(inner, "accounting", None) or JudgeStats()
        self._extras: dict[tuple[str, str, str], dict[str, Any]] = {}
        if hasattr(inner, "swap_coin"):  # the inner judge's output-order coin (an AlpacaEval annotator's) stays in force
            self.swap_coin = inner.swap_coin

    @property
    def stats(self) -> dict[str, float]:
        return self.accounting.as_dict()

    def compare_many(self, items: list[dict[str, Any]]) -> list[Optional[float]]:
        keys = [self.cache.key(it["instruction"], it["output_a"], it["output_b"], it.get("record") if self.key_record else None)
                for it in items]
        known = self.cache.get_many(keys)
        first: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k not in known:
                first.setdefault(k, i)  # a pair repeated in the batch is judged once
        todo = list(first)
        self.accounting.add(cache_hits=len(items) - len(todo), cache_misses=len(todo))  # a repeat in the batch costs nothing either
        if todo:
            new_items = [items[first[k]] for k in todo]

            def keep(j: int, verdict: Verdict) -> None:
                self.cache.put(todo[j], new_items[j], verdict)
                known[todo[j]] = verdict

            if hasattr(self.inner, "judge_items"):
                self.inner.judge_items(new_items, on_verdict=keep)
            else:
                for j, pref in enumerate(self.inner.compare_many(new_items)):
                    keep(j, Verdict(pref))
        for it, k in zip(items, keys):
            self._extras[(it["instruction"], it["output_a"], it["output_b"])] = dict(known[k].extras)
        return [known[k].preference for k in keys]

    def extras_for(self, instruction: str, output_a: str, output_b: str) -> dict[str, Any]:
        """Accounting fields (raw_completion, tokens, price_per_example, time_per_example) of a judged pair."""
        return dict(self._extras.get((instruction, output_a, output_b), {}))
