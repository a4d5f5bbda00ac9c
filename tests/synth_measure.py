"""Plain signal-processing measurements for validating the simulator from its output alone.

Nothing here reads the simulator's parameters: R peaks come from the spatial magnitude of the
leads, QRS limits from the spatial velocity of the median beat, P onset from the magnitude before
the QRS, ST levels relative to the PR segment.
"""
from __future__ import annotations

import numpy as np
from scipy import signal as sps

from melp.record import STANDARD_LEADS

LEAD = {name: i for i, name in enumerate(STANDARD_LEADS)}
REFRACTORY_S = 0.25
BEAT_BEFORE_S, BEAT_AFTER_S = 0.45, 0.6
QRS_VELOCITY_FRACTION = 0.1
LOWPASS_HZ = 40.0
MAX_QRS_BEFORE_R_S, MAX_QRS_AFTER_R_S = 0.12, 0.18
P_MAGNITUDE_FRACTION = 0.25
BLANK_BEFORE_R_S, BLANK_AFTER_R_S = 0.08, 0.42  # QRS-T window removed for atrial analysis


def highpass(leads: np.ndarray, fs: float, cutoff: float = 0.5) -> np.ndarray:
    """Zero-phase band-pass (12, T): removes baseline wander (below ``cutoff``) and EMG/mains (above 40 Hz)."""
    b, a = sps.butter(2, [cutoff, min(LOWPASS_HZ, 0.45 * fs)], btype="bandpass", fs=fs)
    return sps.filtfilt(b, a, leads, axis=-1)


def r_peaks(leads: np.ndarray, fs: float) -> np.ndarray:
    """R peaks (K,) from the band-passed spatial magnitude of all 12 leads."""
    b, a = sps.butter(2, [5.0, 30.0], btype="bandpass", fs=fs)
    magnitude = np.sqrt((sps.filtfilt(b, a, leads, axis=-1) ** 2).sum(axis=0))  # (T,)
    peaks, _ = sps.find_peaks(magnitude, distance=int(REFRACTORY_S * fs), height=0.35 * np.percentile(magnitude, 99))
    return peaks


def median_beat(leads: np.ndarray, fs: float, peaks: np.ndarray) -> tuple[np.ndarray, int]:
    """Median complex (12, W) over beats fully inside the record, and the R index inside it."""
    before, after = int(BEAT_BEFORE_S * fs), int(BEAT_AFTER_S * fs)
    usable = [p for p in peaks if p - before >= 0 and p + after <= leads.shape[1]]
    beats = np.stack([leads[:, p - before:p + after] for p in usable])  # (K, 12, W)
    return np.median(beats, axis=0), before


def qrs_limits(beat: np.ndarray, r_index: int, fs: float) -> tuple[int, int]:
    """QRS onset and offset samples in a median beat from the spatial velocity (sum of |slope|)."""
    velocity = np.abs(np.diff(beat, axis=1)).sum(axis=0) * fs  # (W-1,) mV/s
    search = int(0.1 * fs)
    peak_velocity = velocity[r_index - search:r_index + search].max()
    threshold = QRS_VELOCITY_FRACTION * peak_velocity
    gap = int(0.012 * fs)
    earliest, latest = r_index - int(MAX_QRS_BEFORE_R_S * fs), r_index + int(MAX_QRS_AFTER_R_S * fs)
    onset = r_index
    while onset > earliest and velocity[onset - gap:onset].max() > threshold:
        onset -= 1
    offset = r_index
    while offset < latest and velocity[offset:offset + gap].max() > threshold:
        offset += 1
    return onset, offset


def qrs_duration_ms(leads: np.ndarray, fs: float) -> float:
    beat, r_index = median_beat(highpass(leads, fs), fs, r_peaks(leads, fs))
    onset, offset = qrs_limits(beat, r_index, fs)
    return (offset - onset) / fs * 1000.0


