"""melp.measure: rates, intervals and axes against the simulator's ground truth on a small fixed set
(the full accuracy figures are in benchmarks/bench_measure.py and docs/measurements.md)."""
from __future__ import annotations

import numpy as np
import pytest

import melp
from melp.synth.simulate import simulate

COMMON = ["sinus_rhythm", "sinus_bradycardia", "sinus_tachycardia", "first_degree_av_block", "lbbb", "rbbb",
          "lvh", "left_axis_deviation"]
SEED = 4242  # simulate(conditions, seed): a stream no corpus draws from


@pytest.fixture(scope="module")
def measured():
    ecgs = [simulate([condition], SEED + k) for k, condition in enumerate(COMMON)]
    return [(ecg, melp.measure(ecg.record)) for ecg in ecgs]


def test_heart_rate_is_within_2_bpm(measured):
    errors = [abs(found.heart_rate - ecg.intervals["heart_rate"]) for ecg, found in measured]
    assert max(errors) <= 2.0, errors


@pytest.mark.parametrize("key, truth_key", [("qrs_ms", "qrs"), ("qt_ms", "qt"), ("pr_ms", "pr")])
def test_intervals_are_mostly_within_20_ms(measured, key, truth_key):
    errors = [abs(getattr(found, key) - ecg.intervals[truth_key]) if getattr(found, key) is not None else np.inf
              for ecg, found in measured if ecg.intervals[truth_key] is not None]
    assert np.mean(np.asarray(errors) <= 20.0) >= 0.75, errors  # the benchmark reports the full figures


def test_qrs_axis_is_mostly_within_15_degrees(measured):
    errors = [abs((found.qrs_axis - ecg.axis + 180) % 360 - 180) if found.qrs_axis is not None else np.inf
              for ecg, found in measured]
    assert np.mean(np.asarray(errors) <= 15.0) >= 0.75, errors


def test_qtc_follows_bazett_and_fridericia(measured):
    found = measured[0][1]
    rr = found.rr_ms / 1000
    assert found.qtc_bazett_ms == pytest.approx(found.qt_ms / np.sqrt(rr))
    assert found.qtc_fridericia_ms == pytest.approx(found.qt_ms / rr ** (1 / 3))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_complete_heart_block_reports_the_ventricular_rate_never_the_atrial_one(seed):
    ecg = simulate(["complete_av_block"], seed)
    found = melp.measure(ecg.record)
    assert found.heart_rate == pytest.approx(ecg.intervals["heart_rate"], abs=2)
    # the atrial rate is given when the P waves could be found in one lead, and then it is the faster one
    assert found.atrial_rate is None or found.atrial_rate > found.heart_rate * 1.3


def test_what_cannot_be_measured_is_none_with_a_reason():
    found = melp.measure(simulate(["junctional_rhythm"], 7).record)
    assert found.pr_ms is None and found.methods["pr_ms"].startswith("not measurable")
    flat = melp.EcgRecord(signal=np.zeros((12, 1000)), fs=100.0)
    empty = melp.measure(flat)
    assert empty.heart_rate is None and empty.qrs_ms is None and "not measurable" in empty.methods["intervals"]
    assert set(found.methods) >= {"heart_rate", "qrs_ms", "qt_ms", "pr_ms", "qrs_axis"}
