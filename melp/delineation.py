"""Delineation of a median beat: the dominant beats, QRS onset and offset, T end, P onset (``melp.measure``).

How each boundary is found, and why by hand, is in ``melp.measurements``' docstring; every function here
works on samples of one (12 or 8, W) median beat (or the (K, 12, W) beats it is the median of).
"""
from __future__ import annotations

import numpy as np

MIN_BEATS = 2  # beats needed for a median beat (and for a group of one shape)
DOMINANT_QRS_S = (0.06, 0.08)  # QRS window around the R peak that beat shapes are compared over
DOMINANT_CORRELATION = 0.9  # beats of one shape correlate above this over that window
DOMINANT_TIE_SHARE = 0.7  # a second shape this common (share of the first) competes for dominant
SMOOTH_S = 0.008  # moving average of the spatial velocity
QRS_ONSET_SHARE, QRS_OFFSET_SHARE = 0.12, 0.12  # of the spatial velocity's QRS maximum
QRS_ONSET_MAX_MV_S = 25.0  # ... or this velocity when lower: tall R waves (LVH) put a share above the initial forces
QRS_SEARCH_S = 0.12  # the spatial velocity's QRS maximum searched within this of the R peak
QRS_REACH_S = (0.16, 0.2)  # QRS onset searched up to this before the R peak, offset up to this after it
QRS_HOLD_S = 0.02  # a QRS boundary: the velocity stays below its share this long
T_SEARCH_S = (0.06, 0.55)  # T peak searched this long after QRS offset
P_SEARCH_S = (0.30, 0.02)  # P peak searched this long before QRS onset (from, to)
P_MIN_MV = 0.03  # a P wave must rise this far above baseline in the spatial magnitude
P_BOUND_SHARE = 0.15  # going back from the P peak, the P wave is over where the magnitude falls below this share
P_ONSET_SHARE = 0.05  # P onset where the P wave's fitted upslope is this share of its height
P_RR_SHARE = 0.4  # at fast rates the P search starts no earlier than this share of the RR before the QRS
P_CONSISTENCY = 0.7  # median correlation of the beats' P windows with the median beat's (leads centred): a P wave
MIN_PR_S = 0.07  # a "P wave" closer to the QRS than this is a pacing spike or the QRS onset
T_END_SHARE = 0.1  # T end where the T wave's fitted downslope is this share of its height
FIT_SHARES = (0.8, 0.4)  # a wave's slope is fitted between these shares of its height (see gaussian_reach)
FIT_MONOTONE_SLACK = 0.002  # ... only where it falls monotonically (up to this share of the height per sample)
T_BEFORE_P_S = 0.1  # the T peak is searched before the next P wave when that leaves this much room
T_HUMP_SHARE = 0.4  # after an early dip, a hump this tall (share of the T height) is still the T wave
SECOND_HUMP_SHARE = 0.25  # of two humps after the QRS, the smaller counts when at least this share of the other
U_CONCORDANCE = 0.7  # a U wave points like the T wave before it (cosine across the leads at least this) ...
ST_T_DISCORDANCE = -0.3  # ... a T wave after a shifted ST segment points against the ST (cosine at most this) ...
ST_SHIFT_QTC_S = 0.40  # ... when the dip between them comes before this Fridericia QTc ...
HUMP_PROMINENCE = 0.01  # ... and the hump rises this far (share of the first wave's height) above the dip: a
# shoulder on a T wave's downslope is not a second wave (PTB S0006, S0007: QT 494-502 ms, the next P wave's)
RUN_IN_MARGIN = 0.05  # a T wave run into the next P wave is fitted down to this share above its lowest level
SHORTEST_QTC_S = 0.33  # Fridericia QTc below this is short-QT territory: a dip earlier than it is not the T end


