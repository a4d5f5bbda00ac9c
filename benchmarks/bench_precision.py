"""Reduced-precision inference: speed and agreement with fp32, for the paper tower and the default model.

    OMP_NUM_THREADS=2 python -m benchmarks.bench_precision [--threads 2] [--repeats 5] [--records 12] \
        [--ptbxl PTBXL] [--no-append]

1. GEMM floor: the measured fp32 (and bf16) matrix-multiply rate at a transformer-sized shape, and the
   paper tower's FLOPs (torch's FlopCounterMode), so the fp32 tower can be compared with its floor.
2. The paper-preset ECG tower in the released weights' layout (random weights: speed does not depend on
   them), batch 1 and 16: ms per record at fp32, bf16 and int8, the speed-up over fp32 (our fp32 path runs
   at the official code's speed, issue 18), and the rhythm-embedding cosine to fp32 on real records.
3. The default model end to end on real records (``../shared/data/real-samples/cinc2021``: read,
   preprocess, encode, zero-shot, report, explain), fp32 against "auto": time, rhythm cosine, how many
   generated reports differ.
4. With ``--ptbxl``: PTB-XL fold-10 zero-shot macro AUROC per label set, fp32 against "auto".
Every figure is printed with the thread count and the 1-minute load average; appended to RESULTS.md.
"""
from __future__ import annotations

import argparse
import copy
import datetime
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import melp  # noqa: E402
from benchmarks.machine import machine_line  # noqa: E402
from melp.config import MelpConfig  # noqa: E402
from melp.data.preprocess import preprocess_batch  # noqa: E402
from melp.models.ecg_tower import EcgTower  # noqa: E402
from melp.models.official import OFFICIAL_BEAT_QUERIES  # noqa: E402
from melp.precision import PrecisionTower, cpu_flags, resolve  # noqa: E402

logger = logging.getLogger("bench_precision")
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
REAL = ROOT.parent / "shared" / "data" / "real-samples" / "cinc2021"
GEMM_SHAPE = (4096, 768, 3072)  # tokens x width x feed-forward width of a paper-preset layer
PROMPTS = ["atrial fibrillation", "sinus rhythm", "left bundle branch block", "right bundle branch block",
           "myocardial infarction", "left ventricular hypertrophy", "ST depression", "sinus bradycardia"]
REPORT_TOKENS = 64


