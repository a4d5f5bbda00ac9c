"""The simulator's output, measured independently (neurokit2 and plain signal processing), shows the
physiology each condition claims: rates, QRS width, PR, axis, RR irregularity, flutter waves, ST shifts."""
from __future__ import annotations

import neurokit2 as nk
import numpy as np
import pytest

from melp.synth import simulate
from synth_measure import (LEAD, dominant_atrial_rate, frontal_axis_deg, highpass, median_beat, p_wave_magnitude_mv,
                           pr_interval_ms, qrs_duration_ms, qrs_limits, r_peaks, rr_statistics, st_levels_mv,
                           tq_band_share)

FS = 500


@pytest.mark.parametrize("rate, rhythm", [(40, "sinus_bradycardia"), (60, "sinus_rhythm"), (90, "sinus_rhythm"),
                                          (130, "sinus_tachycardia"), (180, "sinus_tachycardia")])
def test_neurokit_recovers_heart_rate_within_5_bpm(rate, rhythm):
    ecg = simulate([rhythm], seed=rate, heart_rate=rate, noise=1.0)
    lead_ii = ecg.record.lead("II").astype(np.float64)
    cleaned = nk.ecg_clean(lead_ii, sampling_rate=FS)
    _, info = nk.ecg_peaks(cleaned, sampling_rate=FS)
    measured = 60.0 * FS / np.mean(np.diff(info["ECG_R_Peaks"]))
    assert abs(measured - rate) <= 5.0, (measured, rate)


@pytest.mark.parametrize("block", ["lbbb", "rbbb"])
def test_bundle_branch_block_qrs_at_least_40ms_wider_than_normal(block):
    for seed in range(3):
        normal = qrs_duration_ms(simulate(["sinus_rhythm"], seed=seed, noise="none").record.signal, FS)
        wide = qrs_duration_ms(simulate([block], seed=seed, noise="none").record.signal, FS)
        assert wide - normal >= 40.0, (block, seed, normal, wide)


def test_first_degree_av_block_pr_longer_than_200ms_and_normal_pr_shorter():
    for seed in range(3):
        blocked = simulate(["first_degree_av_block"], seed=seed, noise="none", heart_rate=62)
        normal = simulate(["sinus_rhythm"], seed=seed, noise="none", heart_rate=62)
        assert pr_interval_ms(blocked.record.signal, FS) > 200.0
        assert pr_interval_ms(normal.record.signal, FS) < 210.0


@pytest.mark.parametrize("conditions, low, high", [
    (["sinus_rhythm"], -30.0, 90.0),
    (["left_axis_deviation"], -90.0, -30.0),
    (["lafb"], -90.0, -45.0),
    (["right_axis_deviation"], 90.0, 180.0),
])
def test_frontal_axis_from_net_qrs_area_in_intended_range(conditions, low, high):
    for seed in range(4):
        ecg = simulate(conditions, seed=seed, noise=0.5)
        axis = frontal_axis_deg(ecg.record.signal, FS)
        assert low <= axis <= high, (conditions, seed, axis, ecg.axis)


def test_sinus_arrhythmia_varies_rr_more_than_sinus_rhythm():
    arrhythmia = [rr_statistics(simulate(["sinus_arrhythmia"], seed=s).record.signal, FS)[0] for s in range(3)]
    sinus = [rr_statistics(simulate(["sinus_rhythm"], seed=s, heart_rate=75).record.signal, FS)[0] for s in range(3)]
    assert min(arrhythmia) > 1.5 * max(sinus), (arrhythmia, sinus)


def test_af_has_no_p_waves_locked_to_the_qrs():
    af = [p_wave_magnitude_mv(simulate(["atrial_fibrillation"], seed=s, heart_rate=70).record.signal, FS)
          for s in range(3)]
    sinus = [p_wave_magnitude_mv(simulate(["sinus_rhythm"], seed=s, heart_rate=70).record.signal, FS) for s in range(3)]
    assert max(af) < 0.5 * min(sinus), (af, sinus)


def test_af_rr_irregularity_exceeds_sinus():
    af = [rr_statistics(simulate(["atrial_fibrillation"], seed=s, heart_rate=85).record.signal, FS) for s in range(3)]
    sinus = [rr_statistics(simulate(["sinus_rhythm"], seed=s, heart_rate=85).record.signal, FS) for s in range(3)]
    assert min(cv for cv, _ in af) > 2.0 * max(cv for cv, _ in sinus)
    assert min(rmssd for _, rmssd in af) > 3.0 * max(rmssd for _, rmssd in sinus)


F_WAVE_LEADS = [LEAD["II"], LEAD["III"], LEAD["aVF"], LEAD["V1"]]


@pytest.mark.parametrize("ventricular_rate", [150, 100, 75])
def test_flutter_spectrum_peaks_at_250_to_350_per_minute(ventricular_rate):
    flutter = simulate(["atrial_flutter"], seed=ventricular_rate, noise=1.0, heart_rate=ventricular_rate)
    atrial_rate = dominant_atrial_rate(flutter.record.signal[F_WAVE_LEADS].astype(float), FS)
    assert 250.0 <= atrial_rate <= 350.0, atrial_rate


