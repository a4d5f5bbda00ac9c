"""``melp.measure(record)``: the intervals, rates and axes a clinician reads first, each with how it was found.

Beats come from ``melp.beats`` (consensus of several leads, never P waves). Intervals are measured once,
globally, on the median beat of the dominant QRS shape across all recorded leads, as computerised ECG
programs do, after a zero-phase 0.5-40 Hz band-pass and 50/60 Hz notches (baseline wander, muscle noise
and mains hum would otherwise swamp the spatial velocity), pacing spikes cut out before it at 250 Hz and
above; beats of records sampled below 250 Hz (PTB-XL's
100 Hz files) are upsampled to about 500 Hz first, so that boundaries are not found on 10 ms steps:
- the dominant beats are those whose QRS correlates with the most typical beat's; ectopic beats of another
  shape (premature ventricular complexes) would blur the median beat's waves; when two shapes are nearly
  equally common (bigeminy) the one not premature is dominant; where at least 3 dominant beats have no
  ectopic neighbour, only those are measured (the beat after an ectopic one follows a compensatory pause and
  has a longer QT; the one before it can have its T wave overlapped), and where most dominant beats are
  followed early by an ectopic one, the T end is searched before it;
- the spatial velocity of the median beat (speed of the heart vector over the 8 independent leads)
  marks QRS onset and offset where it stays below a share of its QRS maximum for 20 ms (the onset level
  is capped at 25 mV/s, below which the small initial forces beside tall R waves would otherwise fall);
- the spatial magnitude after the QRS (root mean square over leads, PR-segment level removed) gives the
  T wave: its peak (before the next P wave when that is known: a flat T wave can be the lower of the two),
  and where it is over: below 10 % of the T peak's height, or turning up into the next wave (a U wave or
  P wave); a hump after an early dip (a QT shorter than a QTc of 330 ms would allow, the next P wave still
  to come) is the T wave itself after a shifted ST segment. The T end is where the T wave's downslope,
  fitted as a Gaussian between 80 and 40 % of its height, falls to 10 %: the magnitude's own tail is bent
  by what follows it; in bigeminy and trigeminy the search stops at the ectopic beat's QRS onset;
- before the QRS, the same magnitude gives the P wave (its highest local maximum) and its onset: where its
  upslope, fitted the same way, falls to 5 % of the P height (where it is not one clean slope, a bifid P
  wave, where the magnitude falls below 15 % or, at fast rates, the trough between the T and P waves).
  Where that P wave is not at one place before every beat (Wenckebach block), the PR is the median of the
  beats' own PRs (``melp.varying_pr``), with its range in the method. Fibrillatory and 2:1 flutter waves
  taken for a P wave give no PR (``melp.atrial_waves``);
- QTc (Bazett and Fridericia) is corrected with the median RR before the beats the QT was measured on.
Axes are the frontal-plane angles of the net areas of leads I and aVF over P, QRS and T, each lead's
PR-segment level taken as zero.
Written by hand because neurokit2's delineators (dwt, cwt, peak) put QRS onset and offset, P onset and
T end 25-110 ms away from the simulator's ground truth on clean median beats (measured in
benchmarks/bench_measure.py); neurokit2 still cleans the leads and finds the R peaks (melp.beats).
A value that cannot be measured is None, and ``methods`` says why.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import signal as sps

from melp import atrial_waves, delineation, p_wave_on_t, varying_pr
from melp.atrial_rate import atrial_rate
from melp.delineation import (MIN_BEATS, P_ONSET_SHARE, QRS_ONSET_MAX_MV_S, QRS_ONSET_SHARE, SHORTEST_QTC_S,
                              T_END_SHARE, pr_segment)
from melp.data.beats import BeatInfo, beats
from melp.data.preprocess import NYQUIST_MARGIN, bandpass_sos, zero_phase_filter
from melp.record import STANDARD_LEADS, EcgRecord

BEFORE_R_S, AFTER_R_S = 0.45, 0.65  # median-beat window around each R peak
PREMATURE_SHARE = 0.85  # a beat this early (share of the median RR) is premature
ECTOPIC_MARGIN_S = 0.05  # in bigeminy the T end is searched before the ectopic QRS onset, or this before its R peak
EARLY_ECTOPIC_SHARE = 0.25  # ... when this share of the measured beats is followed early by an ectopic beat
SHORT_PR_S = 0.13  # below this PR the P wave (80-110 ms long) reaches into the PR segment: the T wave's level is taken
# from the flattest 20 ms between the P onset (less 60 ms) and the QRS
SHORTEST_PLAUSIBLE_QTC_S = 0.30  # a QTc (Fridericia) below this is a T end found in the wrong place
QTC_RR_SPREAD = 1.3  # QTc uses the measured beats' own RR where the longest is within this of the shortest
CLEAN_MIN_BEATS = 3  # beats away from ectopic ones measured alone when at least this many
NEXT_BEAT_SHARE = 0.75  # T end searched no later than this share of the median RR after the R peak
MEASURE_BAND_HZ = (0.5, 40.0)  # delineation band (capped below Nyquist)
MEASURE_FILTER_ORDER = 2
SPIKE_MV, SPIKE_LEADS, SPIKE_HALF_WIDTH_S = 0.5, 3, 0.004  # pacing spikes and pops (see _without_spikes)
MAINS_HZ = (50.0, 60.0)
NOTCH_Q = 30.0
INDEPENDENT_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
MS = 1000.0
COARSE_FS, DELINEATION_FS = 250.0, 500.0  # beats of records sampled below COARSE_FS are delineated at about 500 Hz


@dataclass(frozen=True)
class Measurements:
    """One record's measurements; None where not measurable (``methods`` says how each was found or why not)."""

    heart_rate: float | None  # ventricular rate, bpm
    atrial_rate: float | None  # bpm, given when it differs from the ventricular rate by more than 10 %
    rr_ms: float | None
    pr_ms: float | None
    qrs_ms: float | None
    qt_ms: float | None
    qtc_bazett_ms: float | None
    qtc_fridericia_ms: float | None
    p_axis: float | None  # frontal plane, degrees
    qrs_axis: float | None
    t_axis: float | None
    lead: str  # lead whose R-peak positions are used
    n_beats: int
    methods: dict[str, str] = field(default_factory=dict)
    qtc_rr_ms: float | None = None  # the RR the QTc values were corrected with (the RR before the measured beats)
    pr_range_ms: tuple[float, float] | None = None  # (shortest, longest) where the PR varies beat by beat (Wenckebach)


