"""Beats: R peaks found by consensus across leads (neurokit2 per lead), RR, heart rate, delineation.

One detector serves the app, the explanations, the measurements and training (heartbeat anchors).
A single lead can mistake tall P waves for QRS complexes (complete heart block counted at the atrial
rate) or miss low-amplitude beats; so neurokit2 detects peaks in each of the cleanest leads and a beat
is kept only where most of them agree. The reported lead is the one whose own detections match that
consensus best (lead II on ties), and its peak positions are the ones returned.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import kurtosis

from melp.content_cache import ContentCache, content_key
from melp.record import EcgRecord

logger = logging.getLogger(__name__)

MIN_SECONDS = 2.0  # shorter records cannot hold two beats at physiological rates: empty BeatInfo
FLAT_STD_MV = 0.01  # a cleaned lead with less spread than this (mV) carries no ECG
EDGE_SECONDS = 0.5  # the cleaning filter's start-up transient, left out of the quality score
DELINEATION_METHODS = ("dwt", "peak")
VOTING_LEADS = 6  # the cleanest leads (by kurtosis) that detect and vote
MATCH_SECONDS = 0.08  # detections closer than this in different leads are the same beat
MIN_VOTE_SHARE = 0.5  # a beat needs detections in at least this share of the voting leads ...
WEAK_VOTES = 2  # ... or in this many, with a QRS's spatial velocity, clear of the agreed beats
# kurtosis (Pearson) of a cleaned lead: an ECG with sharp QRS complexes scores far above Gaussian
# noise (about 3; kSQI, Li et al. 2008); leads below this do not vote unless no lead reaches it
MIN_KURTOSIS = 4.0
# a consensus beat whose QRS evidence (peak spatial velocity near it) is below this share of the
# strongest beats' (90th percentile) is a P or T wave the per-lead detector took for a QRS: P waves move
# the heart vector 5-10x slower than QRS complexes, PVCs and paced beats at least as fast
QRS_EVIDENCE_SHARE = 0.3
QRS_REFERENCE_PERCENTILE = 90.0
QRS_EVIDENCE_FLOOR_MV_S = 20.0  # ... but a beat this fast is a QRS whatever the others (P waves reach 5-10 mV/s;
# paced QRS complexes, 20-40 mV/s, beside tall premature ventricular complexes, 150-200, fell under the share) ...
T_WAVE_CLEAR_S = 0.5  # ... unless it comes within this after a beat, where that beat's T wave is: a tall T
# wave on a noisy PTB-XL record reached 20 mV/s, and at the slow rates of heart block the T wave ends up to
# 0.5 s after the R peak (a P wave on its end, 0.47 s after, was counted at 0.45 s)
# Shortest gap between two detected R peaks: the ventricles' refractory period. neurokit2's default, 0.3 s,
# dropped premature beats with short coupling (bigeminy, PVCs in fast atrial fibrillation) in every lead, so
# the rate came out too low (HR within 2 bpm on the tuning stream 3: 93.5 % -> 97.0 %; QRS, PR, QT, axis
# and complete heart block unchanged).
MIN_RR_SECONDS = 0.2
MIN_RATE_BPM = 20.0  # a lead whose detections imply a slower rate failed to detect (it does not vote)
# One upload is asked for its beats by the measurements, the findings' explanation and the report's
# (each on its own EcgRecord of the same samples): results are kept by content for the last few records.
CACHE_RECORDS = 32


@dataclass(frozen=True)
class BeatInfo:
    """Beats of a record: R peaks (consensus of several leads) at positions taken from ``lead``."""

    r_peaks: np.ndarray  # (K,) int, sample indices at ``fs``
    rr: np.ndarray  # (K-1,) float, seconds
    heart_rate: float  # ventricular rate, beats per minute, NaN when fewer than two beats
    lead: str  # lead whose peak positions are reported ("" when no lead was usable)
    fs: float
    delineation: dict[str, np.ndarray] | None = None  # e.g. "P_Peaks" -> (K,) float samples, NaN where absent
    voting_leads: tuple[str, ...] = ()  # leads whose detections were compared
    # (J,) int samples of detections that are not QRS complexes, from the lead with most of them (P waves,
    # blocked or dissociated): the atrial activity the ventricular count leaves out
    other_events: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n_beats(self) -> int:
        return int(self.r_peaks.size)


def _empty(fs: float, lead: str = "") -> BeatInfo:
    return BeatInfo(np.zeros(0, dtype=np.int64), np.zeros(0), float("nan"), lead, fs)


def _clean(record: EcgRecord, name: str) -> np.ndarray:
    import neurokit2 as nk  # heavy import, only when beats are asked for

    return np.asarray(nk.ecg_clean(record.lead(name).astype(np.float64), sampling_rate=int(round(record.fs))))


def lead_quality(cleaned: np.ndarray, fs: float) -> float:
    """Kurtosis of a cleaned lead (T,) away from its edges; -inf when flat or not finite."""
    edge = int(EDGE_SECONDS * fs)
    core = cleaned[edge:-edge] if cleaned.size > 4 * edge else cleaned
    if not np.all(np.isfinite(core)) or core.std() < FLAT_STD_MV:
        return float("-inf")
    return float(kurtosis(core, fisher=False))


def _voters(record: EcgRecord, preferred: str) -> list[tuple[float, str, np.ndarray]]:
    """(quality, name, cleaned) of the leads that vote, best first; ``preferred`` joins when it is usable."""
    real = [name for name, ok in zip(record.leads, record.lead_mask) if ok]
    scored = [(lead_quality(cleaned, record.fs), name, cleaned) for name in real for cleaned in [_clean(record, name)]]
    scored = sorted((item for item in scored if np.isfinite(item[0])), key=lambda item: -item[0])
    good = [item for item in scored if item[0] >= MIN_KURTOSIS] or scored[:1]
    voters = good[:VOTING_LEADS]
    extra = [item for item in good[VOTING_LEADS:] if item[1] == preferred]
    return voters + extra


def _detect(cleaned: np.ndarray, fs: float) -> np.ndarray:
    import neurokit2 as nk

    try:
        _, info = nk.ecg_peaks(cleaned, sampling_rate=int(round(fs)), mindelay=MIN_RR_SECONDS)
    except (ValueError, IndexError) as exc:
        logger.debug("R-peak detection failed on one lead: %s", exc)
        return np.zeros(0, np.int64)
    return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)


def consensus_peaks(detections: dict[str, np.ndarray], fs: float) -> tuple[np.ndarray, np.ndarray]:
    """((K,) sample positions (median of each cluster) of the beats most voting leads detected, (J,) those of
    the clusters of at least WEAK_VOTES leads that fall short of that share), from one pass.

    Detections of all leads are pooled in time order; a cluster is every detection within
    ``MATCH_SECONDS`` of its first one, and it counts the distinct leads in it.
    """
    pooled = sorted((int(sample), name) for name, peaks in detections.items() for sample in peaks)
    tolerance = MATCH_SECONDS * fs
    needed = max(1, int(np.ceil(MIN_VOTE_SHARE * len(detections))))
    agreed, weak, cluster = [], [], []
    for sample, name in pooled + [(None, "")]:
        if cluster and (sample is None or sample - cluster[0][0] > tolerance):
            votes = len({lead for _, lead in cluster})
            if votes >= WEAK_VOTES or votes >= needed:
                (agreed if votes >= needed else weak).append(int(np.median([s for s, _ in cluster])))
            cluster = []
        if sample is not None:
            cluster.append((sample, name))
    return np.asarray(agreed, dtype=np.int64), np.asarray(weak, dtype=np.int64)


def spatial_velocity(cleaned: list[np.ndarray], fs: float) -> np.ndarray:
    """(T,) speed of the heart vector across leads, sqrt(sum over leads of (dV/dt)^2), mV/s."""
    slopes = np.diff(np.stack(cleaned), axis=1, prepend=np.stack(cleaned)[:, :1]) * fs  # (C, T)
    return np.sqrt((slopes**2).sum(axis=0))


def _qrs_evidence(samples: np.ndarray, velocity: np.ndarray, fs: float) -> np.ndarray:
    """(K,) the spatial velocity's maximum within MATCH_SECONDS around each sample: how QRS-like a beat is."""
    half = int(MATCH_SECONDS * fs / 2) + 1
    return np.array([velocity[max(0, c - half): c + half + 1].max() for c in samples])


