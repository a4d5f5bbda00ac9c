"""The P onset at fast rates, where the P wave rises out of the previous T wave (used by ``melp.measure``)."""
from __future__ import annotations

import numpy as np

from melp import delineation

P_ON_T_RATE_BPM = 110.0  # at this rate and faster the P onset is sought with the T direction projected out ...
T_PEAK_AFTER_ONSET_S, T_PEAK_RR_SHARE = 0.14, 0.6  # ... the T peak taken between these after the QRS onset ...
P_SAME_PEAK_S = 0.04  # ... where that finds a P peak this close to the first one ...
P_ON_T_MAX_SHIFT_S = 0.04  # ... and moves the onset earlier by at most this
METHOD = (f"; at {P_ON_T_RATE_BPM:.0f} bpm and faster the onset is sought again with the T wave's direction across "
          "the leads projected out, where the P wave rises out of the T wave")


def applies(rr_s: float | None) -> bool:
    """Whether the median RR ``rr_s`` is fast enough for the P onset to be sought again."""
    return rr_s is not None and 60.0 / rr_s >= P_ON_T_RATE_BPM


def p_onset_on_t(beat: np.ndarray, qrs_onset: int, fs: float, rr_s: float | None,
                 found: tuple[int, int]) -> tuple[int, int]:
    """The P wave ``found`` by ``delineation.p_onset`` (onset, peak), its onset found again at fast rates
    (``P_ON_T_RATE_BPM``): there the P wave rises out of the previous T wave's downslope and the trough between
    them comes after the true P onset (streams 3 and 4, sinus tachycardia: PR 4-34 ms short in most records).
    The T wave points one way across the leads and the P wave mostly another, so the onset is sought again
    with the T wave's direction projected out of every sample (``without_t_direction``), and taken from
    there when that finds the same P wave (peak within ``P_SAME_PEAK_S``), the T wave is the taller of the
    two (a flat T wave hardly hides the P onset, and its direction is ill-defined) and the onset moves
    earlier, by at most ``P_ON_T_MAX_SHIFT_S``: a trough on a falling T wave comes after the P wave has begun,
    so the onset found can only be late (on PTB-XL fold 9 a later onset came up for 9 records, by up to 44
    ms, with nothing to say it was right); the simulator's P waves needed up to 34 ms, and further is more
    likely another wave. Written by hand: no delineator we know of separates overlapping P and T waves."""
    if not applies(rr_s):
        return found
    baseline = delineation.pr_segment(qrs_onset, fs)
    magnitude = delineation.magnitude_curve(beat, baseline)
    start = qrs_onset + int(T_PEAK_AFTER_ONSET_S * fs)
    stop = min(qrs_onset + int(T_PEAK_RR_SHARE * rr_s * fs), beat.shape[1] - 1)
    if stop - start < 3:
        return found
    t_peak = start + int(np.argmax(magnitude[start:stop]))
    if magnitude[t_peak] < magnitude[found[1]]:
        return found
    again = delineation.p_onset(without_t_direction(beat, baseline, t_peak), qrs_onset, fs, rr_s)
    if (again is None or abs(again[1] - found[1]) > int(P_SAME_PEAK_S * fs)
            or not 0 < found[0] - again[0] <= int(P_ON_T_MAX_SHIFT_S * fs)):
        return found
    return again[0], found[1]


def without_t_direction(beat: np.ndarray, baseline: slice, t_peak: int) -> np.ndarray:
    """(L, W) ``beat`` with the direction across the leads of its deviation from ``baseline`` at ``t_peak``
    projected out of every sample."""
    deviation = beat[:, t_peak] - np.median(beat[:, baseline], axis=1)
    direction = deviation / (np.linalg.norm(deviation) + 1e-12)
    return beat - np.outer(direction, direction @ beat)
