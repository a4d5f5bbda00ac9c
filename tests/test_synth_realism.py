"""Simulated normal sinus ECGs against the real sinus-rhythm records in ../shared/data/real-samples.

The same measurements (from synth_measure) run on both; the table is printed (run with -s) and kept
in docs/synth.md. Bounds are loose sanity ranges, not a fit to these few samples.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from melp.record import STANDARD_LEADS
from melp.synth import simulate
from synth_measure import highpass, median_beat, qrs_limits, r_peaks

REAL_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-samples"
SINUS_RHYTHM_SNOMED = "426783006"
SECONDS = 10
N_SIMULATED = 30
T_END_FRACTION = 0.2

pytestmark = pytest.mark.real_data


def _real_sinus_records() -> list[tuple[np.ndarray, float]]:
    """(signal (12, T) mV, fs) of every challenge record whose #Dx includes sinus rhythm."""
    import melp

    records = []
    for header in sorted(REAL_SAMPLES.glob("cinc2021/*/*.hea")):
        dx_lines = [line for line in header.read_text().splitlines() if line.startswith("#Dx")]
        if dx_lines and SINUS_RHYTHM_SNOMED in [code.strip() for code in dx_lines[0].split(":", 1)[1].split(",")]:
            record = melp.read_ecg(header.with_suffix(""))
            n = int(SECONDS * record.fs)
            records.append((record.signal[:, :n].astype(np.float64), record.fs))
    return records


def measure(signal: np.ndarray, fs: float) -> dict[str, np.ndarray | float]:
    """Heart rate, QRS duration, QT and per-lead QRS peak-to-peak of one record."""
    peaks = r_peaks(signal, fs)
    beat, r_index = median_beat(highpass(signal, fs), fs, peaks)
    onset, offset = qrs_limits(beat, r_index, fs)
    baseline = beat[:, onset - int(0.02 * fs):onset].mean(axis=1, keepdims=True)
    magnitude = np.sqrt(((beat - baseline) ** 2).sum(axis=0))  # (W,)
    window = magnitude[offset + int(0.08 * fs):offset + int(0.45 * fs)]
    t_peak = int(np.argmax(window))
    below = np.flatnonzero(window[t_peak:] < T_END_FRACTION * window[t_peak])
    t_end = offset + int(0.08 * fs) + t_peak + (int(below[0]) if len(below) else len(window) - t_peak)
    return {
        "heart_rate": 60.0 * fs / float(np.median(np.diff(peaks))),
        "qrs": (offset - onset) / fs * 1000.0,
        "qt": (t_end - onset) / fs * 1000.0,
        "amplitude": np.ptp(beat[:, onset:offset], axis=1),  # (12,) mV
    }


def _summary(values: list[float]) -> str:
    q25, q50, q75 = np.percentile(values, [25, 50, 75])
    return f"{q50:.2f} ({q25:.2f}-{q75:.2f})"


def comparison_table(simulated: list[dict], real: list[dict]) -> str:
    """Markdown table: median (IQR) of every measure, simulated vs real."""
    lines = ["| measure | simulated normal sinus | real sinus rhythm |", "|---|---|---|"]
    for key, label in (("heart_rate", "heart rate (bpm)"), ("qrs", "QRS duration (ms)"), ("qt", "QT (ms)")):
        lines.append(f"| {label} | {_summary([m[key] for m in simulated])} | {_summary([m[key] for m in real])} |")
    for i, lead in enumerate(STANDARD_LEADS):
        lines.append(f"| QRS peak-to-peak {lead} (mV) | {_summary([m['amplitude'][i] for m in simulated])} | "
                     f"{_summary([m['amplitude'][i] for m in real])} |")
    return "\n".join(lines)


@pytest.mark.skipif(not REAL_SAMPLES.is_dir(), reason=f"{REAL_SAMPLES} absent")
def test_simulated_normal_sinus_resembles_real_sinus_records():
    real = [measure(signal, fs) for signal, fs in _real_sinus_records()]
    assert len(real) >= 10, "expected at least 10 real sinus-rhythm records"
    simulated = [measure(simulate(["sinus_rhythm"], seed=s).record.signal.astype(np.float64), 500.0)
                 for s in range(N_SIMULATED)]
    print("\n" + comparison_table(simulated, real))

    def median(measures, key):
        return float(np.median([m[key] for m in measures], axis=0))

    assert abs(median(simulated, "heart_rate") - median(real, "heart_rate")) < 20.0
    assert abs(median(simulated, "qrs") - median(real, "qrs")) < 25.0
    assert abs(median(simulated, "qt") - median(real, "qt")) < 60.0
    sim_amplitude = np.median([m["amplitude"] for m in simulated], axis=0)  # (12,)
    real_amplitude = np.median([m["amplitude"] for m in real], axis=0)
    ratio = sim_amplitude / real_amplitude
    assert np.all((ratio > 0.4) & (ratio < 2.5)), dict(zip(STANDARD_LEADS, ratio.round(2)))
