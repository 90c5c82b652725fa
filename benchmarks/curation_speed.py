"""Logprob curation (one forward pass per pair) against generate-and-parse curation (the paper's: sample a
rating, parse "Score: k"), on the same pairs with the same curator, in one run.

    python benchmarks/curation_speed.py [SUMMARY_JSON] [--pairs N]

SUMMARY_JSON: a finished toy-world job's summary.json (default: the newest under outputs/runs/); its
cache gives the curator M_0, the candidates A and the world's gold grades. Prints pairs/s of each mode and
their ratio to generate-and-parse (logprob with and without the shared-prefix cache), the Spearman correlation of the two scores, and each mode's precision / recall against the
gold (positive: grade >= 4) at the pipeline's selection rule (generated score >= curate.threshold; expected
score >= threshold - curate.logprob_margin). Both modes run through the in-process HF runner.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from omegaconf import OmegaConf
from scipy.stats import spearmanr

from humpback.data.records import read_jsonl
from humpback.data.toyworld.world import FILES as WORLD_FILES
from humpback.evaluation.curator_quality import curator_quality, gold_from_world
from humpback.inference import hf_runner, make_engine
from humpback.stages import files
from humpback.stages.curate import rate_by_generation, rate_by_logprob

from finished_job import load_job  # noqa: E402  (benchmarks/finished_job.py, beside this script)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("summary", nargs="?", type=Path)
    ap.add_argument("--pairs", type=int, default=None, help="the first N candidates (default: all)")
    args = ap.parse_args()
    job = load_job(args.summary)
    summary_path, art, cfg = job.path, job.artifacts, job.cfg
    cands = read_jsonl(art["augment"] / files.CANDIDATES)[: args.pairs]
    gold = gold_from_world(cands, read_jsonl(art["world"] / WORLD_FILES["gold_segments"]))
    model_cfg = OmegaConf.to_object(cfg.model)
    engine = make_engine(str(art["M_0"] / files.MODEL), model_cfg, cfg.generate)
    engine.format("warm up")  # loads the model outside the timings

    timed: dict[str, tuple[float, list[dict]]] = {}
    shared_prefix = hf_runner.MIN_SHARED_PREFIX
    for mode, rate, prefix in (("generate", rate_by_generation, shared_prefix), ("logprob", rate_by_logprob, shared_prefix),
                               ("logprob, no shared prefix", rate_by_logprob, 1 << 30)):
        hf_runner.MIN_SHARED_PREFIX = prefix  # 1 << 30: every prompt runs whole, as before the prefix cache
        rows, start = [], time.perf_counter()
        for b in range(0, len(cands), cfg.generate.shard_size):  # the stage's shards
            rows += rate(engine, cands[b : b + cfg.generate.shard_size], cfg)
        timed[mode] = (time.perf_counter() - start, rows)
    hf_runner.MIN_SHARED_PREFIX = shared_prefix

    print(f"{len(cands)} pairs from {summary_path}, curator M_0, {cfg.curate.samples} sampled rating(s) per pair "
          f"(curate.decode max_new_tokens={cfg.curate.decode.max_new_tokens}), batch {cfg.generate.batch_size}, "
          f"{len(gold)} with gold")
    speed = {mode: len(cands) / secs for mode, (secs, _) in timed.items()}
    for mode, (secs, _) in timed.items():
        print(f"  {mode:26s} {secs:8.2f} s  {speed[mode]:8.1f} pairs/s  {speed[mode] / speed['generate']:5.1f}x generate")
    gap = max(abs(a - b) for a, b in zip(*([r["score"] for r in timed[m][1]] for m in ("logprob", "logprob, no shared prefix"))))
    print(f"  shared prefix vs whole prompts: largest expected-score difference {gap:.1e}")
    gen, lp = ({r["id"]: r["score"] for r in timed[m][1]} for m in ("generate", "logprob"))
    both = [i for i in gen if gen[i] is not None and lp.get(i) is not None]
    rho = spearmanr([gen[i] for i in both], [lp[i] for i in both]).statistic if len(both) > 2 else float("nan")
    print(f"  Spearman(generated score, expected score) = {rho:.3f} over {len(both)} pairs parsed in both "
          f"({len(gen) - len(both)} unparsed generated)")
    expected = sorted(lp.values(), reverse=True)
    print(f"  expected scores range {expected[-1]:.2f}..{expected[0]:.2f}")
    threshold = float(cfg.curate.threshold)
    for mode, cut in (("generate", threshold), ("logprob", threshold - cfg.curate.logprob_margin)):
        q = curator_quality(timed[mode][1], gold, cut)
        p = "n/a" if q["precision"] is None else f"{q['precision']:.2f}"
        r = "n/a" if q["recall"] is None else f"{q['recall']:.2f}"
        print(f"  {mode:9s} score >= {cut:g}: selected {q['selected']}, precision {p}, recall {r} "
              f"(gold positives {q['positives']} of {q['labelled']})")
    kept = curator_quality(timed["generate"][1], gold, threshold)["selected"]
    if kept:  # the ranking alone: logprob's best pairs, as many as generate-and-parse kept
        q = curator_quality(timed["logprob"][1], gold, expected[kept - 1])
        print(f"  logprob   its top {kept} (as many as generate kept): precision {q['precision']:.2f}, recall {q['recall']:.2f}")


if __name__ == "__main__":
    main()
