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
    rr = found.qtc_rr_ms / 1000
    assert found.qtc_bazett_ms == pytest.approx(found.qt_ms / np.sqrt(rr))
    assert found.qtc_fridericia_ms == pytest.approx(found.qt_ms / rr ** (1 / 3))
    assert found.qtc_rr_ms == pytest.approx(found.rr_ms, rel=0.05)  # a regular rhythm: about the mean RR
    assert f"{found.qtc_rr_ms:.0f} ms" in found.methods["qtc"]


def test_qtc_uses_the_measured_beats_rr_only_where_they_share_one():
    """A median beat of beats after short and long cycles (premature atrial beats of the same shape) has no
    one RR, and a premature beat's QT does not follow its short cycle: there the mean RR corrects the QT
    (a real atrial bigeminy, JS20014, had QTc 561 ms with the premature beats' RR, 476 with the mean)."""
    from melp.measurements import MeasuredBeats

    def rr_before(preceding):
        return MeasuredBeats(np.zeros((len(preceding), 12, 4)), 2, 500.0, None, 0, 0, np.asarray(preceding),
                             np.arange(len(preceding), dtype=float)).rr_before_s

    assert rr_before([np.nan, 1.02, 1.05, 0.98]) == pytest.approx(1.02)  # sinus beats after the pause
    assert rr_before([np.nan, 0.6, 1.04, 0.61, 0.55]) is None  # premature and sinus beats mixed
    assert rr_before([np.nan]) is None


def test_qtc_in_bigeminy_is_corrected_with_the_rr_before_the_sinus_beats():
    """In bigeminy the QT is measured on the sinus beats, which follow the long compensatory pause: their
    QTc is corrected with that RR, not the mean RR of all beats (before, Fridericia's QTc came out 30-50 ms
    long; streams 3 and 4: 1 -> 8 of 15 bigeminy records within 20 ms of the simulated patient's QTc)."""
    errors = []
    for k in range(6):
        ecg = simulate(["sinus_rhythm", "pvc", "ventricular_bigeminy"], SEED + 500 + k)
        truth = ecg.intervals["qt"] / (ecg.intervals["rr"] / 1000) ** (1 / 3)  # the patient's QTc (Fridericia)
        found = melp.measure(ecg.record).qtc_fridericia_ms
        errors.append(np.inf if found is None else abs(found - truth))
    assert np.mean(np.asarray(errors) <= 20.0) >= 4 / 6, errors


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_complete_heart_block_reports_the_ventricular_rate_never_the_atrial_one(seed):
    ecg = simulate(["complete_av_block"], seed)
    found = melp.measure(ecg.record)
    assert found.heart_rate == pytest.approx(ecg.intervals["heart_rate"], abs=2)
    assert found.atrial_rate is None or found.atrial_rate > found.heart_rate * 1.3  # the faster one, when given


def test_complete_heart_block_atrial_rate_where_given_is_the_p_wave_rate():
    """Given only where the dissociated P waves form one regular series; then within 10 % of it."""
    given = 0
    for k in range(8):
        ecg = simulate(["complete_av_block"], SEED + 1100 + k)
        found = melp.measure(ecg.record).atrial_rate
        blocked = np.sort(ecg.beat_table["sample"][ecg.beat_table["type"] == "nonconducted_p"])
        truth = 60.0 * ecg.record.fs / np.median(np.diff(blocked))
        if found is not None:
            given += 1
            assert found == pytest.approx(truth, rel=0.1), (k, found, truth)
    assert given >= 3


def _atrial_case(blocked_pattern: np.ndarray | None, blocked_delay_s: float = 0.6, extra: np.ndarray | None = None):
    """An 8-lead signal at 500 Hz with R peaks every 1.2 s (50 bpm), a P wave 160 ms before each, and a
    wave ``blocked_delay_s`` after each P wave with the lead pattern given (None: none); the BeatInfo the
    beat detector would give, its set-aside detections at those waves (or ``extra``)."""
    from melp.data.beats import BeatInfo

    fs, n = 500.0, 6000
    time = np.arange(n)
    r_peaks = np.arange(int(0.5 * fs), n - int(0.7 * fs), int(1.2 * fs))
    p_peaks = r_peaks - int(0.16 * fs)
    p_pattern = np.array([0.10, 0.15, 0.05, 0.08, 0.10, 0.12, 0.12, 0.10])
    signal = np.zeros((12, n))
    wave = lambda centres: sum(np.exp(-0.5 * ((time - c) / 10.0) ** 2) for c in centres)  # 20 ms sigma
    signal[:8] += p_pattern[:, None] * wave(p_peaks)[None, :]
    events = np.zeros(0, dtype=np.int64) if extra is None else extra
    if blocked_pattern is not None:
        events = p_peaks + int(blocked_delay_s * fs)
        signal[:8] += blocked_pattern[:, None] * wave(events)[None, :]
    info = BeatInfo(r_peaks, np.diff(r_peaks) / fs, 50.0, "II", fs, other_events=events.astype(np.int64))
    return info, signal