def _median(run, repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gemm_rates(repeats: int) -> dict[str, float]:
    """GFLOP/s of one (M, K) x (K, N) matrix multiply in fp32 and bf16."""
    m, k, n = GEMM_SHAPE
    rates = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
        seconds = _median(lambda: torch.mm(a, b), repeats)
        rates[name] = 2 * m * k * n / seconds / 1e9
    return rates


def paper_tower() -> EcgTower:
    config = MelpConfig.preset("paper")
    config.pooler.n_beat_queries = OFFICIAL_BEAT_QUERIES
    torch.manual_seed(0)
    return EcgTower(config).eval()


def tower_flops(tower: EcgTower, signals: torch.Tensor) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    # no_grad, not inference_mode: the weight-norm parametrisation fails under FlopCounterMode there
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        tower(signals)
    return float(counter.get_total_flops())


def real_records(n: int) -> list:
    paths = sorted(p.with_suffix("") for p in REAL.rglob("*.hea") if not p.name.startswith("HR"))[:n]
    if not paths:
        raise SystemExit(f"{REAL}: no real records; the benchmark needs ../shared/data/real-samples")
    return [melp.read_ecg(path) for path in paths]


def paper_signals(records: list, batch: int) -> torch.Tensor:
    """The paper preset's input (500 Hz, 10 s, min-max normalised) of real records, repeated to ``batch``."""
    config = melp.PreprocessConfig(**MelpConfig.preset("paper").preprocess)
    signals, _, _ = preprocess_batch(records, config)
    rows = np.resize(np.arange(len(records)), batch)
    return torch.from_numpy(signals[rows])


def bench_tower(records: list, repeats: int) -> tuple[list[tuple[str, str]], dict[str, float]]:
    rows, figures = [], {}
    fp32 = paper_tower()
    towers = {"fp32": fp32, "bf16": PrecisionTower(fp32, "bf16"), "int8": PrecisionTower(copy.deepcopy(fp32), "int8")}
    for batch in (1, 16):
        signals = paper_signals(records, batch)
        with torch.inference_mode():
            reference = fp32(signals)["rhythm"]
            for name, tower in towers.items():
                seconds = _median(lambda: tower(signals), repeats)
                figures[f"{name}_b{batch}"] = seconds / batch
                cosine = torch.nn.functional.cosine_similarity(tower(signals)["rhythm"].float(), reference).min()
                speed_up = figures[f"fp32_b{batch}"] / figures[f"{name}_b{batch}"]
                rows.append((f"paper tower, batch {batch}, {name}",
                             f"{1000 * seconds / batch:.0f} ms/ECG, {speed_up:.2f}x fp32, min cosine {cosine:.5f}"))
    figures["flops"] = tower_flops(fp32, paper_signals(records, 1))
    return rows, figures


def _end_to_end(model, records: list) -> tuple[float, np.ndarray, list[str]]:
    start = time.perf_counter()
    rhythm = model.encode_ecg(records)
    model.zero_shot(records, PROMPTS)
    reports = model.generate_reports(records, max_new_tokens=REPORT_TOKENS)
    for record, text in zip(records, reports):
        model.explain(record, text=text or None)
    return time.perf_counter() - start, rhythm, reports


def bench_default_model(records: list, repeats: int) -> list[tuple[str, str]]:
    rows, outcomes = [], {}
    for precision in ("fp32", "auto"):
        model = melp.load(precision=precision)
        _end_to_end(model, records[:2])  # warm-up
        runs = [_end_to_end(model, records) for _ in range(repeats)]
        outcomes[precision] = (statistics.median(seconds for seconds, _, _ in runs), runs[0][1], runs[0][2],
                               model.precision)
    fp32, auto = outcomes["fp32"], outcomes["auto"]
    cosines = np.sum(fp32[1] * auto[1], axis=1)
    differ = sum(a != b for a, b in zip(fp32[2], auto[2]))
    n = len(records)
    rows.append((f"default model end to end, {n} real records, fp32", f"{1000 * fp32[0] / n:.0f} ms/ECG"))
    rows.append((f"default model end to end, auto ({auto[3]})",
                 f"{1000 * auto[0] / n:.0f} ms/ECG, {fp32[0] / auto[0]:.2f}x fp32"))
    rows.append(("default model, rhythm cosine auto vs fp32 (min / mean)", f"{cosines.min():.5f} / {cosines.mean():.5f}"))
    rows.append(("default model, generated reports that differ from fp32", f"{differ} of {n}"))
    return rows


def bench_fold10(ptbxl: str) -> list[tuple[str, str]]:
    from melp.metrics import macro_auroc
    from train.calibrate import ptbxl_sets

    aurocs = {}
    for precision in ("fp32", "auto"):
        sets, _ = ptbxl_sets(melp.load(precision=precision), ptbxl, "test")
        aurocs[precision] = {name: macro_auroc(labels, cosines).macro for name, (_, cosines, labels) in sets.items()}
    return [(f"fold-10 zero-shot macro AUROC, {name}", f"fp32 {value:.4f}, auto {aurocs['auto'][name]:.4f} "
             f"({aurocs['auto'][name] - value:+.4f})") for name, value in aurocs["fp32"].items()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--records", type=int, default=12, help="real records for the agreement figures")
    parser.add_argument("--ptbxl", default=None, help="PTB-XL folder: also measure the fold-10 AUROC change")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    records = real_records(args.records)
    rows = []
    rates = gemm_rates(args.repeats)
    rows.append(("GEMM 4096x768x3072, fp32 / bf16", f"{rates['fp32']:.0f} / {rates['bf16']:.0f} GFLOP/s"))
    tower_rows, figures = bench_tower(records, args.repeats)
    floor = figures["flops"] / (rates["fp32"] * 1e9)
    rows.append(("paper tower FLOPs per ECG; fp32 GEMM floor", f"{figures['flops'] / 1e9:.1f} GFLOP; {1000 * floor:.0f} ms"))
    rows += tower_rows
    rows.append(("paper tower fp32 batch 1 / floor", f"{figures['fp32_b1'] / floor:.2f}x (target <= 1.25x)"))
    best = {batch: min(figures[f"{name}_b{batch}"] for name in ("bf16", "int8")) for batch in (1, 16)}
    rows.append(("paper tower fastest reduced path vs fp32, batch 1 / 16",
                 f"{figures['fp32_b1'] / best[1]:.2f}x / {figures['fp32_b16'] / best[16]:.2f}x (target >= 3x)"))
    rows += bench_default_model(records, args.repeats)
    if args.ptbxl:
        rows += bench_fold10(args.ptbxl)
    header = (f"{machine_line(args.threads)} at the end, torch {torch.__version__}, "
              f"auto = {resolve('auto')} (bf16 flags: {sorted(cpu_flags() & {'avx512_bf16', 'amx_bf16'}) or 'none'})")
    table = "\n".join(["| measure | value |", "|---|---|"] + [f"| {name} | {value} |" for name, value in rows])
    logger.info("%s\n%s", header, table)
    if not args.no_append:
        command = "OMP_NUM_THREADS=2 python -m benchmarks.bench_precision" + (" --ptbxl PTBXL" if args.ptbxl else "")
        with RESULTS.open("a") as handle:
            handle.write(f"\n## Reduced precision (benchmarks/bench_precision.py, {datetime.date.today()})\n\n"
                         f"Command: `{command}`. {header}.\n\n{table}\n")


if __name__ == "__main__":
    main()