def whole_beats(record: EcgRecord, r_peaks: np.ndarray) -> np.ndarray:
    """(K,) bool: the R peaks with a whole median-beat window inside the record."""
    before, after = int(BEFORE_R_S * record.fs), int(AFTER_R_S * record.fs)
    return (r_peaks >= before) & (r_peaks + after <= record.n_samples)


def beat_stack(record: EcgRecord, r_peaks: np.ndarray,
               signal: np.ndarray | None = None) -> tuple[np.ndarray, int] | None:
    """((K, 12, W) every whole beat around its R peak, index of the R peak in W), or None; from ``signal``
    (the record's own samples, or a filtered copy of them) when given."""
    before, after = int(BEFORE_R_S * record.fs), int(AFTER_R_S * record.fs)
    inside = r_peaks[whole_beats(record, r_peaks)]
    if inside.size < MIN_BEATS:
        return None
    samples = record.signal if signal is None else signal
    return np.stack([samples[:, peak - before:peak + after] for peak in inside]), before


def measurement_signal(record: EcgRecord) -> np.ndarray:
    """(12, N) the record filtered for delineation: zero-phase band-pass (baseline wander and muscle noise
    out) and 50/60 Hz notches (mains hum), so the spatial velocity and magnitude see the heart, not noise."""
    signal = np.nan_to_num(record.signal.astype(np.float64))
    if record.fs >= COARSE_FS:  # at 100 Hz an R peak is as narrow as a spike
        signal = _without_spikes(signal, record.fs)
    sos, zi = bandpass_sos(record.fs, MEASURE_BAND_HZ[0], MEASURE_BAND_HZ[1], MEASURE_FILTER_ORDER)
    signal = zero_phase_filter(signal, sos, zi)
    for mains in MAINS_HZ:
        if mains < NYQUIST_MARGIN * record.fs:
            b, a = sps.iirnotch(mains, NOTCH_Q, fs=record.fs)
            signal = sps.filtfilt(b, a, signal, axis=-1)
    return signal


