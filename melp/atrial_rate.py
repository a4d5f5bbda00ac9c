"""The atrial rate, where it differs from the ventricular one (AV block, dissociation): ``melp.measure``.

The beat detector (``melp.beats``) sets aside detections that are not QRS complexes. Some are P waves
that no QRS follows (blocked or dissociated), many are not: an R' or S wave, a notched T or U wave,
noise. A rate is given only where those events, with the P wave of each conducted beat, form one regular
atrial rhythm that looks like one: a detection inside a QRS is dropped; the spacings must be whole
numbers of one P-P interval (P waves hidden in a QRS or T wave are missed); enough of the events that
rate implies must have been found; a blocked event must look like the conducted beats' P wave across
the leads (a T wave in the middle of a slow cycle is timed like the blocked P wave of 2:1 block, but has
another shape); without conducted P waves, the events must wander against the QRS (dissociation), not
keep one place after it. Anything else gives None ("given only when measured").

Written by hand: neurokit2 finds the events, nothing in it groups them into an atrial rhythm.
"""
from __future__ import annotations

import numpy as np

from melp.data.beats import BeatInfo
from melp.delineation import sliding_correlation

QRS_GUARD_S = (0.06, 0.16)  # a detection this close before / after an R peak is part of the QRS, not a P wave
MIN_EVENTS = 4  # atrial events needed for a rate
SPACING_TOLERANCE = 0.12  # each spacing within this share of a whole number of P-P intervals ...
REGULAR_SHARE = 0.8  # ... for this share of the spacings: one regular atrial rhythm
RATE_BPM = (30.0, 400.0)  # atrial rates outside this are not P or flutter waves
FOUND_SHARE = 0.5  # of the atrial events a rate implies, at least this share must have been found
SHAPE_HALF_S = 0.05  # the window compared with the conducted P wave: this either side of the event
SHAPE_SHIFT_S = 0.04  # ... best over shifts up to this (a detection sits anywhere on its wave)
SHAPE_CORRELATION = 0.95  # median correlation of the blocked events with the conducted P wave ...
SHAPE_SIZE = (0.5, 2.0)  # ... and their size (root mean square over the window) against it: a T wave is larger
CONDUCTED_P_S = 0.1  # a detection this close to where a conducted beat's P wave peaks is that P wave
DISSOCIATION_SPREAD_S = 0.08  # without conducted P waves, the events' delays after the QRS spread at least this


def atrial_rate(info: BeatInfo, pr_ms: float | None, signal: np.ndarray, rows: list[int]) -> float | None:
    """Atrial events per minute, or None where they do not form one regular atrial rhythm (module
    docstring). ``pr_ms`` is the PR of the conducted beats (None without a P wave before each QRS);
    ``signal`` (12, N) the filtered record at ``info.fs``; ``rows`` the leads compared for shape."""
    fs = info.fs
    events = info.other_events
    if events.size and info.r_peaks.size:
        offset = (events[:, None] - info.r_peaks[None, :]) / fs
        events = events[~((offset > -QRS_GUARD_S[0]) & (offset < QRS_GUARD_S[1])).any(axis=1)]
    if events.size == 0:
        return None
    conducted = pr_ms is not None
    p_peaks = info.r_peaks - int(round(pr_ms / 1000.0 * fs)) if conducted else np.zeros(0, dtype=np.int64)
    if conducted:  # a detection at a conducted beat's P wave is that P wave, not a blocked one
        near = np.abs(events[:, None] - p_peaks[None, :]).min(axis=1) <= CONDUCTED_P_S * fs
        events = events[~near]
    blocked = events
    if blocked.size == 0:
        return None
    series = np.sort(np.concatenate([blocked, p_peaks]))
    if series.size < MIN_EVENTS:
        return None
    spacings = np.diff(series).astype(float)
    closest = spacings[spacings < 1.5 * spacings.min()]
    if closest.size < 2:
        return None
    interval = float(np.median(closest))
    multiples = np.maximum(np.round(spacings / interval), 1.0)
    regular = np.abs(spacings / interval - multiples) <= SPACING_TOLERANCE * multiples
    rate = 60.0 * fs / interval
    if regular.mean() < REGULAR_SHARE or not RATE_BPM[0] <= rate <= RATE_BPM[1]:
        return None
    span_s = (info.r_peaks[-1] - info.r_peaks[0]) / fs if info.r_peaks.size > 1 else 0.0
    expected = (rate - info.heart_rate if conducted else rate) / 60.0 * span_s
    if blocked.size < FOUND_SHARE * expected:
        return None
    if conducted:
        return rate if _look_like(blocked, p_peaks, signal[rows], fs) else None
    return rate if _dissociated(blocked, info.r_peaks, fs) else None


def _windows(signal: np.ndarray, centres: np.ndarray, half: int) -> np.ndarray:
    """(K, leads, 2 * half) windows around the centres that lie wholly inside the signal."""
    inside = centres[(centres - half >= 0) & (centres + half <= signal.shape[1])]
    if inside.size == 0:
        return np.zeros((0, signal.shape[0], 2 * half))
    return np.stack([signal[:, c - half:c + half] for c in inside])


def _look_like(blocked: np.ndarray, p_peaks: np.ndarray, signal: np.ndarray, fs: float) -> bool:
    """True when the blocked events share the conducted beats' P wave shape across the leads."""
    half, shift = int(SHAPE_HALF_S * fs), int(SHAPE_SHIFT_S * fs)
    conducted = _windows(signal, p_peaks, half + shift)
    if conducted.shape[0] == 0:
        return False
    template = np.median(conducted, axis=0)[:, shift:shift + 2 * half]
    found = _windows(signal, blocked, half + shift)
    if found.shape[0] == 0:
        return False
    best = [sliding_correlation(window, template, max(shift // 4, 1)).max() for window in found]
    size = _size(np.median(found, axis=0)[:, shift:shift + 2 * half]) / max(_size(template), 1e-9)
    return float(np.median(best)) >= SHAPE_CORRELATION and SHAPE_SIZE[0] <= size <= SHAPE_SIZE[1]


def _size(window: np.ndarray) -> float:
    """Root mean square of a (leads, samples) window about each lead's mean."""
    return float(np.sqrt(np.mean((window - window.mean(axis=1, keepdims=True)) ** 2)))


def _dissociated(events: np.ndarray, r_peaks: np.ndarray, fs: float) -> bool:
    """True when the events' delays after the QRS before them spread (P waves marching through), not
    one fixed delay (a wave of every beat: a T or U wave)."""
    before = np.searchsorted(r_peaks, events) - 1
    delays = (events[before >= 0] - r_peaks[before[before >= 0]]) / fs
    return delays.size >= 2 and float(np.std(delays)) >= DISSOCIATION_SPREAD_S