def qrs_beats(candidates: np.ndarray, velocity: np.ndarray, fs: float,
              weak: np.ndarray | None = None) -> np.ndarray:
    """The beats among ``candidates`` (agreed by most voting leads) and ``weak`` (agreed by WEAK_VOTES).

    A candidate is a QRS when its spatial velocity reaches QRS_EVIDENCE_SHARE of the strongest
    candidates' (P and T waves the per-lead detector took for a QRS move the heart vector 5-10x slower).
    Two kinds of beat are added to those where they come at least T_WAVE_CLEAR_S after the beat before
    them (where a tall T wave would be) and MIN_RR_SECONDS before the next, strongest first: candidates
    below the share but at QRS_EVIDENCE_FLOOR_MV_S or more (paced complexes beside tall premature
    ventricular complexes fell under the share, and paced records with PVCs came out at 20-25 bpm), and
    weak beats reaching the share (in fast bigeminy each lead's detector kept one of the two shapes, so the
    sinus beats had two votes of six and the rate came out half the true one). Finally no two beats are
    closer than MIN_RR_SECONDS (``_refractory``)."""
    if candidates.size < 2:
        return candidates
    evidence = _qrs_evidence(candidates, velocity, fs)
    threshold = QRS_EVIDENCE_SHARE * np.percentile(evidence, QRS_REFERENCE_PERCENTILE)
    strong = evidence >= threshold
    extra = candidates[~strong & (evidence >= QRS_EVIDENCE_FLOOR_MV_S)]
    if weak is not None and weak.size:
        extra = np.concatenate([extra, weak[_qrs_evidence(weak, velocity, fs) >= threshold]])
    kept = list(candidates[strong])
    strength = _qrs_evidence(extra, velocity, fs) if extra.size else np.zeros(0)
    for index in np.argsort(-strength, kind="stable"):  # the strongest first, each against the beats kept so far
        offset = (extra[index] - np.asarray(kept)) / fs
        since = offset[offset > 0].min(initial=np.inf)
        until = (-offset[offset < 0]).min(initial=np.inf)
        if since >= T_WAVE_CLEAR_S and until >= MIN_RR_SECONDS and not (offset == 0).any():
            kept.append(int(extra[index]))
    return _refractory(np.sort(np.asarray(kept, dtype=np.int64)), velocity, fs)