def _without_spikes(signal: np.ndarray, fs: float) -> np.ndarray:
    """(12, N) ``signal`` with spikes cut out: a sample that stands SPIKE_MV off the line through its two
    neighbours in at least SPIKE_LEADS leads at once is replaced, with SPIKE_HALF_WIDTH_S either side, by
    the line between the samples around it. A pacemaker's stimulus lasts under a millisecond, one sample
    at 500 Hz, and the delineation band-pass spread it 20-30 ms either side into the QRS onset (simulated
    paced QRS 20-30 ms long, or the spike taken for the whole QRS); an electrode pop is the same. No QRS
    turns that sharply at 250 Hz and above: of the shared real records sampled there, two have such
    samples, 4 and 9 of them, artefacts of up to 9 mV in records with no pacemaker. Written by hand:
    neurokit2 and scipy have no pacing-spike detector."""
    departure = np.abs(signal[:, 1:-1] - 0.5 * (signal[:, :-2] + signal[:, 2:]))  # (12, N-2) at samples 1..N-2
    spikes = np.flatnonzero((departure > SPIKE_MV).sum(axis=0) >= SPIKE_LEADS) + 1
    if spikes.size == 0:
        return signal
    cleaned, reach = signal.copy(), max(int(round(SPIKE_HALF_WIDTH_S * fs)), 1)
    for centre in spikes:
        lo, hi = max(centre - reach - 1, 0), min(centre + reach + 1, signal.shape[1] - 1)
        weights = (np.arange(lo, hi + 1) - lo) / (hi - lo)
        cleaned[:, lo:hi + 1] = signal[:, [lo]] + (signal[:, [hi]] - signal[:, [lo]]) * weights
    return cleaned


def median_beat(record: EcgRecord, r_peaks: np.ndarray) -> tuple[np.ndarray, int] | None:
    """((12, W) median over beats of each lead around its R peak, index of the R peak in W), or None."""
    stacked = beat_stack(record, r_peaks)
    return None if stacked is None else (np.median(stacked[0], axis=0), stacked[1])


def _axis(beat: np.ndarray, start: int, stop: int, baseline: slice) -> float | None:
    """Frontal axis (degrees, -180..180) from the net areas of leads I and aVF between two samples, each
    lead's level over ``baseline`` (the PR segment) taken as zero."""
    if stop <= start:
        return None
    rows = [STANDARD_LEADS.index("I"), STANDARD_LEADS.index("aVF")]
    level = np.median(beat[rows, baseline], axis=1)
    lead_i, lead_avf = (beat[rows, start:stop] - level[:, None]).sum(axis=1)
    if lead_i == 0 and lead_avf == 0:
        return None
    return float(np.degrees(np.arctan2(lead_avf, lead_i)))


class MeasuredBeats(NamedTuple):
    """The beats intervals are measured on (see ``_measured_beats``)."""

    beats: np.ndarray  # (K, 12, W) whole beats of the dominant shape, each around its R peak
    r_index: int  # the R peak's index in W
    fs: float  # their sampling rate (records below COARSE_FS upsampled)
    ectopic_after_s: float | None  # s after the R peak by which an ectopic beat has begun (bigeminy), else None
    left_out: int  # whole beats of another shape left out
    set_aside: int  # beats of the dominant shape set aside beside ectopic ones
    preceding_s: np.ndarray  # (K,) RR before each of them, s (NaN for the first beat of the record)
    r_times_s: np.ndarray  # (K,) their R peaks' times in the record, s

    @property
    def rr_before_s(self) -> float | None:
        """The median RR before the measured beats where they all follow about the same RR (their QT follows
        it; within QTC_RR_SPREAD of each other), else None: a median beat of beats after short and long
        cycles (premature atrial beats of the same shape) has no one RR, and a premature beat's QT does not
        follow its short cycle (atrial bigeminy: QTc 561 ms with the premature beats' RR, 476 with the mean)."""
        known = self.preceding_s[np.isfinite(self.preceding_s)]
        if known.size == 0 or known.max() > QTC_RR_SPREAD * known.min():
            return None
        return float(np.median(known))