def dominant_beats(stacked: np.ndarray, r_index: int, rows: list[int], fs: float,
                   preceding_rr: np.ndarray) -> np.ndarray:
    """(K,) bool: the beats of the dominant QRS shape, which intervals are measured on (ectopic beats of
    another shape, e.g. premature ventricular complexes, would blur the median beat's waves).

    Beats whose QRS windows (independent leads) correlate above DOMINANT_CORRELATION with the most
    typical beat form its group; when a second shape is nearly as common (bigeminy), the group whose beats
    come later after the beat before them (not premature) is the dominant one. ``preceding_rr`` (K,)
    seconds, NaN for the first beat."""
    window = slice(max(r_index - int(DOMINANT_QRS_S[0] * fs), 0), r_index + int(DOMINANT_QRS_S[1] * fs))
    shapes = stacked[:, rows, window].reshape(len(stacked), -1)
    shapes = shapes - shapes.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(shapes, axis=1, keepdims=True)
    shapes = shapes / np.where(norms > 0, norms, 1.0)
    similar = shapes @ shapes.T > DOMINANT_CORRELATION  # (K, K)
    first = similar[int(np.argmax(similar.sum(axis=1)))]
    rest = ~first
    if rest.sum() < MIN_BEATS:
        return first
    counts = np.where(rest, (similar & rest[None, :]).sum(axis=1), -1)
    second = similar[int(np.argmax(counts))] & rest
    if second.sum() < DOMINANT_TIE_SHARE * first.sum():
        return first
    later = np.nanmedian(preceding_rr[second]) > np.nanmedian(preceding_rr[first]) if np.isfinite(
        preceding_rr[second]).any() and np.isfinite(preceding_rr[first]).any() else False
    return second if later else first


def _moving_average(values: np.ndarray, width: int) -> np.ndarray:
    return np.convolve(values, np.ones(max(width, 1)) / max(width, 1), mode="same")


def qrs_bounds(beat: np.ndarray, r_index: int, fs: float) -> tuple[int, int] | None:
    """QRS onset and offset (samples in the median beat) from the spatial velocity of the independent leads,
    searched outward from its steepest point within QRS_SEARCH_S of ``r_index`` (a detector's R position
    can sit before the QRS has begun)."""
    velocity = np.sqrt((np.diff(beat, axis=1, prepend=beat[:, :1]) ** 2).sum(axis=0)) * fs  # (W,) mV/s
    velocity = _moving_average(velocity, int(SMOOTH_S * fs))
    search = int(QRS_SEARCH_S * fs)
    low, high = max(r_index - search, 1), min(r_index + search, beat.shape[1] - 1)
    centre = low + int(np.argmax(velocity[low:high]))  # the QRS's steepest point: both searches start there
    peak = velocity[centre]
    if peak <= 0:
        return None
    # each boundary is where the velocity stays below its share for QRS_HOLD_S: a dip between two parts of
    # a wide or notched QRS (bundle branch block, paced, escape beats) is not its end
    hold = int(QRS_HOLD_S * fs)
    first, last = max(r_index - int(QRS_REACH_S[0] * fs), hold + 1), min(r_index + int(QRS_REACH_S[1] * fs),
                                                                          beat.shape[1] - hold - 1)
    # the onset level is capped: the initial (septal) forces are small beside tall R waves, and a share of
    # the peak alone put the onset at the main R deflection (10-15 ms late on simulated LVH records); where
    # noise before the QRS stays above the cap, the share of the peak alone (searched only then)
    onset = None
    for level in sorted({min(QRS_ONSET_SHARE * peak, QRS_ONSET_MAX_MV_S), QRS_ONSET_SHARE * peak}):
        onset = next((i for i in range(centre, first - 1, -1) if velocity[i - hold:i + 1].max() < level), None)
        if onset is not None:
            break
    offset = next((i for i in range(centre, last) if velocity[i:i + hold].max() < QRS_OFFSET_SHARE * peak), None)
    return (onset, offset) if onset is not None and offset is not None else None


