"""Optimiser steps per second of a preset on this machine (random signals, synthetic-style reports).

    python -m benchmarks.bench_train_step --preset demo --batch-size 32 --steps 10 [--threads 2]

Times forward + MelpLoss + backward + AdamW on the real model, without data loading, so the figure
is the model's cost alone (compare with benchmarks/bench_loader.py for the loader). On a GPU it runs
under bf16 autocast (as training does) and also reports the GPU's name and the peak memory PyTorch
allocated over the timed steps.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from benchmarks.machine import machine_line
from train.builders import PretrainStep, build_model
from train.config import TrainConfig
from train.optim import build_optimizer

REPORT = "sinus rhythm. left axis deviation. borderline ecg. incomplete right bundle branch block."
WARMUP_STEPS = 2


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig(model_preset=args.preset, batch_size=args.batch_size)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = build_model(config).to(device).train()
    step_fn, optimizer = PretrainStep(model.config), build_optimizer(model, config)
    samples = model.config.input_samples
    batch = {"signals": torch.randn(args.batch_size, 12, samples, device=device),
             "lead_mask": torch.ones(args.batch_size, 12, dtype=torch.bool, device=device),
             "reports": [REPORT] * args.batch_size}
    durations = []
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for step in range(WARMUP_STEPS + args.steps):
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            losses = step_fn(model, batch)
        losses["loss"].backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= WARMUP_STEPS:
            durations.append(time.perf_counter() - start)
    seconds = sorted(durations)[len(durations) // 2]  # median: one slow step does not move it
    figures = {"preset": args.preset, "device": str(device), "threads": torch.get_num_threads(),
               "batch_size": args.batch_size, "s_per_step": round(seconds, 4),
               "samples_per_s": round(args.batch_size / seconds, 1), "machine": machine_line()}
    if device.type == "cuda":
        figures.update(gpu=torch.cuda.get_device_name(device), precision="bf16 autocast",
                       peak_memory_gib=round(torch.cuda.max_memory_allocated(device) / 2**30, 2))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