def fridericia_qtc(qt: float, rr_s: float) -> float:
    """Fridericia's QTc of a QT (any unit) at an RR of ``rr_s`` seconds."""
    return qt / rr_s ** (1 / 3)


def fridericia_qt(qtc: float, rr_s: float) -> float:
    """The QT whose Fridericia QTc is ``qtc`` at an RR of ``rr_s`` seconds (the inverse of fridericia_qtc)."""
    return qtc * rr_s ** (1 / 3)


def _measured_beats(record: EcgRecord, info: BeatInfo, rows: list[int], signal: np.ndarray) -> MeasuredBeats | None:
    """The whole beats of the dominant shape and how they were chosen, or None without whole beats. Beats of
    records sampled below COARSE_FS are upsampled to about DELINEATION_FS (every boundary found on them, the
    ectopic beat's QRS onset as well as the dominant beat's: on 10 ms samples each moved by up to a sample)."""
    stacked = beat_stack(record, info.r_peaks, signal)
    if stacked is None:
        return None
    beats_, r_index = stacked
    fs = record.fs
    if fs < COARSE_FS:
        factor = int(round(DELINEATION_FS / fs))
        beats_ = sps.resample_poly(beats_, factor, 1, axis=-1)  # band-limited below 40 Hz: exact enough
        r_index, fs = r_index * factor, fs * factor
    whole = whole_beats(record, info.r_peaks)
    preceding = np.concatenate([[np.nan], info.rr])[whole]  # (K,) s from the beat before
    r_times = info.r_peaks[whole] / record.fs
    dominant = delineation.dominant_beats(beats_, r_index, rows, fs, preceding)
    if not MIN_BEATS <= dominant.sum() < dominant.size:
        return MeasuredBeats(beats_, r_index, fs, None, 0, 0, preceding, r_times)
    following = np.concatenate([info.rr, [np.nan]])[whole]  # (K,) s to the beat after
    known = np.isfinite(preceding[dominant])
    cycle_s = float(np.median(preceding[dominant][known])) if known.any() else float(np.median(info.rr))
    # beats next to an ectopic one (another shape, and premature) are set aside where enough others remain,
    # as a reader measures away from the ectopy: the beat after it follows a compensatory pause (its QT is
    # longer), the one before can have its T wave overlapped. A beat of another shape that is not premature
    # (on real records mostly noise or a respiratory change of the QRS) sets nothing aside
    ectopic = ~dominant & (preceding < PREMATURE_SHARE * cycle_s)
    index = np.flatnonzero(whole)
    marked = set(index[ectopic].tolist())  # a beat cut off at either end counts as not ectopic
    beside = np.array([k - 1 in marked or k + 1 in marked for k in index.tolist()])
    clean = dominant & ~beside
    if beside.any() and clean.sum() >= CLEAN_MIN_BEATS:
        return MeasuredBeats(beats_[clean], r_index, fs, None, int((~dominant).sum()), int((dominant & beside).sum()),
                             preceding[clean], r_times[clean])
    early = dominant & np.concatenate([~dominant[1:], [False]]) & (following < PREMATURE_SHARE * cycle_s)
    ectopic_after_s = None
    if early.sum() >= EARLY_ECTOPIC_SHARE * dominant.sum():  # bigeminy, trigeminy: the median beat would show it
        # the T end is searched before the ectopic beat's QRS onset, found on the median of the other beats
        bounds = delineation.qrs_bounds(np.median(beats_[~dominant], axis=0)[rows], r_index, fs)
        lead_in = (r_index - bounds[0]) / fs if bounds is not None else ECTOPIC_MARGIN_S
        ectopic_after_s = float(np.median(following[early])) - lead_in
    return MeasuredBeats(beats_[dominant], r_index, fs, ectopic_after_s, int((~dominant).sum()), 0,
                         preceding[dominant], r_times[dominant])