def test_atrial_rate_counts_blocked_p_waves_and_nothing_else():
    from melp.atrial_rate import atrial_rate

    rows = list(range(8))
    same = np.array([0.10, 0.15, 0.05, 0.08, 0.10, 0.12, 0.12, 0.10])
    info, signal = _atrial_case(same)  # 2:1 block: a P wave midway, shaped like the conducted one
    assert atrial_rate(info, 160.0, signal, rows) == pytest.approx(100.0, rel=0.02)
    other = np.array([-0.05, 0.02, 0.20, -0.10, 0.0, 0.05, -0.15, 0.10])  # timed the same, another wave
    info, signal = _atrial_case(other)
    assert atrial_rate(info, 160.0, signal, rows) is None
    info, signal = _atrial_case(3.0 * same)  # the shape but three times the size: a T or U wave
    assert atrial_rate(info, 160.0, signal, rows) is None
    # an R' wave 100 ms after some R peaks (the right bundle branch block record that showed 612 bpm)
    info, _ = _atrial_case(None)
    info, signal = _atrial_case(None, extra=info.r_peaks[[1, 3]] + 50)
    assert atrial_rate(info, 160.0, signal, rows) is None


def test_what_cannot_be_measured_is_none_with_a_reason():
    found = melp.measure(simulate(["junctional_rhythm"], 7).record)
    assert found.pr_ms is None and found.methods["pr_ms"].startswith("not measurable")
    flat = melp.EcgRecord(signal=np.zeros((12, 1000)), fs=100.0)
    empty = melp.measure(flat)
    assert empty.heart_rate is None and empty.qrs_ms is None and "not measurable" in empty.methods["intervals"]
    assert set(found.methods) >= {"heart_rate", "qrs_ms", "qt_ms", "pr_ms", "qrs_axis"}


def test_mains_hum_does_not_move_the_intervals():
    """Delineation runs on a band-passed, 50/60 Hz-notched copy: hum that swamps the raw spatial velocity
    (0.1 mV at 50 Hz moves a lead at about 31 mV/s) leaves QRS, PR and QT where they were."""
    ecg = simulate(["sinus_rhythm"], SEED + 100, noise=0.0)
    times = np.arange(ecg.record.n_samples) / ecg.record.fs
    hum = 0.1 * np.sin(2 * np.pi * 50.0 * times)
    humming = melp.EcgRecord(signal=ecg.record.signal + hum, fs=ecg.record.fs)
    clean, noisy = melp.measure(ecg.record), melp.measure(humming)
    for key in ("qrs_ms", "pr_ms", "qt_ms"):
        assert getattr(clean, key) is not None and getattr(noisy, key) is not None, key
        assert abs(getattr(noisy, key) - getattr(clean, key)) <= 6.0, (key, getattr(clean, key), getattr(noisy, key))


def test_a_p_wave_rising_out_of_the_previous_t_wave_is_found_at_fast_rates():
    """At 110-130 bpm the P wave starts on the T wave's tail: its onset is the trough between them (before,
    PR was not measured in most of these; at 145 bpm it still mostly is not, docs/measurements.md)."""
    errors = []
    for rate in (110.0, 120.0, 130.0):
        for k in range(4):
            ecg = simulate(["sinus_tachycardia"], SEED + 200 + k, heart_rate=rate)
            found = melp.measure(ecg.record).pr_ms
            errors.append(np.inf if found is None else abs(found - ecg.intervals["pr"]))
    assert np.mean(np.asarray(errors) <= 20.0) >= 0.6, errors


def test_a_qrs_with_a_delta_wave_is_measured_from_its_start():
    """Pre-excitation (WPW): the slow delta wave dips the spatial velocity below its QRS share before the
    fast part; a boundary needs the velocity to stay low (before, the QRS came out 30-60 ms short)."""
    errors = []
    for k in range(6):
        ecg = simulate(["wpw"], SEED + 300 + k)
        found = melp.measure(ecg.record).qrs_ms
        errors.append(np.inf if found is None else abs(found - ecg.intervals["qrs"]))
    assert np.mean(np.asarray(errors) <= 20.0) >= 5 / 6, errors


