"""Paper-preset ECG tower inference on a GPU: samples per second at batch 64, fp32 and bf16 autocast.

    python -m benchmarks.bench_gpu [--batch-size 64] [--repeats 20] [--device cuda] [--no-append]

Issue 18 asks for these figures when a GPU is lent. The tower is built in the released weights' layout
with random weights (speed does not depend on them) and fed random 12 x 5000 inputs (10 s at 500 Hz), so
the run needs nothing but the repository: it fits one short call on a lent machine. Prints the device,
the batch, samples/s and peak memory per precision and the bf16 rhythm-embedding cosine to fp32; appended
to RESULTS.md unless --no-append. ``--device cpu`` runs the same code on the CPU (the test suite's check).
"""
from __future__ import annotations

import argparse
import datetime
import logging
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_precision import paper_tower  # noqa: E402
from benchmarks.machine import machine_line  # noqa: E402
from melp.logs import configure_logging  # noqa: E402

logger = logging.getLogger("bench_gpu")
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SAMPLES = 5000  # the paper preset's input: 10 s at 500 Hz


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def throughput(tower: torch.nn.Module, signals: torch.Tensor, precision: str, repeats: int) -> tuple[float, torch.Tensor]:
    """(samples per second, rhythm embeddings) of ``tower`` on ``signals`` at fp32 or under bf16 autocast."""
    device = signals.device
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")

    def run() -> torch.Tensor:
        with torch.inference_mode(), autocast:
            return tower(signals)["rhythm"]

    rhythm = run()  # warm-up: kernels chosen, memory allocated
    _synchronise(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        _synchronise(device)
        times.append(time.perf_counter() - start)
    return signals.shape[0] / statistics.median(times), rhythm.float()


def main(argv: list[str] | None = None) -> list[tuple[str, str]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    configure_logging(logging.INFO)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("bench_gpu: torch sees no GPU here; run it on a GPU machine (or pass --device cpu)")
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    tower = paper_tower().to(device)
    torch.manual_seed(0)
    signals = torch.randn(args.batch_size, 12, SAMPLES, device=device)
    rows = []
    reference = None
    for precision in ("fp32", "bf16"):
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        rate, rhythm = throughput(tower, signals, precision, args.repeats)
        peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
        if reference is None:
            reference = rhythm
        cosine = torch.nn.functional.cosine_similarity(rhythm, reference).min().item()
        rows.append((f"paper tower, batch {args.batch_size}, {precision}",
                     f"{rate:,.0f} samples/s, peak {peak:.2f} GiB, min rhythm cosine to fp32 {cosine:.5f}"))
    header = f"{name}; {machine_line(torch.get_num_threads())}"
    table = "\n".join([header, "| measure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows])
    logger.info("\n%s", table)
    if not args.no_append:
        with RESULTS.open("a") as handle:
            handle.write(f"\n## Paper tower inference on a GPU (benchmarks/bench_gpu.py, {datetime.date.today()})\n\n"
                         f"Command: `python -m benchmarks.bench_gpu --batch-size {args.batch_size}`.\n\n{table}\n")
    return rows


if __name__ == "__main__":
    main()