def _delineate(measured: MeasuredBeats, rows: list[int], rr_s: float | None, irregular: bool,
               heart_rate: float | None) -> tuple[dict[str, float | None], int, tuple[float, float] | None, bool,
                                                 str | None]:
    """(intervals and axes, how many beats the P wave was found on (0: none), the PR's range (ms) where it
    varies from beat to beat (else None), QRS found, why the wave before the QRS was not taken for a P wave
    (fibrillatory or flutter waves, ``melp.atrial_waves``; else None)) from the median of the measured
    beats; ``irregular``: the rhythm's RRs are."""
    stacked, r_index, fs, ectopic_after_s = measured.beats, measured.r_index, measured.fs, measured.ectopic_after_s
    values: dict[str, float | None] = dict.fromkeys(("pr_ms", "qrs_ms", "qt_ms", "p_axis", "qrs_axis", "t_axis"))
    beat = np.median(stacked, axis=0)  # (12, W)
    bounds = delineation.qrs_bounds(beat[rows], r_index, fs)
    if bounds is None:
        return values, 0, None, False, None
    onset, offset = bounds
    values["qrs_ms"] = (offset - onset) / fs * MS
    baseline = pr_segment(onset, fs)
    values["qrs_axis"] = _axis(beat, onset, offset, baseline)
    p_wave = delineation.p_onset(beat[rows], onset, fs, rr_s)
    consistency = (delineation.p_consistency(stacked, beat, rows, p_wave, onset, fs) if p_wave is not None
                   else -np.inf)
    p_found, set_aside = consistency >= delineation.P_CONSISTENCY, None
    if p_found and irregular and consistency < atrial_waves.P_CONSISTENCY_IRREGULAR:
        # fibrillatory waves; Wenckebach block is irregular too, and its beats get their own PRs below
        set_aside, p_found = atrial_waves.FIBRILLATORY, False
    p_beats, pr_range = (len(stacked) if p_found else 0), None
    if p_found:  # at fast rates the onset is refined for PR and P axis (the T end's search keeps the first)
        p_start = p_wave_on_t.p_onset_on_t(beat[rows], onset, fs, rr_s, p_wave)[0]
        values["pr_ms"] = (onset - p_start) / fs * MS
        values["p_axis"] = _axis(beat, p_start, onset, baseline)
    else:  # the P wave not at one place before every beat (Wenckebach): each beat's own PR
        p_beats, pr_range = _varying_pr(measured, rows, onset, baseline, rr_s, values)
    limit = r_index + int(NEXT_BEAT_SHARE * rr_s * fs) if rr_s else beat.shape[1] - 1
    if ectopic_after_s is not None:
        limit = min(limit, r_index + int(ectopic_after_s * fs))
    next_p = p_wave[0] + int(rr_s * fs) if p_found and rr_s else None
    shortest_end, st_shift_end = (onset + int(fridericia_qt(qtc_s, rr_s) * fs) if rr_s else None
                                  for qtc_s in (SHORTEST_QTC_S, delineation.ST_SHIFT_QTC_S))
    t_baseline = baseline
    if p_found and (onset - p_wave[0]) / fs < SHORT_PR_S:
        t_baseline = delineation.flattest_window(beat[rows], p_wave[0] - int(0.06 * fs), onset - int(0.01 * fs), fs)
    t_end = delineation.t_end(beat[rows], offset, fs, t_baseline, min(limit, beat.shape[1] - 1), next_p, shortest_end,
                              st_shift_end)
    if t_end is not None:
        values["qt_ms"] = (t_end - onset) / fs * MS
        values["t_axis"] = _axis(beat, offset, t_end, baseline)
    if p_found and atrial_waves.flutter_like(heart_rate, irregular, values["p_axis"]):
        set_aside = atrial_waves.flutter_method(values["p_axis"])
        values["pr_ms"] = values["p_axis"] = None
        p_beats = 0
    return values, p_beats, pr_range, True, set_aside if pr_range is None else None


