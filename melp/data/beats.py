"""Beats: R peaks on the best lead (neurokit2), RR intervals, heart rate, optional P/QRS/T delineation."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.stats import kurtosis

from melp.record import EcgRecord

logger = logging.getLogger(__name__)

MIN_SECONDS = 2.0  # shorter records cannot hold two beats at physiological rates: empty BeatInfo
FLAT_STD_MV = 0.01  # a cleaned lead with less spread than this (mV) carries no ECG
# kurtosis (Pearson) of a cleaned lead; an ECG with sharp QRS complexes scores above this (less so
# at high rates), Gaussian noise about 3 (kSQI, Li et al. 2008)
MIN_KURTOSIS = 4.0
EDGE_SECONDS = 0.5  # the cleaning filter's start-up transient, left out of the quality score
DELINEATION_METHODS = ("dwt", "peak")


@dataclass(frozen=True)
class BeatInfo:
    """Beats found in one lead of a record."""

    r_peaks: np.ndarray  # (K,) int, sample indices at ``fs``
    rr: np.ndarray  # (K-1,) float, seconds
    heart_rate: float  # beats per minute, NaN when fewer than two beats
    lead: str  # lead the peaks were found in ("" when no lead was usable)
    fs: float
    delineation: dict[str, np.ndarray] | None = None  # e.g. "P_Peaks" -> (K,) float samples, NaN where absent

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


def choose_lead(record: EcgRecord, preferred: str = "II") -> tuple[str, np.ndarray] | None:
    """(lead name, cleaned (T,)) of ``preferred`` when it is real and good, else of the best-scoring real lead.

    ``preferred`` also wins ties, so a uniformly low-scoring record (fast rates) keeps it.
    """
    real = [name for name, ok in zip(record.leads, record.lead_mask) if ok]
    if preferred in real:
        cleaned = _clean(record, preferred)
        if lead_quality(cleaned, record.fs) >= MIN_KURTOSIS:
            return preferred, cleaned
    scored = [(lead_quality(cleaned, record.fs), name, cleaned) for name in real for cleaned in [_clean(record, name)]]
    scored = [item for item in scored if np.isfinite(item[0])]
    if not scored:
        return None
    quality, name, cleaned = max(scored, key=lambda item: (item[0], item[1] == preferred))
    if name != preferred:
        logger.info("%s: lead %s unusable or noisy; using lead %s (kurtosis %.1f)", record.record_id, preferred, name, quality)
    return name, cleaned


def _delineate(cleaned: np.ndarray, r_peaks: np.ndarray, fs: float, method: str) -> dict[str, np.ndarray] | None:
    import neurokit2 as nk

    try:
        _, waves = nk.ecg_delineate(cleaned, r_peaks, sampling_rate=int(round(fs)), method=method)
    except (ValueError, IndexError, KeyError) as exc:
        logger.warning("delineation (%s) failed: %s; returning none", method, exc)
        return None
    return {key.removeprefix("ECG_"): np.asarray(value, dtype=np.float64) for key, value in waves.items()}


def beats(record: EcgRecord, lead: str = "II", delineate: str | None = None) -> BeatInfo:
    """R peaks, RR intervals and heart rate from the best lead (``lead`` unless it is flat, masked or noisy).

    ``delineate`` ("dwt" or "peak") also finds P, QRS and T landmarks. Records shorter than
    MIN_SECONDS or without a usable lead give an empty BeatInfo.
    """
    if delineate is not None and delineate not in DELINEATION_METHODS:
        raise ValueError(f"beats: delineate={delineate!r}, expected one of {DELINEATION_METHODS} or None")
    if record.duration < MIN_SECONDS:
        return _empty(record.fs)
    chosen = choose_lead(record, lead)
    if chosen is None:
        return _empty(record.fs)
    name, cleaned = chosen
    import neurokit2 as nk

    try:
        _, info = nk.ecg_peaks(cleaned, sampling_rate=int(round(record.fs)))
    except (ValueError, IndexError) as exc:
        logger.warning("%s: R-peak detection failed on lead %s: %s", record.record_id, name, exc)
        return _empty(record.fs, name)
    r_peaks = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)  # (K,)
    rr = np.diff(r_peaks) / record.fs  # (K-1,) s
    heart_rate = float(60.0 / rr.mean()) if rr.size else float("nan")
    waves = _delineate(cleaned, r_peaks, record.fs, delineate) if delineate and r_peaks.size > 2 else None
    return BeatInfo(r_peaks, rr, heart_rate, name, record.fs, waves)