def pr_segment(qrs_onset: int, fs: float) -> slice:
    """The 20 ms of the PR segment ending 10 ms before QRS onset: the isoelectric level of the median beat."""
    return slice(max(qrs_onset - int(0.03 * fs), 0), max(qrs_onset - int(0.01 * fs), 1))


def flattest_window(beat: np.ndarray, start: int, stop: int, fs: float) -> slice:
    """The 20 ms between ``start`` and ``stop`` where the leads move least (sum over leads of the absolute
    sample-to-sample change): the isoelectric level."""
    width = int(0.02 * fs)
    start = max(start, 0)
    if stop - start <= width:
        return pr_segment(stop + int(0.01 * fs), fs)
    motion = np.abs(np.diff(beat[:, start:stop], axis=1)).sum(axis=0)
    totals = np.convolve(motion, np.ones(width), mode="valid")
    first = start + int(np.argmin(totals))
    return slice(first, first + width)


def magnitude_curve(beat: np.ndarray, baseline: slice) -> np.ndarray:
    """(W,) root mean square over leads of the median beat with each lead's baseline level removed."""
    level = np.median(beat[:, baseline], axis=1, keepdims=True)
    return np.sqrt(((beat - level) ** 2).mean(axis=0))


def gaussian_reach(relative: np.ndarray, smooth: np.ndarray, share: float, flat_top: bool = False,
                   low: float = FIT_SHARES[1]) -> int | None:
    """Samples from a wave's peak to where its slope, fitted as a Gaussian, falls to ``share`` of its
    height; None where the slope is not a clean fall. ``relative`` (n,) is the magnitude over the wave's
    height walking away from the peak (forwards down a T wave, backwards down a P wave's upslope) up to
    where the wave was found to be over; ``smooth`` (n,) the same walk on the smoothed magnitude.

    Written by hand (a two-point fit, no library routine) because the lower tail is what a threshold on
    the magnitude itself gets wrong: there the wave overlaps what follows or precedes it (a U wave, the next
    P wave, the previous T wave, an ST level off the baseline) and noise sits. Between FIT_SHARES of its
    height a T or P wave falls cleanly; a Gaussian through those two crossings gives its width, and from
    it where the wave reaches ``share``. Measured on simulated records (streams 3 and 4): direct
    crossings ended T waves 20-30 ms early and started P waves about 10 ms late. ``flat_top`` (the T wave
    only: see below) lets the smoothed curve still rise for a few samples after the raw peak. For the P wave
    it changed nothing on the simulator and moved the PR of 20 of 240 real records by 10-36 ms, with no
    ground truth there to say which is right, so it stays off. ``low`` moves the lower fit point up where
    the slope is cut short (a T wave running into the next P wave)."""
    high = FIT_SHARES[0]
    t_high, t_low = _crossing(relative, high), _crossing(relative, low)
    if t_high is None or t_low is None or t_low <= t_high:
        return None
    # up to the lower fit point the fall must be monotone: a notch or second hump refuses the fit. With
    # ``flat_top`` the check starts where the smoothed curve peaks, looked for in the first half of the way
    # to the upper fit point: a T wave's flat or rippled top (atrial fibrillation's f waves riding on it)
    # can put that a few samples after the raw peak
    top = int(np.argmax(smooth[:int(t_high / 2) + 1])) if flat_top else 0
    if np.any(np.diff(smooth[top:int(np.ceil(t_low)) + 1]) > FIT_MONOTONE_SLACK):
        return None
    width = lambda level: np.sqrt(-2.0 * np.log(level))  # distance from a Gaussian's peak, in sigmas
    sigma = (t_low - t_high) / (width(low) - width(high))
    return int(round(t_high + sigma * (width(share) - width(high))))


def _crossing(values: np.ndarray, level: float) -> float | None:
    """Where ``values`` first falls below ``level``, between samples (linear): at 100 Hz the 80-40 % part
    of a P wave's slope spans two or three samples, too few for whole-sample crossings."""
    below = np.flatnonzero(values < level)
    if below.size == 0:
        return None
    k = int(below[0])
    if k == 0:
        return 0.0
    return k - 1 + float((values[k - 1] - level) / (values[k - 1] - values[k]))


