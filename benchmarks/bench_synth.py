"""Synthetic-corpus speed: records per second per core at 500 Hz, 10 s (target >= 20).

Run: ``OMP_NUM_THREADS=1 python -m benchmarks.bench_synth [--n 200]``. One process = one core;
corpus throughput with --workers k is about k times this.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.machine import machine_line
from melp.synth import simulate_record
from melp.synth.corpus import _rows, _write_wfdb

FS, SECONDS = 500, 10


def bench_simulate(n: int, seed: int) -> float:
    start = time.perf_counter()
    for index in range(n):
        simulate_record(seed, index, fs=FS, seconds=SECONDS)
    return n / (time.perf_counter() - start)


def bench_simulate_and_write(n: int, seed: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        for index in range(n):
            ecg = simulate_record(seed, index, fs=FS, seconds=SECONDS)
            _write_wfdb(Path(folder), index, ecg)
            _rows(index, ecg)
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200, help="records per measurement")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    simulate_record(args.seed, 0)  # warm-up: imports, filter design caches
    simulate_rate = bench_simulate(args.n, args.seed)
    write_rate = bench_simulate_and_write(args.n, args.seed)
    print(f"simulate only      : {simulate_rate:6.1f} records/s per core ({FS} Hz, {SECONDS} s, n={args.n})")
    print(f"simulate + WFDB    : {write_rate:6.1f} records/s per core")
    print(f"100k records on 2 cores (simulate + write): {100_000 / (2 * write_rate) / 3600:.2f} h")
    print(f"one process; {machine_line()} at the end")


if __name__ == "__main__":
    main()
