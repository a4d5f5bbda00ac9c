"""Pacing spikes (and electrode pops) are cut out before delineation, and nothing else is."""
from __future__ import annotations

import numpy as np

import melp
from melp.measurements import _without_spikes
from melp.synth.simulate import simulate

SEED = 4242 + 900  # simulate(conditions, seed): a stream no corpus draws from


def test_a_paced_qrs_is_measured_without_its_pacing_spike():
    """The one-sample stimulus 12 ms before the paced QRS, spread 20-30 ms either side by the delineation
    band-pass, was counted as QRS (simulated paced QRS 20-30 ms long, or 40-46 ms short where the spike
    alone was taken for the QRS: 8 of 39 paced records of streams 3 and 4 within 20 ms; 39 of 39 with it
    cut out)."""
    errors = []
    for k in range(6):
        ecg = simulate(["ventricular_paced_rhythm"], SEED + k)
        found = melp.measure(ecg.record).qrs_ms
        errors.append(np.inf if found is None else abs(found - ecg.intervals["qrs"]))
    assert np.mean(np.asarray(errors) <= 20.0) >= 5 / 6, errors


def test_only_spikes_are_cut_never_a_qrs():
    """A sinus record's samples pass untouched (no QRS turns that sharply at 500 Hz); a paced record's
    spikes go, one per beat, and the QRS after each stays."""
    sinus = simulate(["sinus_rhythm", "lvh"], SEED + 20).record  # tall R waves
    signal = sinus.signal.astype(np.float64)
    assert np.array_equal(_without_spikes(signal, sinus.fs), signal)
    paced = simulate(["ventricular_paced_rhythm"], SEED + 21).record
    signal = paced.signal.astype(np.float64)
    cleaned = _without_spikes(signal, paced.fs)
    changed = np.flatnonzero((cleaned != signal).any(axis=0))
    r_peaks = melp.beats(paced).r_peaks
    assert changed.size > 0 and np.ptp(changed) > paced.fs, changed  # spread over the record, beat by beat
    assert changed.size <= 8 * (len(r_peaks) + 1), changed.size  # a few samples per beat, not QRS complexes
    assert not np.isin(r_peaks, changed).any()  # the R peaks, 12 ms after the spikes, are left alone


def test_at_100_hz_a_qt_around_a_pacing_spike_is_not_measurable_rather_than_a_guess():
    """At 100 Hz a pacing spike is as narrow as an R peak and cannot be cut: the QRS is found around the
    spike and the "T end" in the paced QRS itself, QT 150-220 ms short (QTc under 300 ms, which no heart
    has). Such a QT is "not measurable", and says why."""
    for k in range(3):
        found = melp.measure(simulate(["ventricular_paced_rhythm"], SEED + 30 + k, fs=100.0).record)
        assert found.qt_ms is None or found.qtc_fridericia_ms >= 300.0, (found.qt_ms, found.qtc_fridericia_ms)
        if found.qt_ms is None:
            assert "implausibly early" in found.methods["qt_ms"] or "not measurable" in found.methods["qt_ms"]