def _varying_pr(measured: MeasuredBeats, rows: list[int], onset: int, baseline: slice, rr_s: float | None,
                    values: dict[str, float | None]) -> tuple[int, tuple[float, float] | None]:
    """Where the P wave is not at one place before every beat: PR and P axis (into ``values``) beat by beat
    (``melp.varying_pr``); (how many beats the PR is the median of, (shortest, longest) PR in ms), or (0, None)."""
    found = varying_pr.beat_by_beat(measured.beats[:, rows], measured.preceding_s, measured.r_times_s, onset,
                                    measured.fs, rr_s)
    if found is None:
        return 0, None
    values["pr_ms"] = float(np.median(found.prs_ms))
    values["p_axis"] = _axis(np.median(measured.beats[found.after_pause], axis=0), found.p_onset, onset, baseline)
    return len(found.prs_ms), (float(found.prs_ms.min()), float(found.prs_ms.max()))


def measure(record: EcgRecord) -> Measurements:
    """Rates, intervals and axes of ``record`` (see the module docstring for how each is found)."""
    info = beats(record)
    methods = {"heart_rate": f"ventricular rate from {info.n_beats} R peaks agreed by the cleanest leads "
                             f"(positions from lead {info.lead or 'none'})"}
    heart_rate = float(info.heart_rate) if np.isfinite(info.heart_rate) else None
    rr_ms = float(np.mean(info.rr) * MS) if info.rr.size else None
    median_rr_s = float(np.median(info.rr)) if info.rr.size else None
    rows = [STANDARD_LEADS.index(name) for name in INDEPENDENT_LEADS if record.lead_mask[STANDARD_LEADS.index(name)]]
    values: dict[str, float | None] = dict.fromkeys(("pr_ms", "qrs_ms", "qt_ms", "p_axis", "qrs_axis", "t_axis"))
    p_found, pr_range = False, None
    signal = measurement_signal(record)
    measured = _measured_beats(record, info, rows, signal)
    if measured is None:
        methods["intervals"] = f"not measurable: fewer than {MIN_BEATS} whole beats"
    else:
        irregular = atrial_waves.is_irregular(info.rr)
        values, p_beats, pr_range, qrs_found, set_aside = _delineate(measured, rows, median_rr_s, irregular, heart_rate)
        p_found = p_beats > 0 and pr_range is None  # a P wave at one place before every measured beat
        methods.update(_interval_methods(values, len(measured.beats), measured.left_out, measured.set_aside,
                                         qrs_found))
        if set_aside is not None:
            methods["pr_ms"] = methods["p_axis"] = set_aside
        elif p_found and p_wave_on_t.applies(median_rr_s):
            methods["pr_ms"] += p_wave_on_t.METHOD
        if pr_range is not None:
            methods["pr_ms"] = (f"median PR of {p_beats} beats, each beat's P wave found by matching the P wave of the "
                                f"beats after a pause: the PR varies from {pr_range[0]:.0f} to {pr_range[1]:.0f} ms "
                                "(lengthening until a P wave is blocked: Wenckebach block?)")
    # QTc with the RR before the beats whose QT was measured where they share one (in bigeminy the sinus beats
    # follow the long pause, and their QT with it: corrected with the mean RR their QTc came out 30-50 ms
    # long), else with the mean RR
    qt = values["qt_ms"]
    rr_before = measured.rr_before_s if measured is not None else None
    rr_s = rr_before if rr_before else (rr_ms / MS if rr_ms else None)
    qtc_f = fridericia_qtc(qt, rr_s) if qt is not None and rr_s else None
    if qtc_f is not None and qtc_f / MS < SHORTEST_PLAUSIBLE_QTC_S:
        # no heart repolarises that fast: the T end found is a flutter wave's, or the QRS was found around a
        # pacing spike at 100 Hz (simulated paced records there: QT 150-220 ms short); not shown as a QT
        qt = qtc_f = values["qt_ms"] = values["t_axis"] = None
        methods["qt_ms"] = methods["t_axis"] = (
            f"not measurable: the T wave's end found lies implausibly early (QTc under "
            f"{SHORTEST_PLAUSIBLE_QTC_S * MS:.0f} ms; flutter waves, or a pacing spike taken for the QRS?)")
    if qt is not None and rr_s:
        methods["qtc"] = (f"QT corrected with {rr_s * MS:.0f} ms, " + (
            "the median RR before the beats it was measured on" if rr_before else
            "the mean RR (the beats it was measured on follow RRs of different lengths)"))
    else:
        methods["qtc"] = methods.get("qt_ms", methods.get("intervals", "not measurable"))
    atrial = atrial_rate(info, values["pr_ms"] if p_found else None, signal, rows)
    if atrial is not None and heart_rate is not None and abs(atrial - heart_rate) <= 0.1 * heart_rate:
        atrial = None
    methods["atrial_rate"] = (
        "P-P interval of the P waves no QRS follows (set aside by the beat detector) and those of the conducted "
        "beats, one regular series" if atrial is not None else
        "given only when it differs from the ventricular rate and the atrial events form one regular rhythm")
    return Measurements(
        heart_rate=heart_rate, atrial_rate=atrial, rr_ms=rr_ms, pr_ms=values["pr_ms"], qrs_ms=values["qrs_ms"],
        qt_ms=qt, qtc_bazett_ms=qt / np.sqrt(rr_s) if qt and rr_s else None,
        qtc_fridericia_ms=qtc_f,
        p_axis=values["p_axis"], qrs_axis=values["qrs_axis"], t_axis=values["t_axis"], lead=info.lead,
        n_beats=info.n_beats, methods=methods, qtc_rr_ms=rr_s * MS if qt and rr_s else None, pr_range_ms=pr_range,
    )


