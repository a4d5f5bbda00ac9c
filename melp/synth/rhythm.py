"""Beat timing: the rhythm process that places P waves and ventricular complexes in time.

Sinus node firing has respiratory sinus arrhythmia and random HRV; AV conduction adds the PR
interval (first-degree, Mobitz I/II, complete block); ectopic beats are inserted with coupling
intervals (PVCs keep the sinus schedule: compensatory pause; PACs reset it). AF draws irregular RR,
flutter conducts every k-th F wave, junctional and paced rhythms are regular.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from melp.synth.params import HeartParams

PAD_BEFORE_S = 1.6  # beats start before the record so its first samples show a complete cycle
PAD_AFTER_S = 1.0
MIN_RR_S = 0.27
LF_HZ = 0.1  # Mayer-wave (baroreflex) component of HRV
LF_FRACTION_OF_RSA = 0.5
PVC_COUPLING = (0.52, 0.68)  # fraction of the sinus RR
PAC_COUPLING = (0.62, 0.8)
PAC_PR_S = 0.14
PAC_RESET_FRACTION = 0.08  # the sinus node resets a little later than one RR after a PAC
EXTRA_SINUS_S = 2.0  # extra sinus beats generated past the end, consumed when PACs pull beats earlier
MOBITZ1_INCREMENT_S = 0.11
FLUTTER_AV_DELAY_S = (0.2, 0.27)
ESCAPE_RATE_BPM = (30.0, 45.0)
RR_FOR_QT = (0.3, 2.0)
ECTOPY_MARGIN_S = (0.3, 0.6)  # ectopic beats this far inside the record's start and end
PR_JITTER_S = 0.002
FLUTTER_CONDUCTION_JITTER_S = 0.004


@dataclass
class Timeline:
    """When every wave happens; onsets in seconds from the record start (may be negative)."""

    v_onsets: np.ndarray  # (N,) QRS onsets
    v_kinds: list[str]  # normal | pac | pvc | paced | escape
    qt: np.ndarray  # (N,) s, each beat's QT from its preceding RR
    p_onsets: np.ndarray  # (M,) P onsets of drawn P waves
    p_kinds: list[str]  # sinus | ectopic | retrograde
    p_conducted: np.ndarray  # (M,) bool, False for blocked P waves
    pr: float | None  # representative PR of conducted sinus beats, s


def _sinus_node(p: HeartParams, rng: np.random.Generator, start: float, end: float,
                rate_bpm: float) -> np.ndarray:
    """Sinus node firing times (s) with respiratory modulation, LF waves and random jitter."""
    rr_mean = 60.0 / rate_bpm
    phases = rng.uniform(0.0, 2.0 * np.pi, size=2)
    max_beats = int((end - start) / (rr_mean * 0.6)) + 4
    jitter = rng.normal(0.0, p.hrv, size=max_beats)
    times = []
    t = start - rng.uniform(0.0, rr_mean)
    for k in range(max_beats):
        if t >= end:
            break
        times.append(t)
        modulation = (p.rsa * np.sin(2 * np.pi * p.respiration_hz * t + phases[0])
                      + LF_FRACTION_OF_RSA * p.rsa * np.sin(2 * np.pi * LF_HZ * t + phases[1]) + jitter[k])
        t += max(rr_mean * (1.0 + modulation), MIN_RR_S)
    return np.asarray(times)


def _av_conduction(p: HeartParams, rng: np.random.Generator, n_p: int) -> tuple[np.ndarray, np.ndarray]:
    """Which P waves conduct and with what PR: (conducted (M,) bool, pr (M,) s)."""
    conducted = np.ones(n_p, dtype=bool)
    pr = np.full(n_p, p.pr) + rng.normal(0.0, PR_JITTER_S, size=n_p)
    if p.av_block == "mobitz1":
        cycle = int(rng.integers(3, 6))
        position = (np.arange(n_p) + int(rng.integers(0, cycle))) % cycle
        increments = MOBITZ1_INCREMENT_S * (1.0 - 0.55 ** position) / (1.0 - 0.55)
        pr = p.pr + increments
        conducted = position < cycle - 1
    elif p.av_block == "mobitz2":
        cycle = int(rng.integers(3, 5))
        conducted = (np.arange(n_p) + int(rng.integers(0, cycle))) % cycle < cycle - 1
    elif p.av_block == "complete":
        conducted[:] = False
    return conducted, pr


def _qt_per_beat(onsets: np.ndarray, qtc: float) -> np.ndarray:
    """QT (s) per beat from the preceding RR by Fridericia's cube-root law."""
    rr = np.diff(onsets, prepend=onsets[0] - (np.median(np.diff(onsets)) if len(onsets) > 1 else 1.0))
    return qtc * np.clip(rr, *RR_FOR_QT) ** (1.0 / 3.0)


