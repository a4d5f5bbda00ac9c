"""``melp.measure(record)``: the intervals, rates and axes a clinician reads first, each with how it was found.

Beats come from ``melp.beats`` (consensus of several leads, never P waves). Intervals are measured once,
globally, on the median beat of all recorded leads, as computerised ECG programs do, after a zero-phase
0.5-40 Hz band-pass and 50/60 Hz notches (baseline wander, muscle noise and mains hum would otherwise
swamp the spatial velocity):
- the spatial velocity of the median beat (speed of the heart vector over the 8 independent leads)
  marks QRS onset and offset where it stays below a share of its QRS maximum for 20 ms;
- the spatial magnitude after the QRS (root mean square over leads, PR-segment level removed) gives the
  T wave, whose end is where it falls below 10 % of the T peak's height (or turns up into the next wave);
- before the QRS, the same magnitude gives the P wave (its highest local maximum) and its onset, where
  it falls below 10 % of the P height or, at fast rates, the trough between the previous T wave and P.
Axes are the frontal-plane angles of the net areas of leads I and aVF over P, QRS and T, each lead's
PR-segment level taken as zero.
Written by hand because neurokit2's delineators (dwt, cwt, peak) put QRS onset and offset, P onset and
T end 25-110 ms away from the simulator's ground truth on clean median beats (measured in
benchmarks/bench_measure.py); neurokit2 still cleans the leads and finds the R peaks (melp.beats).
A value that cannot be measured is None, and ``methods`` says why.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import signal as sps

from melp.data.beats import BeatInfo, beats
from melp.data.preprocess import NYQUIST_MARGIN, bandpass_sos, zero_phase_filter
from melp.record import STANDARD_LEADS, EcgRecord

BEFORE_R_S, AFTER_R_S = 0.45, 0.65  # median-beat window around each R peak
MIN_BEATS = 2  # beats needed for a median beat
SMOOTH_S = 0.008  # moving average of the spatial velocity
QRS_ONSET_SHARE, QRS_OFFSET_SHARE = 0.12, 0.12  # of the spatial velocity's QRS maximum
QRS_SEARCH_S = 0.12  # the spatial velocity's QRS maximum searched within this of the R peak
QRS_REACH_S = (0.16, 0.2)  # QRS onset searched up to this before the R peak, offset up to this after it
QRS_HOLD_S = 0.02  # a QRS boundary: the velocity stays below its share this long
T_SEARCH_S = (0.06, 0.55)  # T peak searched this long after QRS offset
P_SEARCH_S = (0.30, 0.02)  # P peak searched this long before QRS onset (from, to)
P_MIN_MV = 0.03  # a P wave must rise this far above baseline in the spatial magnitude
P_ONSET_SHARE = 0.15  # P onset where the magnitude falls below this share of the P peak (above the trough before it)
P_RR_SHARE = 0.4  # at fast rates the P search starts no earlier than this share of the RR before the QRS
P_CONSISTENCY = 0.5  # median correlation of the beats' P windows with the median beat's, for a P wave
MIN_PR_S = 0.07  # a "P wave" closer to the QRS than this is a pacing spike or the QRS onset
T_END_SHARE = 0.1  # T end where the magnitude falls below this share of the T peak height
NEXT_BEAT_SHARE = 0.75  # T end searched no later than this share of the median RR after the R peak
MEASURE_BAND_HZ = (0.5, 40.0)  # delineation band (capped below Nyquist)
MEASURE_FILTER_ORDER = 2
MAINS_HZ = (50.0, 60.0)
NOTCH_Q = 30.0
INDEPENDENT_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
MS = 1000.0


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


def beat_stack(record: EcgRecord, r_peaks: np.ndarray,
               signal: np.ndarray | None = None) -> tuple[np.ndarray, int] | None:
    """((K, 12, W) every whole beat around its R peak, index of the R peak in W), or None; from ``signal``
    (the record's own samples, or a filtered copy of them) when given."""
    before, after = int(BEFORE_R_S * record.fs), int(AFTER_R_S * record.fs)
    inside = r_peaks[(r_peaks >= before) & (r_peaks + after <= record.n_samples)]
    if inside.size < MIN_BEATS:
        return None
    samples = record.signal if signal is None else signal
    return np.stack([samples[:, peak - before:peak + after] for peak in inside]), before


def measurement_signal(record: EcgRecord) -> np.ndarray:
    """(12, N) the record filtered for delineation: zero-phase band-pass (baseline wander and muscle noise
    out) and 50/60 Hz notches (mains hum), so the spatial velocity and magnitude see the heart, not noise."""
    signal = np.nan_to_num(record.signal.astype(np.float64))
    sos, zi = bandpass_sos(record.fs, MEASURE_BAND_HZ[0], MEASURE_BAND_HZ[1], MEASURE_FILTER_ORDER)
    signal = zero_phase_filter(signal, sos, zi)
    for mains in MAINS_HZ:
        if mains < NYQUIST_MARGIN * record.fs:
            b, a = sps.iirnotch(mains, NOTCH_Q, fs=record.fs)
            signal = sps.filtfilt(b, a, signal, axis=-1)
    return signal


def median_beat(record: EcgRecord, r_peaks: np.ndarray) -> tuple[np.ndarray, int] | None:
    """((12, W) median over beats of each lead around its R peak, index of the R peak in W), or None."""
    stacked = beat_stack(record, r_peaks)
    return None if stacked is None else (np.median(stacked[0], axis=0), stacked[1])


def _moving_average(values: np.ndarray, width: int) -> np.ndarray:
    return np.convolve(values, np.ones(max(width, 1)) / max(width, 1), mode="same")


def _qrs_bounds(beat: np.ndarray, r_index: int, fs: float) -> tuple[int, int] | None:
    """QRS onset and offset (samples in the median beat) from the spatial velocity of the independent leads."""
    velocity = np.sqrt((np.diff(beat, axis=1, prepend=beat[:, :1]) ** 2).sum(axis=0)) * fs  # (W,) mV/s
    velocity = _moving_average(velocity, int(SMOOTH_S * fs))
    search = int(QRS_SEARCH_S * fs)
    low, high = max(r_index - search, 1), min(r_index + search, beat.shape[1] - 1)
    peak = velocity[low:high].max()
    if peak <= 0:
        return None
    # each boundary is where the velocity stays below its share for QRS_HOLD_S: a dip between two parts of
    # a wide or notched QRS (bundle branch block, paced, escape beats) is not its end
    hold = int(QRS_HOLD_S * fs)
    first, last = max(r_index - int(QRS_REACH_S[0] * fs), hold + 1), min(r_index + int(QRS_REACH_S[1] * fs),
                                                                          beat.shape[1] - hold - 1)
    onset = next((i for i in range(r_index, first - 1, -1) if velocity[i - hold:i + 1].max() < QRS_ONSET_SHARE * peak),
                 None)
    offset = next((i for i in range(r_index, last) if velocity[i:i + hold].max() < QRS_OFFSET_SHARE * peak), None)
    return (onset, offset) if onset is not None and offset is not None else None


def pr_segment(qrs_onset: int, fs: float) -> slice:
    """The 20 ms of the PR segment ending 10 ms before QRS onset: the isoelectric level of the median beat."""
    return slice(max(qrs_onset - int(0.03 * fs), 0), max(qrs_onset - int(0.01 * fs), 1))


def _magnitude(beat: np.ndarray, baseline: slice) -> np.ndarray:
    """(W,) root mean square over leads of the median beat with each lead's baseline level removed."""
    level = np.median(beat[:, baseline], axis=1, keepdims=True)
    return np.sqrt(((beat - level) ** 2).mean(axis=0))


def _t_end(beat: np.ndarray, qrs_offset: int, fs: float, baseline: slice, limit: int) -> int | None:
    """T end in the median beat, searched no later than ``limit`` (before the next beat's P wave)."""
    magnitude = _magnitude(beat, baseline)
    start, stop = qrs_offset + int(T_SEARCH_S[0] * fs), min(qrs_offset + int(T_SEARCH_S[1] * fs), limit)
    if stop - start < 3:
        return None
    peak = start + int(np.argmax(magnitude[start:stop]))
    level = float(magnitude[baseline].mean())
    height = magnitude[peak] - level
    smooth = _moving_average(magnitude, int(0.02 * fs))
    for i in range(peak + 1, limit):
        if magnitude[i] - level < T_END_SHARE * height:
            return i
        if i > peak + int(0.04 * fs) and smooth[i] > smooth[i - 1] and smooth[i] - level < 0.5 * height:
            return i  # rising again before reaching baseline: the next wave begins, the T wave ended here
    return None


def _p_onset(beat: np.ndarray, qrs_onset: int, fs: float, rr_s: float | None) -> tuple[int, int] | None:
    """(P onset, P peak) in the median beat, from the spatial magnitude before the QRS; None without a P wave.
    The P peak is searched no earlier than ``P_RR_SHARE`` of the RR before the QRS (after the previous T
    wave); its onset is where the magnitude falls below ``P_ONSET_SHARE`` of the P height, or, where the P
    wave rises out of the previous T wave (fast rates), the trough between them."""
    reach = min(P_SEARCH_S[0], P_RR_SHARE * rr_s) if rr_s else P_SEARCH_S[0]
    first, last = qrs_onset - int(reach * fs), qrs_onset - int(P_SEARCH_S[1] * fs)
    if first < 1 or last - first < 3:
        return None
    floor = max(qrs_onset - int(P_SEARCH_S[0] * fs), 1)  # the onset may lie before the peak's window
    baseline = pr_segment(qrs_onset, fs)  # the level the PR and QT measurements share
    magnitude = _magnitude(beat, baseline)
    level = float(magnitude[baseline].mean())
    window = magnitude[first:last]
    # the highest local maximum: a maximum at either edge is the previous T wave's tail or the QRS upstroke
    inner = np.flatnonzero((window[1:-1] >= window[:-2]) & (window[1:-1] >= window[2:])) + 1
    if inner.size == 0:
        return None
    peak = first + int(inner[np.argmax(window[inner])])
    height = magnitude[peak] - level
    if height < P_MIN_MV:
        return None
    smooth = _moving_average(magnitude, int(0.02 * fs))
    # the onset is measured up from the lowest point before the P wave, not from the PR segment: atrial
    # repolarisation can move the PR segment off the level the P wave starts from
    level = float(smooth[floor:peak].min())
    height = magnitude[peak] - level
    for i in range(peak, floor - 1, -1):
        if magnitude[i] - level < P_ONSET_SHARE * height:
            return i, peak
        if i < peak - int(0.02 * fs) and smooth[i - 1] > smooth[i] and smooth[i] - level < 0.5 * height:
            return i, peak  # rising again going back: the previous T wave; the trough is where the P wave starts
    return None


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


def _atrial_rate(info: BeatInfo, p_found: bool) -> float | None:
    """Rate of atrial events: the P waves the beat detector set aside (blocked or dissociated), plus one
    per QRS when the beats are conducted (a P wave before each QRS)."""
    if info.other_events.size == 0:
        return None
    dissociated = not p_found or info.other_events.size >= info.r_peaks.size  # P waves outnumber the QRS
    events = info.other_events if dissociated else np.sort(np.concatenate([info.other_events, info.r_peaks]))
    if events.size < 3:
        return None
    spacings = np.diff(events)
    # P waves hidden in a QRS or T wave are missed, so some spacings span two or three P-P intervals:
    # the P-P interval is the spacing of the closest pairs
    closest = spacings[spacings < 1.5 * spacings.min()]
    if closest.size < 2:
        return None
    return float(60.0 * info.fs / np.median(closest))


def _p_is_consistent(stacked: np.ndarray, median: np.ndarray, rows: list[int], p_wave: tuple[int, int],
                     qrs_onset: int, fs: float) -> bool:
    """True when the beats share the median beat's P wave: each beat's P window (all independent leads)
    correlates with the median's. Fibrillatory and flutter waves are not locked to the QRS, so a bump in
    the median beat that no single beat repeats is not a P wave; nor is one closer than MIN_PR_S to the QRS
    (a pacing spike or the QRS's own onset)."""
    onset, _ = p_wave
    if (qrs_onset - onset) / fs < MIN_PR_S:
        return False
    window = slice(onset, qrs_onset)
    template = median[rows, window].reshape(-1)
    template = template - template.mean()
    correlations = []
    for beat in stacked[:, rows, window]:
        values = beat.reshape(-1) - beat.mean()
        denominator = np.linalg.norm(values) * np.linalg.norm(template)
        correlations.append(float(values @ template / denominator) if denominator > 0 else 0.0)
    return float(np.median(correlations)) >= P_CONSISTENCY


def measure(record: EcgRecord) -> Measurements:
    """Rates, intervals and axes of ``record`` (see the module docstring for how each is found)."""
    info = beats(record)
    methods = {"heart_rate": f"ventricular rate from {info.n_beats} R peaks agreed by the cleanest leads "
                             f"(positions from lead {info.lead or 'none'})"}
    heart_rate = float(info.heart_rate) if np.isfinite(info.heart_rate) else None
    rr_ms = float(np.mean(info.rr) * MS) if info.rr.size else None
    values: dict[str, float | None] = dict.fromkeys(("pr_ms", "qrs_ms", "qt_ms", "p_axis", "qrs_axis", "t_axis"))
    stacked = beat_stack(record, info.r_peaks, measurement_signal(record))
    found = None if stacked is None else (np.median(stacked[0], axis=0), stacked[1])
    median_rr_s = float(np.median(info.rr)) if info.rr.size else None
    p_found = False
    if found is None:
        methods["intervals"] = f"not measurable: fewer than {MIN_BEATS} whole beats"
    else:
        beat, r_index = found
        rows = [STANDARD_LEADS.index(name) for name in INDEPENDENT_LEADS if record.lead_mask[STANDARD_LEADS.index(name)]]
        bounds = _qrs_bounds(beat[rows], r_index, record.fs)
        if bounds is not None:
            onset, offset = bounds
            values["qrs_ms"] = (offset - onset) / record.fs * MS
            baseline = pr_segment(onset, record.fs)
            values["qrs_axis"] = _axis(beat, onset, offset, baseline)
            next_beat = r_index + int(NEXT_BEAT_SHARE * median_rr_s * record.fs) if median_rr_s else beat.shape[1] - 1
            t_end = _t_end(beat[rows], offset, record.fs, baseline, min(next_beat, beat.shape[1] - 1))
            if t_end is not None:
                values["qt_ms"] = (t_end - onset) / record.fs * MS
                values["t_axis"] = _axis(beat, offset, t_end, baseline)
            p_wave = _p_onset(beat[rows], onset, record.fs, median_rr_s)
            p_found = p_wave is not None and _p_is_consistent(stacked[0], beat, rows, p_wave, onset, record.fs)
            if p_found:
                values["pr_ms"] = (onset - p_wave[0]) / record.fs * MS
                values["p_axis"] = _axis(beat, p_wave[0], onset, baseline)
        methods.update(_interval_methods(values, info.n_beats, bounds is not None))
    qt, rr_s = values["qt_ms"], (rr_ms / MS if rr_ms else None)
    atrial = _atrial_rate(info, p_found)
    if atrial is not None and heart_rate is not None and abs(atrial - heart_rate) <= 0.1 * heart_rate:
        atrial = None
    methods["atrial_rate"] = ("P waves set aside by the beat detector plus one per QRS" if atrial is not None
                              else "given only when it differs from the ventricular rate")
    return Measurements(
        heart_rate=heart_rate, atrial_rate=atrial, rr_ms=rr_ms, pr_ms=values["pr_ms"], qrs_ms=values["qrs_ms"],
        qt_ms=qt, qtc_bazett_ms=qt / np.sqrt(rr_s) if qt and rr_s else None,
        qtc_fridericia_ms=qt / rr_s ** (1 / 3) if qt and rr_s else None,
        p_axis=values["p_axis"], qrs_axis=values["qrs_axis"], t_axis=values["t_axis"], lead=info.lead,
        n_beats=info.n_beats, methods=methods,
    )


def _interval_methods(values: dict[str, float | None], n_beats: int, qrs_found: bool) -> dict[str, str]:
    median = f"median beat of {n_beats} beats"
    text = {
        "qrs_ms": f"QRS onset to offset where the spatial velocity crosses {QRS_ONSET_SHARE:.0%} of its peak ({median})",
        "pr_ms": f"P onset (spatial magnitude below {P_ONSET_SHARE:.0%} of the P peak, or the trough after the T "
                 f"wave) to QRS onset ({median})",
        "qt_ms": f"QRS onset to T end, where the spatial magnitude falls below {T_END_SHARE:.0%} of the T peak ({median})",
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