def _interval_methods(values: dict[str, float | None], n_median: int, left_out: int, set_aside: int,
                      qrs_found: bool) -> dict[str, str]:
    median = (f"median beat of {n_median} beats" + (f"; {left_out} of another shape left out" if left_out else "")
              + (f", {set_aside} next to them set aside" if set_aside else ""))
    text = {
        "qrs_ms": f"QRS onset to offset where the spatial velocity crosses {QRS_ONSET_SHARE:.0%} of its peak "
                  f"(onset: or {QRS_ONSET_MAX_MV_S:.0f} mV/s when lower) ({median})",
        "pr_ms": f"P onset (where the P wave's upslope, fitted as a Gaussian, is {P_ONSET_SHARE:.0%} of the P "
                 f"height) to QRS onset ({median})",
        "qt_ms": f"QRS onset to T end, where the T wave's downslope in the spatial magnitude, fitted as a Gaussian, "
                 f"falls to {T_END_SHARE:.0%} of the T peak ({median})",
        "qrs_axis": "frontal axis of the net QRS areas in I and aVF", "p_axis": "frontal axis of the P wave areas",
        "t_axis": "frontal axis of the T wave areas",
    }
    reasons = {"pr_ms": "no P wave before the QRS (atrial fibrillation, flutter, junctional or paced rhythm?)",
               "p_axis": "no P wave", "qt_ms": "no clear T wave end", "t_axis": "no clear T wave end",
               "qrs_ms": "no clear QRS in the median beat", "qrs_axis": "no clear QRS in the median beat"}
    if not qrs_found:  # every interval and axis is measured from the QRS's onset and offset
        reasons = dict.fromkeys(text, "no clear QRS in the median beat")
    return {key: text[key] if values[key] is not None else f"not measurable: {reasons[key]}"
            for key in text}