def t_end(beat: np.ndarray, qrs_offset: int, fs: float, baseline: slice, limit: int,
          next_p: int | None = None, shortest_end: int | None = None,
          st_shift_end: int | None = None) -> int | None:
    """T end in the median beat, searched no later than ``limit`` (before the next beat).
    The T peak is the highest point of the spatial magnitude after the QRS and, when the next beat's P
    wave is known (``next_p``, its onset), before it: a flat T wave can be lower than the P wave; and
    where that highest point is a U wave, the T wave before it (``_t_before_u``: the two point alike,
    and the dip between them comes after ``shortest_end``, where a QTc of SHORTEST_QTC_S ends).
    Going down from the T peak, the T wave is over where the magnitude falls below T_END_SHARE of its
    height or rises into the next wave (a U wave, the next P wave), unless the hump it rises into is the
    T wave itself, after an ST segment shifted off the baseline that the magnitude took for the T peak
    (``_hump_is_the_t_wave``: the dip comes too early for the T wave to have ended, or before
    ``st_shift_end`` with the hump pointing against the ST segment). The T end is where the downslope,
    fitted as a Gaussian (``gaussian_reach``), reaches T_END_SHARE; where it cannot be fitted, where the
    search stopped."""
    magnitude = magnitude_curve(beat, baseline)
    start, stop = qrs_offset + int(T_SEARCH_S[0] * fs), min(qrs_offset + int(T_SEARCH_S[1] * fs), limit)
    if stop - start < 3:
        return None
    peak = start + int(np.argmax(magnitude[start:stop]))
    if next_p is not None and T_BEFORE_P_S * fs < next_p - start < stop - start:
        before_p = start + int(np.argmax(magnitude[start:next_p]))
        if before_p < next_p - 2:  # still rising at the P wave: the T wave runs into it, the first peak stands
            peak = before_p
    level = float(magnitude[baseline].mean())
    smooth = _moving_average(magnitude, int(0.02 * fs))
    if shortest_end is not None:
        peak = _t_before_u(beat, baseline, smooth - level, start, peak, shortest_end)
    height = magnitude[peak] - level
    end, i, ran_into_p = None, peak + 1, False
    while i < limit and end is None:
        if magnitude[i] - level < T_END_SHARE * height:
            end = i
        elif i > peak + int(0.04 * fs) and smooth[i] > smooth[i - 1] and (
                smooth[i] - level < 0.5 * height or next_p is not None and i >= next_p):
            ran_into_p = next_p is not None and i >= next_p  # rising at or after the next P wave's onset
            top = _next_maximum(smooth, i, limit)
            if not _hump_is_the_t_wave(beat, baseline, smooth - level, height, peak, i, top, next_p, shortest_end,
                                       st_shift_end):
                end = i  # rising again before reaching baseline: the next wave begins, the T wave ended here
            else:  # ST segment then T wave: the T wave's end comes after this hump
                peak, i, height = top, top, magnitude[top] - level
        i += 1
    if height <= 0:
        return end
    over = limit if end is None else end
    relative = (magnitude[peak:over] - level) / height
    # where the T wave ran into the next P wave high on its downslope (fast rates), the lower fit point is
    # just above the lowest level it reached, while that leaves a slope to fit; without a fit there is no T
    # end: where the P wave begins is not where the T wave ends (a flat T wave over a raised level, or a
    # magnitude that never fell, came out 60-190 ms long)
    run_in = ran_into_p and end is not None and relative.size > 0 and relative.min() > FIT_SHARES[1]
    low = float(relative.min()) + RUN_IN_MARGIN if run_in else FIT_SHARES[1]
    reach = None if low > FIT_SHARES[0] - RUN_IN_MARGIN else gaussian_reach(
        relative, (smooth[peak:over] - level) / height, T_END_SHARE, flat_top=True, low=low)
    if reach is None or peak + reach >= limit:
        return None if run_in else end
    return peak + reach