def test_flutter_waves_fill_the_tq_segments_unlike_sinus():
    for seed in range(3):
        flutter = simulate(["atrial_flutter"], seed=seed, noise=1.0, heart_rate=75)
        atrial_hz = dominant_atrial_rate(flutter.record.signal[F_WAVE_LEADS].astype(float), FS) / 60.0
        control = simulate(["sinus_rhythm"], seed=seed, noise=1.0, heart_rate=flutter.intervals["heart_rate"])
        flutter_share = tq_band_share(flutter.record.signal, FS, atrial_hz, F_WAVE_LEADS)
        control_share = tq_band_share(control.record.signal, FS, atrial_hz, F_WAVE_LEADS)
        assert flutter_share > 2.0 * control_share, (seed, flutter_share, control_share)


TERRITORY_LEADS = {
    "inferior": (("II", "III", "aVF"), ("aVL",)),
    "anterior": (("V2", "V3", "V4"), ("III", "aVF")),
    "septal": (("V1", "V2"), ("V6",)),
    "lateral": (("I", "aVL", "V5", "V6"), ("III", "aVF")),
}


@pytest.mark.parametrize("territory", sorted(TERRITORY_LEADS))
def test_st_elevation_in_territory_with_reciprocal_depression(territory):
    leads, reciprocal = TERRITORY_LEADS[territory]
    for seed in range(3):
        st = st_levels_mv(simulate([f"st_elevation_{territory}"], seed=seed, noise="none", heart_rate=70)
                          .record.signal, FS)
        assert min(st[LEAD[name]] for name in leads) >= 0.1, (territory, seed, st.round(2))
        assert max(st[LEAD[name]] for name in reciprocal) <= -0.05, (territory, seed, st.round(2))


def test_normal_sinus_has_no_st_shift():
    st = st_levels_mv(simulate(["sinus_rhythm"], seed=3, noise="none", heart_rate=70).record.signal, FS)
    assert np.abs(st).max() < 0.1, st.round(2)


def _qrs_peaks(signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-lead (max, min) of the median QRS relative to the PR baseline, (12,) each."""
    beat, r_index = median_beat(highpass(signal, FS), FS, r_peaks(signal, FS))
    onset, offset = qrs_limits(beat, r_index, FS)
    qrs = beat[:, onset:offset] - beat[:, onset - int(0.02 * FS):onset].mean(axis=1, keepdims=True)
    return qrs.max(axis=1), qrs.min(axis=1)


def test_lvh_meets_sokolow_lyon_voltage_and_exceeds_normal():
    def sokolow(conditions, seed):
        high, low = _qrs_peaks(simulate(conditions, seed=seed, noise="none").record.signal)
        return -low[LEAD["V1"]] + max(high[LEAD["V5"]], high[LEAD["V6"]])

    lvh = [sokolow(["lvh"], seed) for seed in range(4)]
    normal = [sokolow(["sinus_rhythm"], seed) for seed in range(4)]
    assert min(lvh) >= 3.5, lvh
    assert np.median(lvh) > 1.5 * np.median(normal), (lvh, normal)


def test_low_qrs_voltage_keeps_limb_leads_under_half_a_millivolt():
    for seed in range(3):
        high, low = _qrs_peaks(simulate(["low_qrs_voltage"], seed=seed, noise="none").record.signal)
        limb = [LEAD[name] for name in ("I", "II", "III", "aVR", "aVL", "aVF")]
        assert (high - low)[limb].max() < 0.5, (high - low).round(2)


def test_short_pr_measures_under_125ms_and_wpw_widens_qrs():
    for seed in range(3):
        assert pr_interval_ms(simulate(["short_pr"], seed=seed, noise="none", heart_rate=65).record.signal, FS) < 125.0
        wpw = simulate(["wpw"], seed=seed, noise="none", heart_rate=65).record.signal
        normal = simulate(["sinus_rhythm"], seed=seed, noise="none", heart_rate=65).record.signal
        assert qrs_duration_ms(wpw, FS) - qrs_duration_ms(normal, FS) > 20.0


def test_paced_and_ventricular_beats_are_wide():
    for seed in range(3):
        assert qrs_duration_ms(simulate(["ventricular_paced_rhythm"], seed=seed, noise="none").record.signal,
                               FS) > 120.0


def test_pvc_is_premature_with_a_compensatory_pause():
    for seed in range(3):
        ecg = simulate(["pvc"], seed=seed, noise="none", heart_rate=70)
        peaks = r_peaks(ecg.record.signal, FS)
        rr = np.diff(peaks) / FS
        sinus_rr = np.median(rr)
        pvc_samples = ecg.beat_table["sample"][ecg.beat_table["type"] == "pvc"]
        measured = [int(np.argmin(np.abs(peaks - sample))) for sample in pvc_samples]
        k = next(k for k in measured if 0 < k < len(rr))  # a PVC with a measured beat on each side
        coupling, pause = rr[k - 1], rr[k]
        assert coupling < 0.8 * sinus_rr, (coupling, sinus_rr)
        assert abs(coupling + pause - 2.0 * sinus_rr) < 0.12 * sinus_rr, (coupling, pause, sinus_rr)


def test_qt_beats_is_the_qt_the_dominant_beats_have():
    """``qt`` is stated at the mean RR; ``qt_beats`` is the median QT of the dominant beats themselves. In a
    regular rhythm they agree; in bigeminy every sinus beat follows a compensatory pause, so its QT (set by
    its preceding RR) is longer than the QT at the mean RR."""
    regular = simulate(["sinus_rhythm"], 31)
    assert abs(regular.intervals["qt_beats"] - regular.intervals["qt"]) < 5.0
    bigeminy = simulate(["sinus_rhythm", "pvc", "ventricular_bigeminy"], 31)
    assert bigeminy.intervals["qt_beats"] > bigeminy.intervals["qt"] + 20.0