def _errors(conditions: list[str], key: str, truth_key: str, seed: int, n: int = 6) -> list[float]:
    errors = []
    for k in range(n):
        ecg = simulate(conditions, seed + k)
        found = getattr(melp.measure(ecg.record), key)
        errors.append(np.inf if found is None else abs(found - ecg.intervals[truth_key]))
    return errors


def test_st_depression_before_the_t_wave_does_not_end_the_qt_early():
    """A depressed ST segment makes its own hump in the spatial magnitude before the T wave; the dip between
    them is not the T end (before, QT came out 110-130 ms short in most of these records)."""
    errors = _errors(["sinus_rhythm", "st_depression"], "qt_ms", "qt", SEED + 400)
    assert np.mean(np.asarray(errors) <= 20.0) >= 5 / 6, errors


@pytest.mark.parametrize("key, truth_key", [("qrs_ms", "qrs"), ("pr_ms", "pr")])
def test_bigeminy_is_measured_on_the_sinus_beats_not_a_blend_with_the_ectopic_ones(key, truth_key):
    """Half the beats are premature ventricular complexes: the median of all beats blends two shapes
    (before, QRS came out 60-110 ms long and PR 25-45 ms short or not at all)."""
    errors = _errors(["sinus_rhythm", "pvc", "ventricular_bigeminy"], key, truth_key, SEED + 500)
    assert np.mean(np.asarray(errors) <= 20.0) >= 5 / 6, errors


def test_bigeminy_qt_ends_before_the_ectopic_qrs_begins():
    """The premature beat arrives as the sinus beat's T wave ends: the T end is searched before the ectopic
    QRS onset (found on the median of the ectopic beats), not up to 50 ms before its R peak, which let the
    ectopic upstroke be taken for the T peak (before, QT came out 33 ms long or not at all). Compared with
    the QT the sinus beats have (they follow a compensatory pause; ``qt`` is at the mean RR)."""
    errors = _errors(["sinus_rhythm", "pvc", "ventricular_bigeminy"], "qt_ms", "qt_beats", SEED + 500)
    assert np.mean(np.asarray(errors) <= 20.0) >= 4 / 6, errors


def test_beats_next_to_isolated_ectopic_beats_are_set_aside():
    """With isolated premature ventricular complexes the beat after each follows a compensatory pause (a
    longer QT) and the one before can have its T wave overlapped: the median is taken over the beats with
    no ectopic neighbour where at least 3 remain (streams 3 and 4: isolated-PVC records 70.6 -> 76.5 % QT
    within 20 ms). In bigeminy no beat is clear of the ectopy and all sinus beats are measured."""
    import re

    set_aside = 0
    for k in range(6):  # where fewer than 3 beats are clear of the ectopy, all beats of the shape are kept
        found = melp.measure(simulate(["sinus_rhythm", "pvc"], SEED + 1000 + k).record).methods["qt_ms"]
        counts = re.search(r"median beat of (\d+) beats; (\d+) of another shape left out, (\d+) next to them set aside",
                           found)
        if counts is not None:
            measured, ectopic, aside = map(int, counts.groups())
            assert measured >= 3 and 1 <= aside <= 2 * ectopic, found
            set_aside += 1
    assert set_aside >= 4
    bigeminy = melp.measure(simulate(["sinus_rhythm", "pvc", "ventricular_bigeminy"], SEED + 500).record)
    assert "of another shape left out" in bigeminy.methods["qt_ms"] and "set aside" not in bigeminy.methods["qt_ms"]


def test_tall_r_waves_do_not_delay_the_qrs_onset():
    """With tall R waves (LVH) a share of the spatial velocity's peak lies above the small initial forces;
    the onset level is capped in mV/s (before, the QRS onset came 10-15 ms late and QT 10-27 ms short)."""
    errors = (_errors(["sinus_rhythm", "lvh"], "qt_ms", "qt", SEED + 600)
              + _errors(["sinus_rhythm", "lvh_strain"], "qt_ms", "qt", SEED + 610))
    assert np.mean(np.asarray(errors) <= 15.0) >= 11 / 12, errors


def test_the_p_onset_is_not_late():
    """The P onset comes from the P wave's upslope fitted as a Gaussian, not from where the magnitude crosses
    15 % of the P height (before, PR came out 8-14 ms short on most plain sinus records)."""
    errors = _errors(["sinus_rhythm"], "pr_ms", "pr", SEED + 800)
    assert np.mean(np.asarray(errors) <= 8.0) >= 5 / 6, errors