def _refractory(beats_: np.ndarray, velocity: np.ndarray, fs: float) -> np.ndarray:
    """``beats_`` without the weaker of any two closer than MIN_RR_SECONDS (the ventricles' refractory
    period): a wide QRS that the leads detect at points more than MATCH_SECONDS apart forms two clusters
    (a simulated heart-block escape beat was counted twice, 0.13 s apart)."""
    if beats_.size < 2:
        return beats_
    strength = _qrs_evidence(beats_, velocity, fs)
    kept: list[int] = []
    for index in np.argsort(-strength, kind="stable"):
        if all(abs(int(beats_[index]) - other) >= MIN_RR_SECONDS * fs for other in kept):
            kept.append(int(beats_[index]))
    return np.sort(np.asarray(kept, dtype=np.int64))


def _match(peaks: np.ndarray, consensus: np.ndarray, tolerance: float) -> np.ndarray:
    """(K,) for each consensus beat, the index into sorted ``peaks`` of the detection within ``tolerance``, or -1."""
    if peaks.size == 0:
        return np.full(consensus.size, -1)
    after = np.clip(np.searchsorted(peaks, consensus), 0, peaks.size - 1)  # (K,)
    before = np.clip(after - 1, 0, peaks.size - 1)
    best = np.where(np.abs(peaks[before] - consensus) < np.abs(peaks[after] - consensus), before, after)
    return np.where(np.abs(peaks[best] - consensus) <= tolerance, best, -1)


def _non_qrs_events(detections: dict[str, np.ndarray], qrs: np.ndarray, tolerance: float) -> np.ndarray:
    """Detections away from every QRS, from the lead that has most of them (P waves where they are tallest)."""
    best = np.zeros(0, dtype=np.int64)
    for peaks in detections.values():
        if qrs.size:
            distance = np.abs(peaks[:, None] - qrs[None, :]).min(axis=1) if peaks.size else np.zeros(0)
            peaks = peaks[distance > tolerance]
        if peaks.size > best.size:
            best = peaks
    return best


def _agreement(peaks: np.ndarray, consensus: np.ndarray, tolerance: float) -> float:
    """F1 of one lead's detections against the consensus beats."""
    if peaks.size == 0 or consensus.size == 0:
        return 0.0
    matched = int((_match(peaks, consensus, tolerance) >= 0).sum())
    return 2.0 * matched / (peaks.size + consensus.size)


