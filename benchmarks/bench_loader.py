"""Loader throughput: the raw WFDB path (read + preprocess per item) against the memmap float16 store.

    python -m benchmarks.bench_loader [--records 512] [--workers 0 2] [--epochs 3] [--append-results]

Writes a throwaway MIMIC-layout corpus of noise records (500 Hz, 10 s, 12 leads, 16-bit WFDB) into a temp
folder, then measures samples/s of a torch DataLoader at batch 64 over (1) the raw dataset and (2) the
array store made from it (conversion time reported too). Only the loader runs: no model.
"""
from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import wfdb
from torch.utils.data import DataLoader

import melp
from melp.datasets import ArrayStoreDataset, MimicDataset, convert_to_store
from melp.logs import configure_logging
from melp.record import STANDARD_LEADS
from benchmarks.machine import machine_line


BATCH_SIZE = 64
SOURCE_FS = 500
SOURCE_SECONDS = 10
RESULTS = Path(__file__).with_name("RESULTS.md")
RESULTS_HEADING = "# Benchmark results\n"
REPORT = "Sinus rhythm. Normal ECG. No previous tracing available for comparison"


def write_corpus(root: Path, n_records: int) -> None:
    """n_records noise ECGs in the MIMIC-IV-ECG layout, one subject each."""
    rng = np.random.default_rng(0)
    rows, measurements = [], []
    for k in range(n_records):
        subject, study = 10_000_000 + k, 40_000_000 + k
        relative = Path("files") / f"p{str(subject)[:4]}" / f"p{subject}" / f"s{study}"
        (root / relative).mkdir(parents=True, exist_ok=True)
        signal_mv = 0.3 * rng.standard_normal((SOURCE_FS * SOURCE_SECONDS, 12))  # (T, 12)
        wfdb.wrsamp(str(study), fs=SOURCE_FS, units=["mV"] * 12, sig_name=list(STANDARD_LEADS), p_signal=signal_mv,
                    fmt=["16"] * 12, adc_gain=[200.0] * 12, baseline=[0] * 12, write_dir=str(root / relative))
        rows.append({"subject_id": subject, "study_id": study, "file_name": study, "ecg_time": "", "path": str(relative / str(study))})
        measurements.append({"subject_id": subject, "study_id": study, "report_0": REPORT})
    pd.DataFrame(rows).to_csv(root / "record_list.csv", index=False)
    pd.DataFrame(measurements).to_csv(root / "machine_measurements.csv", index=False)


def samples_per_second(dataset: torch.utils.data.Dataset, workers: int, epochs: int) -> float:
    """Samples/s of a shuffled DataLoader at batch 64 over ``epochs`` passes (first batch included)."""
    loader = DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True, num_workers=workers,
                        persistent_workers=workers > 0, generator=torch.Generator().manual_seed(0))
    seen, start = 0, time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            seen += batch["signal"].shape[0]
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=512)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--epochs", type=int, default=3, help="store passes (the raw path makes one)")
    parser.add_argument("--append-results", action="store_true", help=f"append a section to {RESULTS.name}")
    args = parser.parse_args()
    configure_logging(logging.WARNING)
    torch.set_num_threads(1)
    config = melp.PreprocessConfig()
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_corpus(root / "corpus", args.records)
        source = MimicDataset(root / "corpus", "all", config)
        start = time.perf_counter()
        store = ArrayStoreDataset(convert_to_store(source, root / "store", num_workers=max(args.workers)))
        convert_rate = len(source) / (time.perf_counter() - start)
        lines.append(f"| store conversion ({max(args.workers)} workers) | {convert_rate:,.0f} |")
        for workers in args.workers:
            raw_rate = samples_per_second(source, workers, 1)
            store_rate = samples_per_second(store, workers, args.epochs)
            lines.append(f"| raw WFDB read + preprocess, {workers} workers | {raw_rate:,.0f} |")
            lines.append(f"| memmap float16 store, {workers} workers | {store_rate:,.0f} |")
    section = (f"\n## Data loader (benchmarks/bench_loader.py)\n\n{args.records} records, 12 x 5000 samples "
               f"(500 Hz, 10 s), batch {BATCH_SIZE}, shuffled; {machine_line(1)} at the end.\n"
               f"Command: `python -m benchmarks.bench_loader --records {args.records} --workers "
               f"{' '.join(map(str, args.workers))} --epochs {args.epochs}`\n\n| loader | samples/s |\n|---|---|\n"
               + "\n".join(lines) + "\n")
    print(section)
    if args.append_results:
        existing = RESULTS.read_text() if RESULTS.is_file() else RESULTS_HEADING
        RESULTS.write_text(existing.rstrip("\n") + "\n" + section)


if __name__ == "__main__":
    main()
