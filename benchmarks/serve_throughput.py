"""humpback-serve's micro-batcher, and the server engine against the in-process runner, in one run.

    python benchmarks/serve_throughput.py [MODEL_DIR] [--job SUMMARY_JSON] [--prompts 128] [--clients 32] [--max-new-tokens 64]

MODEL_DIR: a model folder (default: M_0 of the newest job under outputs/runs/). Prompts: that job's eval
prompts (repeated to --prompts), in the model's prompt template, greedy.
1. humpback-serve (in this process, batch 32): --clients concurrent clients, one prompt per request,
   against one client sending the same requests one at a time. Prints requests/s and the ratio.
2. `generate.engine=humpback-serve` (a humpback-serve subprocess started by the engine) against the
   in-process `hf` runner on the same prompts and batches: seconds and ratio, startup apart, and whether
   the answers are identical.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
from omegaconf import OmegaConf

from humpback.data.records import read_jsonl
from humpback.inference import make_engine
from humpback.inference.config import DecodeConfig, GenerateConfig
from humpback.inference.hf_runner import HFRunner
from humpback.models.config import ModelConfig
from humpback.serve import HumpbackServer, serve_in_thread
from humpback.stages import files

from finished_job import load_job  # noqa: E402  (benchmarks/finished_job.py, beside this script)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?")
    ap.add_argument("--job", type=Path, default=None, help="a finished job's summary.json (default: the newest under outputs/runs/)")
    ap.add_argument("--prompts", type=int, default=128)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    args = ap.parse_args()
    art = load_job(args.job).artifacts
    model = args.model or str(art["M_0"] / files.MODEL)
    instructions = [r["instruction"] for r in read_jsonl(art["eval_set"] / files.EVAL)]
    runner = HFRunner(model, ModelConfig(), device="cpu", batch_size=args.batch_size)
    texts = [runner.format(instructions[i % len(instructions)]) for i in range(args.prompts)]
    decode = DecodeConfig(temperature=0.0, max_new_tokens=args.max_new_tokens)

    with serve_in_thread(HumpbackServer({"m": runner})) as server:
        client = openai.OpenAI(api_key="none", base_url=server.url, max_retries=0, timeout=600)

        def ask(text: str) -> str:
            return client.completions.create(model="m", prompt=text, max_tokens=args.max_new_tokens, temperature=0.0).choices[0].text

        ask(texts[0])  # warm up
        start = time.perf_counter()
        one = [ask(t) for t in texts]
        t_one = time.perf_counter() - start
        before = server.stats()
        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            many = list(pool.map(ask, texts))
        t_many = time.perf_counter() - start
        after = server.stats()
    batches = after["batches"] - before["batches"]
    print(f"{args.prompts} prompts, greedy, max {args.max_new_tokens} new tokens, model {model}, server batch {args.batch_size}")
    print(f"  1 client:        {t_one:7.2f} s  {args.prompts / t_one:6.2f} requests/s")
    print(f"  {args.clients} clients:      {t_many:7.2f} s  {args.prompts / t_many:6.2f} requests/s  ({batches} forward batches, "
          f"{args.prompts / max(1, batches):.1f} prompts each)")
    print(f"  {args.clients} clients / 1: {t_one / t_many:.1f}x requests/s; same answers: {one == many} "
          f"({sum(a == b for a, b in zip(one, many))}/{len(one)})")

    start = time.perf_counter()
    local = runner.generate(texts, decode)
    t_local = time.perf_counter() - start
    gen = OmegaConf.structured(GenerateConfig(engine="humpback-serve", batch_size=args.batch_size))
    with make_engine(model, ModelConfig(), gen) as engine:
        start = time.perf_counter()
        engine.format("x")  # starts the server (a subprocess) and waits for its health check
        t_start = time.perf_counter() - start
        start = time.perf_counter()
        served = engine.generate(texts, decode)
        t_served = time.perf_counter() - start
    print(f"  in-process hf runner:       {t_local:7.2f} s")
    print(f"  engine=humpback-serve:      {t_served:7.2f} s  (+ {t_start:.1f} s to start the server)  "
          f"{t_local / t_served:.2f}x the runner's speed; identical answers: {served == local}")


if __name__ == "__main__":
    main()