def test_a_bifid_p_wave_is_not_fitted_through_its_notch():
    """Left atrial enlargement: two P humps. The upslope fit needs a monotone fall, so the notch falls back
    to the direct bound (fitted through the notch, PR came out about 75 ms long)."""
    errors = _errors(["sinus_rhythm", "left_atrial_enlargement"], "pr_ms", "pr", SEED + 700)
    assert max(errors) <= 20.0, errors


def test_p_consistency_is_not_fooled_by_the_leads_levels():
    """Unlocked atrial waves (fibrillation) differ from beat to beat; the leads' different levels do not.
    Correlating all leads' windows as one vector let those levels make any window look consistent, and
    atrial fibrillation records got a PR (48 of the 180 simulated records without P waves on streams 3
    and 4; 30 now, most of them flutter, whose waves are locked to the QRS)."""
    from melp.delineation import p_is_consistent

    rng = np.random.default_rng(0)
    fs, width, rows = 500.0, 400, list(range(8))
    levels = np.linspace(-0.3, 0.3, 8)[:, None]  # each lead's own level, the same in every beat
    time = np.arange(width)
    ripple = np.stack([0.03 * np.sin(2 * np.pi * (time / fs) * 6.0 + rng.uniform(0, 2 * np.pi, (8, 1)))
                       for _ in range(12)])  # (12 beats, 8 leads, W) fibrillatory waves, unlocked
    fibrillation = np.zeros((12, 12, width))
    fibrillation[:, :8] = levels + ripple
    p_shape = 0.12 * np.exp(-0.5 * ((time - 150) / 12.0) ** 2) * np.linspace(0.5, 1.0, 8)[:, None]
    sinus = np.zeros((12, 12, width))
    sinus[:, :8] = levels + p_shape + 0.01 * rng.standard_normal((12, 8, width))
    for stacked, expected in ((fibrillation, False), (sinus, True)):
        median = np.median(stacked, axis=0)
        assert p_is_consistent(stacked, median, rows, (120, 150), 220, fs) is expected


def test_gaussian_reach_extrapolates_the_clean_part_of_a_slope():
    from melp.delineation import FIT_SHARES, gaussian_reach

    sigma, share = 17.5, 0.1
    walk = np.arange(120.0)
    wave = np.exp(-0.5 * (walk / sigma) ** 2)
    tail = wave + 0.15 * np.exp(-0.5 * ((walk - 50.0) / 12.0) ** 2)  # a U wave or next P wave on the tail
    expected = sigma * np.sqrt(-2.0 * np.log(share))  # where the Gaussian falls to 10 %: 37.6 samples
    assert abs(gaussian_reach(tail, tail, share) - expected) <= 3
    assert not (tail[:int(expected) + 5] < share).any()  # the magnitude itself does not fall to 10 % there
    notched = wave.copy()
    notched[12:22] += 0.3 * np.exp(-0.5 * ((walk[12:22] - 17.0) / 3.0) ** 2)  # a second hump on the slope
    assert gaussian_reach(notched, notched, share) is None
    assert gaussian_reach(wave[:10], wave[:10], share) is None  # never falls to FIT_SHARES[1]
    assert FIT_SHARES[0] > FIT_SHARES[1] > share


def test_gaussian_reach_starts_its_monotone_check_where_the_smoothed_top_is():
    """A T wave's flat or rippled top puts the raw peak a few samples before the smoothed curve's peak; that
    rise is not a notch (before, such T waves, common in atrial fibrillation, lost the fit and ended 30-50 ms late
    at the tail's 10 % crossing)."""
    from melp.delineation import gaussian_reach

    sigma, share = 17.5, 0.1
    walk = np.arange(120.0)
    wave = np.exp(-0.5 * (np.maximum(walk - 6.0, 0.0) / sigma) ** 2)  # flat for 6 samples, then the fall
    smooth = np.convolve(wave, np.ones(5) / 5, mode="same")
    smooth[:3] = [0.990, 0.995, 1.0]  # the smoothed curve still rising just after the raw peak
    expected = 6.0 + sigma * np.sqrt(-2.0 * np.log(share))
    found = gaussian_reach(wave, smooth, share, flat_top=True)
    assert found is not None and abs(found - expected) <= 3, found
    assert gaussian_reach(wave, smooth, share) is None  # the P wave's upslope keeps the strict check


