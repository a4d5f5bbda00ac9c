"""Accuracy of ``melp.measure`` against the simulator's ground truth, on records never trained on.

Run: ``python -m benchmarks.bench_measure [--n 400] [--seed 9]``. Records are ``simulate_record(seed, i)``,
never trained on; the measurement's thresholds were set on seeds 3 and 4 only, and seeds 1 and 7 to 23
have each been looked at after a round or step of changes (docs/measurements.md says which figure is a
first look; 22 after round 8, 23 after round 9); use a new seed (24 on) for a clean held-out figure. Targets (issue #15): heart rate within
2 bpm in >= 95 %; PR, QRS and QT within 20 ms in >= 90 % where defined; QRS axis within 15 degrees in
>= 90 %; complete heart block reports the ventricular rate. QT is also compared with the QT the measured
beats have (``intervals["qt_beats"]``: the stated QT is at the mean RR, which no beat has in bigeminy or
Mobitz block), and Fridericia's QTc with the simulated patient's (``qt`` over the cube root of the mean
RR: every beat's QT is that QTc times the cube root of its own preceding RR). Also neurokit2's own
delineators on the same median beats, for the record of why measure() does not use them. Prints the
machine's load average and the figures.
"""
from __future__ import annotations

import argparse
import logging
import warnings

import numpy as np
from tqdm import tqdm

from benchmarks.machine import machine_line
import melp
from melp.logs import configure_logging
from melp.measurements import median_beat
from melp.synth import simulate_record
from melp.synth.simulate import simulate

TOLERANCE = {"heart_rate": 2.0, "pr": 20.0, "qrs": 20.0, "qt": 20.0, "qt_beats": 20.0, "qtc_fridericia": 20.0,
             "qrs_axis": 15.0}
NOT_TARGETS = {  # figures printed beside the targets' own
    "qt_beats": "QT against the median of the dominant beats' own QT intervals",
    "qtc_fridericia": "QTc (Fridericia) against the simulated patient's, which every beat's QT follows",
}
TARGET = {"heart_rate": 0.95, "pr": 0.90, "qrs": 0.90, "qt": 0.90, "qrs_axis": 0.90}
CHB_RECORDS = 20


def _errors(n: int, seed: int, fs: float = 500.0) -> dict[str, list[float]]:
    errors: dict[str, list[float]] = {key: [] for key in TOLERANCE}
    for index in tqdm(range(n), desc="measuring", unit="record", leave=False):
        ecg = simulate_record(seed, index, fs=fs)
        found = melp.measure(ecg.record)
        truth = ecg.intervals
        pairs = {"heart_rate": (found.heart_rate, truth["heart_rate"]), "pr": (found.pr_ms, truth["pr"]),
                 "qrs": (found.qrs_ms, truth["qrs"]), "qt": (found.qt_ms, truth["qt"]),
                 "qt_beats": (found.qt_ms, truth["qt_beats"]),
                 "qtc_fridericia": (found.qtc_fridericia_ms, truth["qt"] / (truth["rr"] / 1000.0) ** (1 / 3)),
                 "qrs_axis": (found.qrs_axis, ecg.axis)}
        for key, (value, expected) in pairs.items():
            if expected is None:
                continue  # not defined (no P wave): nothing to compare
            if value is None:
                errors[key].append(float("inf"))  # defined but not measured counts as a miss
            elif key == "qrs_axis":
                errors[key].append(abs((value - expected + 180.0) % 360.0 - 180.0))
            else:
                errors[key].append(abs(value - expected))
    return errors


def complete_heart_block(seed: int, fs: float = 500.0) -> float:
    """Share of complete-heart-block records whose reported rate is the ventricular one (within 2 bpm)."""
    hits = []
    for offset in range(CHB_RECORDS):
        ecg = simulate(["complete_av_block"], seed * 1000 + offset, fs=fs)
        rate = melp.measure(ecg.record).heart_rate
        hits.append(rate is not None and abs(rate - ecg.intervals["heart_rate"]) <= TOLERANCE["heart_rate"])
    return float(np.mean(hits))


def neurokit_qrs_errors(n: int, seed: int) -> dict[str, float]:
    """Median |error| of neurokit2's QRS width (R onset to R offset, median over leads) on the median beats."""
    import neurokit2 as nk

    medians = {}
    for method in ("dwt", "cwt"):
        errors = []
        for index in range(n):
            ecg = simulate_record(seed, index)
            info = melp.beats(ecg.record)
            found = median_beat(ecg.record, info.r_peaks)
            if found is None:
                continue
            beat, r_index = found
            width = beat.shape[1]
            tiled, peaks = np.tile(beat[1], 8), np.arange(8) * width + r_index  # lead II, eight copies
            try:
                _, waves = nk.ecg_delineate(tiled, peaks, sampling_rate=int(ecg.record.fs), method=method)
            except (ValueError, IndexError, KeyError):
                continue
            onsets, offsets = (np.asarray(waves[key], float)[2:6] for key in ("ECG_R_Onsets", "ECG_R_Offsets"))
            width_ms = np.nanmedian(offsets - onsets) / ecg.record.fs * 1000
            errors.append(abs(width_ms - ecg.intervals["qrs"]))
        medians[method] = float(np.nanmedian(errors)) if errors else float("nan")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=400, help="simulated records")
    parser.add_argument("--seed", type=int, default=1, help="record stream (a new one for a held-out figure)")
    parser.add_argument("--fs", type=float, default=500.0, help="sampling rate of the records (PTB-XL ships 100 Hz)")
    args = parser.parse_args()
    configure_logging(logging.WARNING)
    warnings.simplefilter("ignore")
    print(f"{machine_line(1)}; {args.n} records of stream {args.seed} at {args.fs:g} Hz")
    errors = _errors(args.n, args.seed, args.fs)
    for key, values in errors.items():
        share = float(np.mean(np.asarray(values) <= TOLERANCE[key]))
        if key in NOT_TARGETS:
            print(f"{key:<14} within {TOLERANCE[key]:g}: {share:.3f} of {len(values)} ({NOT_TARGETS[key]}; not a "
                  "target)")
            continue
        verdict = "met" if share >= TARGET[key] else f"MISSED by {TARGET[key] - share:.3f}"
        print(f"{key:<14} within {TOLERANCE[key]:g}: {share:.3f} of {len(values)} "
              f"(target {TARGET[key]:.2f}, {verdict})")
    blocks = complete_heart_block(args.seed, args.fs) * CHB_RECORDS
    print(f"complete heart block reports the ventricular rate: {blocks:.0f} of {CHB_RECORDS}")
    print("neurokit2 delineators, median |QRS error| on the same median beats (ms):",
          {method: round(value, 1) for method, value in neurokit_qrs_errors(min(args.n, 50), args.seed).items()})


if __name__ == "__main__":
    main()