def pr_interval_ms(leads: np.ndarray, fs: float) -> float:
    """P onset to QRS onset: P onset is where the spatial magnitude before the QRS rises above 25 %
    of the P-wave peak, searching back from the QRS onset."""
    beat, r_index = median_beat(highpass(leads, fs), fs, r_peaks(leads, fs))
    onset, _ = qrs_limits(beat, r_index, fs)
    baseline = beat[:, onset - int(0.02 * fs):onset].mean(axis=1, keepdims=True)
    magnitude = np.sqrt(((beat - baseline) ** 2).sum(axis=0))
    window = magnitude[onset - int(0.4 * fs):onset - int(0.03 * fs)]
    p_peak = int(np.argmax(window))
    level = P_MAGNITUDE_FRACTION * window[p_peak]
    start = p_peak
    while start > 0 and window[start] > level:
        start -= 1
    return (len(window) + int(0.03 * fs) - start) / fs * 1000.0


def p_wave_magnitude_mv(leads: np.ndarray, fs: float) -> float:
    """Largest spatial magnitude of the median beat 250-40 ms before the QRS: the P wave when P waves
    are coupled to the QRS; activity unrelated to the QRS (f waves) averages out of the median."""
    beat, r_index = median_beat(highpass(leads, fs), fs, r_peaks(leads, fs))
    onset, _ = qrs_limits(beat, r_index, fs)
    window = beat[:, onset - int(0.25 * fs):onset - int(0.04 * fs)]
    return float(np.sqrt(((window - window.mean(axis=1, keepdims=True)) ** 2).sum(axis=0)).max())


def frontal_axis_deg(leads: np.ndarray, fs: float) -> float:
    """Frontal QRS axis from the net QRS areas in leads I and aVF of the median beat."""
    beat, r_index = median_beat(highpass(leads, fs), fs, r_peaks(leads, fs))
    onset, offset = qrs_limits(beat, r_index, fs)
    baseline = beat[:, onset - int(0.02 * fs):onset].mean(axis=1)
    area = (beat[:, onset:offset] - baseline[:, None]).sum(axis=1)
    return float(np.degrees(np.arctan2(area[LEAD["aVF"]], area[LEAD["I"]])))


def st_levels_mv(leads: np.ndarray, fs: float, after_j_s: float = 0.06) -> np.ndarray:
    """ST level (12,) at J + 60 ms relative to the PR segment, from the median beat."""
    beat, r_index = median_beat(highpass(leads, fs, cutoff=0.05), fs, r_peaks(leads, fs))
    onset, offset = qrs_limits(beat, r_index, fs)
    baseline = beat[:, onset - int(0.025 * fs):onset - int(0.005 * fs)].mean(axis=1)
    return beat[:, offset + int(after_j_s * fs)] - baseline


def rr_statistics(leads: np.ndarray, fs: float) -> tuple[float, float]:
    """Coefficient of variation and RMSSD/mean of the RR intervals."""
    rr = np.diff(r_peaks(leads, fs)) / fs
    return float(rr.std() / rr.mean()), float(np.sqrt(np.mean(np.diff(rr) ** 2)) / rr.mean())


def _summed_periodogram(leads: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    leads = np.atleast_2d(leads)  # (C, T)
    freqs, power = sps.periodogram(leads - leads.mean(axis=1, keepdims=True), fs=fs, axis=-1)
    return freqs, power.sum(axis=0)


def dominant_atrial_rate(lead: np.ndarray, fs: float, band_hz: tuple[float, float] = (3.5, 7.0)) -> float:
    """Peak frequency (per minute) of the spectrum (summed over leads (C, T)) within the atrial band."""
    freqs, power = _summed_periodogram(lead, fs)
    band = (freqs >= band_hz[0]) & (freqs <= band_hz[1])
    return float(freqs[band][np.argmax(power[band])] * 60.0)


def tq_band_share(leads: np.ndarray, fs: float, hz: float, lead_rows: list[int]) -> float:
    """Share of 1-40 Hz power within 0.3 Hz of ``hz`` once every QRS-T is blanked out.

    Only the TQ segments remain, where flutter shows its F waves and sinus rhythm only P waves.
    """
    keep = np.ones(leads.shape[1])
    for peak in r_peaks(leads, fs):
        keep[max(peak - int(BLANK_BEFORE_R_S * fs), 0):peak + int(BLANK_AFTER_R_S * fs)] = 0.0
    freqs, power = _summed_periodogram(highpass(leads[lead_rows].astype(float), fs) * keep, fs)
    return float(power[np.abs(freqs - hz) <= 0.3].sum() / power[(freqs >= 1.0) & (freqs <= 40.0)].sum())
