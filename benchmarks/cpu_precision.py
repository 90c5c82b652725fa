"""Training-step speed of the default scratch model on CPU: bf16 autocast vs fp32, in one run.

    python benchmarks/cpu_precision.py [--steps 8] [--layers 4] [--hidden 128]

Prints seconds per optimizer step (16 x 256 tokens, the pretraining batch) for each precision, the
steps alternating so both see the same machine, and the fp32 / bf16 time ratio (> 1: bf16 is faster).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=128)
    args = ap.parse_args()
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=2048, hidden_size=args.hidden, intermediate_size=3 * args.hidden,
                                         num_hidden_layers=args.layers, num_attention_heads=4, num_key_value_heads=4,
                                         max_position_embeddings=1024))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = torch.randint(0, 2048, (16, 256))
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for step in range(args.steps + 2):
        for mode in times:
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "bf16"):
                loss = model(input_ids=batch, labels=batch).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
            if step >= 2:  # the first steps warm up allocators and kernels
                times[mode].append(time.perf_counter() - start)
    med = {m: statistics.median(t) for m, t in times.items()}
    for m, t in med.items():
        print(f"{m}: {t:.3f} s/step, {16 * 256 / t:,.0f} tokens/s")
    print(f"fp32 / bf16 time ratio: {med['fp32'] / med['bf16']:.2f}")


if __name__ == "__main__":
    main()
