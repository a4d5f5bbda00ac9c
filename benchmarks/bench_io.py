"""Read + preprocess throughput for 500 Hz 10 s WFDB records, beside bare ``wfdb.rdsamp`` on the same files.

Usage: python -m benchmarks.bench_io [--n 200] [--fmt 16] [--repeats 5] [--results benchmarks/RESULTS.md]
Target (issue 2): read_ecg + preprocess costs at most 2x the bare read.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import wfdb

import melp
from benchmarks.machine import machine_line


logger = logging.getLogger("bench_io")

FS = 500
SECONDS = 10
RESULTS_HEADER = "# Benchmark results\n"


def write_records(folder: Path, n: int, fmt: str) -> list[str]:
    """n synthetic 12-lead records (sine + noise), 500 Hz, 10 s, in WFDB format ``fmt``."""
    rng = np.random.default_rng(0)
    t = np.arange(FS * SECONDS) / FS  # (T,)
    names = []
    for i in range(n):
        beat = np.sin(2 * np.pi * 1.2 * t)[:, None] * rng.uniform(0.2, 1.5, 12)  # (T, 12)
        signal = beat + 0.05 * rng.standard_normal((t.size, 12))  # (T, 12) mV
        name = f"rec{i:04d}"
        wfdb.wrsamp(
            name, fs=FS, units=["mV"] * 12, sig_name=list(melp.STANDARD_LEADS), p_signal=signal,
            fmt=[fmt] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(folder),
        )
        names.append(str(folder / name))
    return names


def seconds_per_record(work, names: list[str]) -> float:
    start = time.perf_counter()
    for name in names:
        work(name)
    return (time.perf_counter() - start) / len(names)


def time_both(names: list[str], repeats: int) -> tuple[float, float]:
    """Best-of-``repeats`` seconds per record, bare read and full path, passes interleaved so that
    load from other processes hits both alike."""
    bare, full = float("inf"), float("inf")
    for _ in range(repeats):
        bare = min(bare, seconds_per_record(wfdb.rdsamp, names))
        full = min(full, seconds_per_record(read_and_preprocess, names))
    return bare, full


def read_and_preprocess(name: str) -> None:
    melp.preprocess(melp.read_ecg(name))


def append_results(path: Path, command: str, n: int, fmt: str, bare: float, full: float) -> None:
    """Append one section (heading, command, machine, table) to the markdown results file."""
    machine = f"{machine_line()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    section = (
        f"\n## Read + preprocess vs bare WFDB read (benchmarks/bench_io.py), {date.today().isoformat()}\n\n"
        f"{n} records, 12 x {FS * SECONDS} samples ({FS} Hz, {SECONDS} s), WFDB format {fmt}; {machine}.\n"
        f"Command: `{command}`\n\n"
        "| path | records/s | ms/record |\n|---|---|---|\n"
        f"| bare `wfdb.rdsamp` | {1 / bare:.0f} | {bare * 1e3:.2f} |\n"
        f"| `melp.read_ecg` + `melp.preprocess` | {1 / full:.0f} | {full * 1e3:.2f} |\n"
        f"| ratio full / bare (target <= 2) | {full / bare:.2f} | |\n"
    )
    if not path.exists():
        path.write_text(RESULTS_HEADER)
    with path.open("a") as handle:
        handle.write(section)


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="records to write and read")
    parser.add_argument("--fmt", default="16", help="WFDB storage format (16, 212, ...)")
    parser.add_argument("--repeats", type=int, default=5, help="passes over the records; the best is kept")
    parser.add_argument("--results", type=Path, default=None, help="append a row to this markdown file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as folder:
        names = write_records(Path(folder), args.n, args.fmt)
        read_and_preprocess(names[0])  # warm caches (imports, filter coefficients)
        bare, full = time_both(names, args.repeats)
    ratio = full / bare
    logger.info("wfdb.rdsamp:                 %7.1f records/s (%.2f ms/record)", 1 / bare, bare * 1e3)
    logger.info("melp.read_ecg + preprocess:  %7.1f records/s (%.2f ms/record)", 1 / full, full * 1e3)
    logger.info("ratio full / bare read:      %7.2f (target <= 2.0)", ratio)
    if args.results is not None:
        command = "python -m benchmarks.bench_io " + " ".join(argv if argv is not None else sys.argv[1:])
        append_results(args.results, command, args.n, args.fmt, bare, full)
    return ratio


if __name__ == "__main__":
    main()