def _sinus_timeline(p: HeartParams, rng: np.random.Generator, start: float, end: float) -> Timeline:
    p_onsets = _sinus_node(p, rng, start, end + EXTRA_SINUS_S, p.heart_rate)
    conducted, pr = _av_conduction(p, rng, len(p_onsets))
    p_kinds = ["sinus"] * len(p_onsets)
    if p.av_block == "complete":
        escape_rr = 60.0 / float(rng.uniform(*ESCAPE_RATE_BPM))
        v_onsets = np.arange(start - rng.uniform(0.0, escape_rr), end, escape_rr)
        kind = "escape" if p.escape_wide else "normal"
        return Timeline(v_onsets, [kind] * len(v_onsets), np.zeros(0), p_onsets, p_kinds, conducted, None)
    v_onsets = p_onsets[conducted] + pr[conducted]
    timeline = Timeline(v_onsets, ["normal"] * len(v_onsets), np.zeros(0), p_onsets, p_kinds, conducted,
                        float(np.median(pr[conducted])))
    if p.pac_count:
        _insert_pacs(timeline, p, rng, start, end)
    return timeline


def _visible(onsets: np.ndarray, start: float, end: float) -> np.ndarray:
    """Indices of beats safely inside the record (not the first or last one), for ectopy."""
    inside = np.flatnonzero((onsets > start + PAD_BEFORE_S + ECTOPY_MARGIN_S[0])
                            & (onsets < end - PAD_AFTER_S - ECTOPY_MARGIN_S[1]))
    return inside[(inside > 0) & (inside < len(onsets) - 1)]


def _choose_isolated(candidates: np.ndarray, count: int, rng: np.random.Generator) -> list[int]:
    """Up to ``count`` beat indices from ``candidates``, no two adjacent (isolated ectopic beats)."""
    chosen: list[int] = []
    for beat in rng.permutation(candidates):
        if len(chosen) == count:
            break
        if all(abs(int(beat) - other) > 1 for other in chosen):
            chosen.append(int(beat))
    return sorted(chosen)


def _insert_pacs(t: Timeline, p: HeartParams, rng: np.random.Generator, start: float, end: float) -> None:
    """Replace chosen sinus beats by premature atrial beats; the sinus node resets after each.

    Needs P waves aligned one-to-one with beats (no second- or third-degree block; conditions ensure it).
    """
    candidates = _visible(t.v_onsets, start, end)
    for beat in _choose_isolated(candidates, p.pac_count, rng):
        rr = t.v_onsets[beat] - t.v_onsets[beat - 1]
        shift = rr * (rng.uniform(*PAC_COUPLING) - 1.0)  # negative: the beat comes early
        t.v_onsets[beat:] += shift
        t.p_onsets[beat:] += shift
        t.v_onsets[beat + 1:] += PAC_RESET_FRACTION * rr
        t.p_onsets[beat + 1:] += PAC_RESET_FRACTION * rr
        t.p_onsets[beat] = t.v_onsets[beat] - PAC_PR_S
        t.v_kinds[beat] = "pac"
        t.p_kinds[beat] = "ectopic"


def _insert_pvcs(t: Timeline, p: HeartParams, rng: np.random.Generator, start: float, end: float) -> None:
    """Replace beats by premature ventricular complexes (pattern or isolated), hiding their P waves.

    The sinus schedule continues, so the next beat comes after a full compensatory pause.
    """
    if p.pvc_pattern in ("bigeminy", "trigeminy"):
        period = 2 if p.pvc_pattern == "bigeminy" else 3
        chosen = np.arange(int(rng.integers(1, period + 1)), len(t.v_onsets), period)
    else:
        candidates = _visible(t.v_onsets, start, end)
        chosen = _choose_isolated(candidates, p.pvc_count, rng)
    p_aligned = len(t.p_onsets) == len(t.v_onsets)
    keep = np.ones(len(t.p_onsets), dtype=bool)
    for beat in sorted(chosen):
        rr = t.v_onsets[beat] - t.v_onsets[beat - 1]
        t.v_onsets[beat] = t.v_onsets[beat - 1] + rr * rng.uniform(*PVC_COUPLING)
        t.v_kinds[beat] = "pvc"
        if p_aligned:
            keep[beat] = False
    t.p_onsets, t.p_conducted = t.p_onsets[keep], t.p_conducted[keep]
    t.p_kinds = [kind for kind, k in zip(t.p_kinds, keep) if k]


