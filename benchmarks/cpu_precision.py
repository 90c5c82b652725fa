"""Training-step speed of the default scratch model on CPU: fp32, bf16 autocast and fp32 under
torch.compile, in one run.

    python benchmarks/cpu_precision.py [--steps 8] [--layers 4] [--hidden 128] [--modes fp32,bf16,compile]

Prints seconds per optimizer step (16 x 256 tokens, the pretraining batch) for each mode, the steps
alternating so every mode sees the same machine, and each mode's time as a ratio of fp32's (> 1: faster
than fp32). `compile` needs a C compiler; its first step, which compiles, is reported apart.
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
    ap.add_argument("--modes", default="fp32,bf16", help="comma-separated: fp32, bf16, compile")
    args = ap.parse_args()
    modes = ["fp32"] + [m for m in args.modes.split(",") if m != "fp32"]  # fp32 is the baseline
    optimizers, forward = {}, {}
    for mode in modes:
        torch.manual_seed(0)  # the same initial weights in every mode
        model = LlamaForCausalLM(LlamaConfig(
            vocab_size=2048, hidden_size=args.hidden, intermediate_size=3 * args.hidden, num_hidden_layers=args.layers,
            num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=1024))
        optimizers[mode] = torch.optim.AdamW(model.parameters(), lr=1e-3)
        forward[mode] = torch.compile(model) if mode == "compile" else model
    batch = torch.randint(0, 2048, (16, 256))
    times: dict[str, list[float]] = {m: [] for m in modes}
    first: dict[str, float] = {}
    for step in range(args.steps + 2):
        for mode in modes:
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "bf16"):
                loss = forward[mode](input_ids=batch, labels=batch).loss
            loss.backward()
            optimizers[mode].step()
            optimizers[mode].zero_grad()
            took = time.perf_counter() - start
            if step == 0:
                first[mode] = took
            if step >= 2:  # the first steps warm up allocators and kernels (and compile)
                times[mode].append(took)
    med = {m: statistics.median(t) for m, t in times.items()}
    for m, t in med.items():
        print(f"{m}: {t:.3f} s/step, {16 * 256 / t:,.0f} tokens/s (first step {first[m]:.1f} s)")
    for m in modes[1:]:
        print(f"fp32 / {m} time ratio: {med['fp32'] / med[m]:.2f}")


if __name__ == "__main__":
    main()