def _cosine(beat: np.ndarray, baseline: slice, a: int, b: int) -> float:
    """Cosine across the leads of the beat's deviations from their baseline levels at samples a and b."""
    level = np.median(beat[:, baseline], axis=1)
    first, second = beat[:, a] - level, beat[:, b] - level
    return float(first @ second / (np.linalg.norm(first) * np.linalg.norm(second) + 1e-12))


def _t_before_u(beat: np.ndarray, baseline: slice, relative: np.ndarray, start: int, peak: int,
                shortest_end: int) -> int:
    """The T peak when the tallest hump after the QRS (``peak``) is a U wave: the first earlier hump of
    ``relative`` (the smoothed magnitude above its baseline level) at least SECOND_HUMP_SHARE of its height
    that falls to under half its own height at or after ``shortest_end`` (where the T wave can have ended)
    before ``peak``, and points the same way across the leads (U_CONCORDANCE: a U wave is concordant with
    its T wave; a shifted ST segment before a T wave, the other case of two humps, points against it).
    Else ``peak``."""
    for k in range(start + 1, peak - 1):
        if not relative[k - 1] <= relative[k] > relative[k + 1] or relative[k] < SECOND_HUMP_SHARE * relative[peak]:
            continue
        dip = k + int(np.argmin(relative[k:peak]))
        if (dip >= shortest_end and relative[dip] < 0.5 * relative[k]
                and _cosine(beat, baseline, k, peak) >= U_CONCORDANCE):
            return k
    return peak


def _hump_is_the_t_wave(beat: np.ndarray, baseline: slice, relative: np.ndarray, height: float, peak: int, dip: int,
                        top: int | None, next_p: int | None, shortest_end: int | None,
                        st_shift_end: int | None) -> bool:
    """Whether the hump at ``top``, after the magnitude (``relative``, smoothed, above its baseline level)
    fell from the wave at ``peak`` (``height`` tall) and turned up at ``dip``, is the T wave itself, the
    wave at ``peak`` an ST segment shifted off the baseline. Never a hump at or after the next P wave. Yes
    where the dip comes too early for the T wave to have ended (before ``shortest_end``; the next P wave
    known) and the hump is T_HUMP_SHARE tall, or where the dip comes before ``st_shift_end`` and the hump,
    SECOND_HUMP_SHARE tall, points against the first wave (ST_T_DISCORDANCE): a depressed ST segment and a
    flat T wave, taller in the magnitude, end there otherwise (simulated nonspecific ST-T change and ST
    depression with a long QT: QT 60-130 ms short; PTB-XL 01962, digitalis effect, the same on the
    record)."""
    if top is None or (next_p is not None and top >= next_p):
        return False
    early = next_p is not None and shortest_end is not None and dip < shortest_end
    if early and relative[top] >= T_HUMP_SHARE * height:
        return True
    return (st_shift_end is not None and dip < st_shift_end and relative[top] >= SECOND_HUMP_SHARE * height
            and relative[top] - relative[dip:top + 1].min() >= HUMP_PROMINENCE * height
            and _cosine(beat, baseline, peak, top) <= ST_T_DISCORDANCE)


def _next_maximum(values: np.ndarray, start: int, stop: int) -> int | None:
    """The first local maximum of ``values`` in [start, stop), or None when it keeps rising to ``stop``."""
    for i in range(start, stop - 1):
        if values[i + 1] < values[i]:
            return i
    return None