def _af_timeline(p: HeartParams, rng: np.random.Generator, start: float, end: float) -> Timeline:
    rr_mean = 60.0 / p.heart_rate
    shape = 1.0 / p.af_cv ** 2
    n = int((end - start) / (rr_mean * 0.4)) + 4
    rr = np.maximum(rng.gamma(shape, rr_mean / shape, size=n), MIN_RR_S)
    onsets = start - rng.uniform(0.0, rr_mean) + np.concatenate([[0.0], np.cumsum(rr)])
    onsets = onsets[onsets < end]
    return Timeline(onsets, ["normal"] * len(onsets), np.zeros(0), np.zeros(0), [], np.zeros(0, bool), None)


def _flutter_timeline(p: HeartParams, rng: np.random.Generator, start: float, end: float,
                      flutter_phase: float) -> Timeline:
    f_period = 60.0 / p.flutter_rate
    first_wave = start - flutter_phase * f_period
    waves = np.arange(first_wave, end, f_period)
    delay = float(rng.uniform(*FLUTTER_AV_DELAY_S))
    conducted = waves[:: p.flutter_ratio]
    onsets = conducted + delay + rng.normal(0.0, FLUTTER_CONDUCTION_JITTER_S, size=len(conducted))
    onsets = onsets[onsets < end]
    return Timeline(onsets, ["normal"] * len(onsets), np.zeros(0), np.zeros(0), [], np.zeros(0, bool), None)


def _regular_timeline(p: HeartParams, rng: np.random.Generator, start: float, end: float, kind: str) -> Timeline:
    rr = 60.0 / p.heart_rate
    jitter = 0.0 if kind == "paced" else p.hrv * rr
    onsets = np.arange(start - rng.uniform(0.0, rr), end, rr)
    onsets = onsets + rng.normal(0.0, jitter, size=len(onsets))
    p_onsets, p_kinds = np.zeros(0), []
    if kind == "junctional" and rng.random() < 0.5:
        p_onsets, p_kinds = onsets + 0.05, ["retrograde"] * len(onsets)
    v_kind = "paced" if kind == "paced" else "normal"
    return Timeline(onsets, [v_kind] * len(onsets), np.zeros(0), p_onsets, p_kinds,
                    np.ones(len(p_onsets), bool), None)


def build_timeline(p: HeartParams, rng: np.random.Generator, seconds: float, flutter_phase: float) -> Timeline:
    """All beat and P-wave times for one record of ``seconds`` length."""
    start, end = -PAD_BEFORE_S, seconds + PAD_AFTER_S
    if p.rhythm == "sinus":
        timeline = _sinus_timeline(p, rng, start, end)
    elif p.rhythm == "af":
        timeline = _af_timeline(p, rng, start, end)
    elif p.rhythm == "flutter":
        timeline = _flutter_timeline(p, rng, start, end, flutter_phase)
    elif p.rhythm in ("junctional", "paced"):
        timeline = _regular_timeline(p, rng, start, end, p.rhythm)
    else:
        raise ValueError(f"unknown rhythm {p.rhythm!r}; expected sinus, af, flutter, junctional or paced")
    if p.pvc_count or p.pvc_pattern != "none":
        _insert_pvcs(timeline, p, rng, start, end)
    _trim(timeline, end)
    timeline.qt = _qt_per_beat(timeline.v_onsets, p.qtc)
    return timeline


def _trim(t: Timeline, end: float) -> None:
    """Drop beats and P waves that start after the padded end of the record."""
    v_keep = t.v_onsets < end
    p_keep = t.p_onsets < end
    t.v_onsets, t.v_kinds = t.v_onsets[v_keep], [k for k, keep in zip(t.v_kinds, v_keep) if keep]
    t.p_onsets, t.p_conducted = t.p_onsets[p_keep], t.p_conducted[p_keep]
    t.p_kinds = [k for k, keep in zip(t.p_kinds, p_keep) if keep]