def _delineate(cleaned: np.ndarray, r_peaks: np.ndarray, fs: float, method: str) -> dict[str, np.ndarray] | None:
    import neurokit2 as nk

    try:
        _, waves = nk.ecg_delineate(cleaned, r_peaks, sampling_rate=int(round(fs)), method=method)
    except (ValueError, IndexError, KeyError) as exc:
        logger.warning("delineation (%s) failed: %s; returning none", method, exc)
        return None
    return {key.removeprefix("ECG_"): np.asarray(value, dtype=np.float64) for key, value in waves.items()}


_cache = ContentCache(CACHE_RECORDS)


def _cache_key(record: EcgRecord, lead: str, delineate: str | None) -> bytes:
    """What the beats depend on: the samples, their rate, lead names and mask, and the options."""
    return content_key((record.signal, record.lead_mask), (float(record.fs), tuple(record.leads), lead, delineate))


def clear_cache() -> None:
    """Forget every cached result (benchmarks that time the detector on repeated records)."""
    _cache.clear()


def _frozen(info: BeatInfo) -> BeatInfo:
    """The same BeatInfo with read-only arrays: a cached result is shared, so no caller may change it."""
    for array in (info.r_peaks, info.rr, info.other_events, *(info.delineation or {}).values()):
        array.setflags(write=False)
    return info


def beats(record: EcgRecord, lead: str = "II", delineate: str | None = None) -> BeatInfo:
    """R peaks agreed by the cleanest leads, RR intervals and the ventricular rate.

    ``lead`` is preferred for the reported positions when it agrees with the consensus as well as any
    other lead. ``delineate`` ("dwt" or "peak") also finds P, QRS and T landmarks on that lead.
    Records shorter than MIN_SECONDS or without a usable lead give an empty BeatInfo. The arrays are
    read-only: the result of the same samples is computed once and shared (CACHE_RECORDS records).
    """
    if delineate is not None and delineate not in DELINEATION_METHODS:
        raise ValueError(f"beats: delineate={delineate!r}, expected one of {DELINEATION_METHODS} or None")
    key = _cache_key(record, lead, delineate)
    info = _cache.get(key)
    if info is None:
        info = _frozen(_beats(record, lead, delineate))
        _cache.put(key, info)
    return info


def _beats(record: EcgRecord, lead: str, delineate: str | None) -> BeatInfo:
    if record.duration < MIN_SECONDS or not np.isfinite(record.signal).all():
        return _empty(record.fs)
    voters = _voters(record, lead)
    if not voters:
        return _empty(record.fs)
    detections = {name: _detect(cleaned, record.fs) for _, name, cleaned in voters}
    fewest = max(2, int(record.duration * MIN_RATE_BPM / 60.0))
    working = {name: peaks for name, peaks in detections.items() if peaks.size >= fewest}
    detections = working or detections
    voters = [item for item in voters if item[1] in detections]
    velocity = spatial_velocity([cleaned for _, _, cleaned in voters], record.fs)
    agreed, weak = consensus_peaks(detections, record.fs)
    consensus = qrs_beats(agreed, velocity, record.fs, weak)
    other_events = _non_qrs_events(detections, consensus, MATCH_SECONDS * record.fs)
    tolerance = MATCH_SECONDS * record.fs
    quality = {name: value for value, name, _ in voters}
    best = max(detections, key=lambda name: (round(_agreement(detections[name], consensus, tolerance), 6),
                                             name == lead, quality[name]))
    own = detections[best]
    matched = _match(own, consensus, tolerance)
    own_positions = own[np.maximum(matched, 0)] if own.size else consensus
    r_peaks = np.unique(np.where(matched >= 0, own_positions, consensus)).astype(np.int64)
    if best != lead:
        logger.debug("%s: R peaks reported from lead %s (best agreement with %d voting leads)",
                     record.record_id, best, len(voters))
    rr = np.diff(r_peaks) / record.fs  # (K-1,) s
    heart_rate = float(60.0 / rr.mean()) if rr.size else float("nan")
    cleaned = next(c for _, name, c in voters if name == best)
    waves = _delineate(cleaned, r_peaks, record.fs, delineate) if delineate and r_peaks.size > 2 else None
    return BeatInfo(r_peaks, rr, heart_rate, best, record.fs, waves, tuple(name for _, name, _ in voters),
                    other_events.astype(np.int64))