def p_onset(beat: np.ndarray, qrs_onset: int, fs: float, rr_s: float | None) -> tuple[int, int] | None:
    """(P onset, P peak) in the median beat, from the spatial magnitude before the QRS; None without a P wave.
    The P peak is searched no earlier than ``P_RR_SHARE`` of the RR before the QRS (after the previous T
    wave). Going back from it, the P wave is over where the magnitude falls below ``P_BOUND_SHARE`` of the P
    height or, where the P wave rises out of the previous T wave (fast rates), at the trough between them;
    its onset is where the upslope, fitted as a Gaussian (``gaussian_reach``), reaches ``P_ONSET_SHARE``
    (where it cannot be fitted, a bifid P wave, that bound)."""
    reach = min(P_SEARCH_S[0], P_RR_SHARE * rr_s) if rr_s else P_SEARCH_S[0]
    first, last = qrs_onset - int(reach * fs), qrs_onset - int(P_SEARCH_S[1] * fs)
    if first < 1 or last - first < 3:
        return None
    floor = max(qrs_onset - int(P_SEARCH_S[0] * fs), 1)  # the onset may lie before the peak's window
    baseline = pr_segment(qrs_onset, fs)  # the level the PR and QT measurements share
    magnitude = magnitude_curve(beat, baseline)
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
    bound = next((i for i in range(peak, floor - 1, -1) if magnitude[i] - level < P_BOUND_SHARE * height or (
        # rising again going back, low or into a wave taller than the P wave: the previous T wave; the trough
        # is where the P wave starts (a notch high up between two lower humps is a bifid P wave)
        i < peak - int(0.02 * fs) and smooth[i - 1] > smooth[i] and (
            smooth[i] - level < 0.5 * height or smooth[floor:i].max() > magnitude[peak]))), None)
    if bound is None:
        return None
    walk = slice(peak, bound - 1 if bound > 0 else None, -1)
    fitted = gaussian_reach((magnitude[walk] - level) / height, (smooth[walk] - level) / height, P_ONSET_SHARE)
    return (bound if fitted is None else max(peak - fitted, floor)), peak


def p_consistency(stacked: np.ndarray, median: np.ndarray, rows: list[int], p_wave: tuple[int, int],
                  qrs_onset: int, fs: float) -> float:
    """How closely the beats share the median beat's P wave: the median over the beats of each beat's P window
    (all independent leads) correlated with the median's; -inf for a wave closer than MIN_PR_S to the QRS
    (a pacing spike or the QRS's own onset)."""
    onset, _ = p_wave
    if (qrs_onset - onset) / fs < MIN_PR_S:
        return -np.inf
    window = slice(onset, qrs_onset)
    template = median[rows, window]
    return float(np.median([lead_correlation(beat, template) for beat in stacked[:, rows, window]]))


def p_is_consistent(stacked: np.ndarray, median: np.ndarray, rows: list[int], p_wave: tuple[int, int],
                    qrs_onset: int, fs: float) -> bool:
    """True when the beats share the median beat's P wave (``p_consistency`` at least P_CONSISTENCY).
    Fibrillatory and flutter waves are not locked to the QRS, so a bump in the median beat that no single
    beat repeats is not a P wave."""
    return p_consistency(stacked, median, rows, p_wave, qrs_onset, fs) >= P_CONSISTENCY


def sliding_correlation(window: np.ndarray, template: np.ndarray, step: int = 1) -> np.ndarray:
    """``lead_correlation`` of ``template`` (leads, w) with each stretch of ``window`` (leads, n >= w) it
    can lie on, every ``step`` samples from the start: where a wave of that shape sits in the window. The P
    wave's match in each Wenckebach beat and the atrial rate's check of blocked P waves both slide one."""
    width = template.shape[1]
    return np.array([lead_correlation(window[:, k:k + width], template)
                     for k in range(0, window.shape[1] - width + 1, step)])


def lead_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two (leads, samples) windows as one shape, each lead's own mean removed first: the
    leads' different levels, the same in every beat, would otherwise make any two windows look alike (atrial
    fibrillation records got a P wave, and a PR, from a ripple of the median beat)."""
    a = (a - a.mean(axis=-1, keepdims=True)).reshape(-1)
    b = (b - b.mean(axis=-1, keepdims=True)).reshape(-1)
    denominator = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denominator) if denominator > 0 else 0.0
