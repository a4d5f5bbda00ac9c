"""The PR beat by beat where the P wave is not at one place before every beat (Wenckebach block).

In Wenckebach block the PR lengthens beat by beat until a P wave is blocked: the median beat's P wave is a
blur that no single beat repeats, and ``melp.measure`` finds no consistent P wave. The beats after each
blocked P wave start the cycle again with one PR: their P wave, matched in every measured beat, gives each
beat's PR, and the PR reported is their median (as for a steady PR) with its range. Matches count only
where they are an atrial rhythm: P-P intervals of one atrial cycle between neighbouring beats and two
across a pause, and the beats after a pause with the shorter PRs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from melp import delineation
from melp.delineation import MIN_BEATS

PAUSE_SHARE = 1.3  # a beat whose RR before it is over this share of the median follows a pause
LONGEST_PR_S = 0.45  # each beat's P wave is matched no further than this before its QRS ...
LATER_S = 0.02  # ... and up to this later than the template's
P_MARCH_TOLERANCE = 0.15  # P-P intervals of a blocked atrial rhythm within this share of their median cycle
ADJACENT_S = 0.01  # two measured beats are neighbours when their R peaks are one RR apart to within this
MS = 1000.0


@dataclass(frozen=True)
class VaryingPr:
    prs_ms: np.ndarray  # (n,) the PR of each beat whose P wave was matched
    after_pause: np.ndarray  # (K,) bool: the beats after a pause, whose median's P wave was matched
    p_onset: int  # that P wave's onset (sample in W)


def beat_by_beat(beats: np.ndarray, preceding_s: np.ndarray, r_times_s: np.ndarray, qrs_onset: int, fs: float,
                 rr_s: float | None) -> VaryingPr | None:
    """Each beat's PR from ``beats`` (K, leads, W; the same QRS onset sample ``qrs_onset`` in each), the RR
    before each (``preceding_s``, NaN unknown) and their R peaks' times, or None: fewer than MIN_BEATS beats
    after a pause, no consistent P wave on them, the P wave matched in under half the beats, or matches
    that do not march at one atrial rate."""
    known = np.isfinite(preceding_s)
    if not known.any():
        return None
    after = known & (preceding_s > PAUSE_SHARE * np.median(preceding_s[known]))
    if after.sum() < MIN_BEATS:
        return None
    template = np.median(beats[after], axis=0)
    p_wave = delineation.p_onset(template, qrs_onset, fs, rr_s)
    if p_wave is None or not delineation.p_is_consistent(beats[after], template, list(range(len(template))),
                                                         p_wave, qrs_onset, fs):
        return None
    starts = _p_positions(beats, template, p_wave, qrs_onset, fs)
    matched = np.isfinite(starts)
    if matched.sum() < max(MIN_BEATS, len(starts) // 2):
        return None
    prs_s = (qrs_onset - starts[matched]) / fs
    if not _p_waves_march(r_times_s[matched] - prs_s, r_times_s[matched], preceding_s[matched], after[matched]):
        return None
    return VaryingPr(prs_s * MS, after, p_wave[0])


def _p_positions(beats: np.ndarray, template_beat: np.ndarray, p_wave: tuple[int, int], qrs_onset: int,
                 fs: float) -> np.ndarray:
    """(K,) each beat's P onset (sample), where the template's P wave (its onset to as far past its peak as
    the peak is past the onset) correlates best across the leads (delineation.lead_correlation) with the
    beat, from LONGEST_PR_S before the QRS onset to LATER_S after the template's; NaN where no window reaches
    delineation.P_CONSISTENCY (``delineation.sliding_correlation``)."""
    start, peak = p_wave
    stop = min(peak + (peak - start), qrs_onset)
    first = max(qrs_onset - int(LONGEST_PR_S * fs), 0)  # the earliest P onset looked at
    last = min(start + int(LATER_S * fs) - 1, qrs_onset - (stop - start))  # ... and the latest
    positions = np.full(len(beats), np.nan)
    if last < first:
        return positions
    for k, beat in enumerate(beats):
        scores = delineation.sliding_correlation(beat[:, first:last + stop - start], template_beat[:, start:stop])
        if scores.size and scores.max() >= delineation.P_CONSISTENCY:
            positions[k] = first + int(np.argmax(scores))
    return positions


def _p_waves_march(p_times: np.ndarray, r_times: np.ndarray, preceding: np.ndarray, after: np.ndarray) -> bool:
    """Whether P waves matched beat by beat are an atrial rhythm blocked now and then, not chance matches
    (a template slid over a dozen windows finds some correlation in any beat: in atrial fibrillation's f
    waves, on a previous T wave): between neighbouring beats the P-P interval is one atrial cycle, across a
    pause two (a P wave blocked), each within P_MARCH_TOLERANCE of the median cycle; and the beats after a
    pause have the shorter PRs (the cycle begins again)."""
    adjacent = np.abs(np.diff(r_times) - preceding[1:]) < ADJACENT_S  # no beat left out between them
    if adjacent.sum() < MIN_BEATS or after.all():
        return False
    cycles = np.diff(p_times)[adjacent] / np.where(after[1:][adjacent], 2.0, 1.0)
    base = float(np.median(cycles))
    if base <= 0 or not np.all(np.abs(cycles - base) <= P_MARCH_TOLERANCE * base):
        return False
    prs = r_times - p_times
    return bool(np.median(prs[after]) < np.median(prs[~after]))