def test_a_flat_t_wave_is_found_before_a_taller_next_p_wave():
    """The T peak is searched before the next beat's P wave: a flat T wave is lower than that P wave
    (before, the P wave was taken for the T peak and QT came out unmeasured)."""
    from melp.delineation import t_end

    fs, width = 500.0, 500
    time = np.arange(width)
    t_wave = 0.06 * np.exp(-0.5 * ((time - 200) / 17.5) ** 2)  # T peak at sample 200 (400 ms)
    next_p = 0.12 * np.exp(-0.5 * ((time - 330) / 10.0) ** 2)  # next P wave peaking at 330, onset near 305
    beat = np.tile(t_wave + next_p, (8, 1)) * np.linspace(0.5, 1.0, 8)[:, None]
    baseline = slice(0, 10)
    found = t_end(beat, qrs_offset=60, fs=fs, baseline=baseline, limit=400, next_p=305)
    expected = 200 + 17.5 * np.sqrt(-2.0 * np.log(0.1))  # where the T wave falls to 10 %
    assert found is not None and abs(found - expected) <= 3, found
    assert t_end(beat, qrs_offset=60, fs=fs, baseline=baseline, limit=400) != found  # the P wave misleads without


def test_qrs_bounds_search_from_the_steepest_point_not_from_the_given_r_peak():
    """A beat detector's R position can sit just before the QRS (a real CPSC record: 20 ms before it,
    where the spatial velocity is still low): the bounds were then both that position and the QRS came
    out 0 ms long, QT 86 ms."""
    from melp.delineation import qrs_bounds

    fs, width = 500.0, 500
    time = np.arange(width)
    qrs = np.exp(-0.5 * ((time - 260) / 8.0) ** 2) - 0.6 * np.exp(-0.5 * ((time - 280) / 8.0) ** 2)
    beat = np.outer(np.linspace(0.4, 1.2, 8), qrs)
    reference = qrs_bounds(beat, 260, fs)  # given at the R peak
    early = qrs_bounds(beat, 225, fs)  # given 70 ms before it, before the QRS has begun to move
    assert reference is not None and early == reference
    assert (reference[1] - reference[0]) / fs >= 0.05


def test_at_100_hz_the_qrs_is_delineated_on_a_finer_copy():
    """PTB-XL ships 100 Hz records: on 10 ms samples each QRS boundary moved by up to a sample (before, the
    QRS came out 12 ms long on average on these records; the benchmark's fresh 100 Hz stream: 86.8 -> 91.5 %
    within 20 ms)."""
    errors = []
    for k in range(16):
        ecg = simulate([COMMON[k % len(COMMON)]], SEED + 900 + k, fs=100)
        found = melp.measure(ecg.record).qrs_ms
        errors.append(np.inf if found is None else abs(found - ecg.intervals["qrs"]))
    assert np.mean(errors) <= 8.0, errors


def test_beats_of_another_shape_are_left_out_and_the_method_says_so():
    found = melp.measure(simulate(["sinus_rhythm", "pvc", "ventricular_bigeminy"], SEED + 500).record)
    assert "of another shape left out" in found.methods["qrs_ms"]
    plain = melp.measure(simulate(["sinus_rhythm"], SEED + 500).record)
    assert "left out" not in plain.methods["qrs_ms"]


def test_dominant_beats_prefer_the_shape_that_is_not_premature():
    from melp.delineation import dominant_beats

    fs, width, r_index = 500.0, 400, 200
    time = np.arange(width)
    narrow = np.exp(-0.5 * ((time - r_index) / 8.0) ** 2)  # a sinus QRS
    wide = -np.exp(-0.5 * ((time - r_index - 10) / 25.0) ** 2)  # an ectopic one, opposite and wide
    shapes = [narrow if k % 2 == 0 else wide for k in range(10)]  # bigeminy: five of each
    stacked = np.stack([np.tile(shape, (12, 1)) for shape in shapes])  # (10, 12, W)
    preceding = np.array([np.nan if k == 0 else (1.0 if k % 2 == 0 else 0.5) for k in range(10)])  # s
    dominant = dominant_beats(stacked, r_index, list(range(8)), fs, preceding)
    np.testing.assert_array_equal(dominant, np.arange(10) % 2 == 0)
    trigeminy = np.array([shape is narrow for shape in [narrow, narrow, wide] * 4])  # two of one, one of another
    stacked = np.stack([np.tile(narrow if keep else wide, (12, 1)) for keep in trigeminy])
    dominant = dominant_beats(stacked, r_index, list(range(8)), fs, np.full(12, 0.8))
    np.testing.assert_array_equal(dominant, trigeminy)
