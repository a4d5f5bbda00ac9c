"""The one preprocessing path: record -> model input (12, T) plus a plain-words account of what was done."""
from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from typing import Iterator, Sequence

import numpy as np
from scipy import signal as sps

from melp.data.leads import to_standard_leads
from melp.record import MIMIC_LEADS, STANDARD_LEADS, EcgRecord

FILTERS = ("bandpass", "neurokit", "none")
NORMALISATIONS = ("minmax_record", "zscore_lead", "none")
LEAD_ORDERS = {"mimic": MIMIC_LEADS, "standard": STANDARD_LEADS}
CROPS = ("start", "center")
MINMAX_EPS = 1e-8  # as the official MELP code: (x - min) / (max - min + 1e-8)
ZSCORE_EPS = 1e-6  # keeps flat leads finite under z-scoring
MAX_RESAMPLE_DENOMINATOR = 1000  # rational approximation of fs_out / fs_in for resample_poly
NYQUIST_MARGIN = 0.45  # low-pass corner is capped at this fraction of fs
_MIMIC_ROWS = np.array([STANDARD_LEADS.index(name) for name in MIMIC_LEADS])
# A checkpoint's input where its config does not say otherwise: the published model's (official-encoder.md
# §2: 500 Hz, 5000 samples, no filtering at pretraining, per-record min-max, the official row order).
# PreprocessConfig's own defaults (band-pass) are for records read without a model.
MODEL_PREPROCESS = {"fs": 500.0, "seconds": 10.0, "filter": "none", "normalisation": "minmax_record",
                    "lead_order": "mimic"}


def model_preprocess(fields: dict | None = None) -> dict:
    """A checkpoint config's ``preprocess`` fields completed with MODEL_PREPROCESS (MelpConfig uses this, and
    the app for a checkpoint whose model is still loading)."""
    return {**MODEL_PREPROCESS, **(fields or {})}


@dataclass(frozen=True)
class PreprocessConfig:
    """How a record becomes model input. Defaults are the model's (500 Hz, 10 s, official row order)."""

    fs: float = 500.0  # model input rate, Hz
    seconds: float = 10.0  # window length, s
    filter: str = "bandpass"  # "bandpass" (zero-phase Butterworth) | "neurokit" (nk.ecg_clean) | "none"
    highpass_hz: float = 0.5  # removes baseline wander
    lowpass_hz: float = 40.0  # removes high-frequency noise and mains hum
    filter_order: int = 2  # Butterworth order per band edge (doubled again by forward-backward filtering)
    normalisation: str = "minmax_record"  # "minmax_record" (official) | "zscore_lead" | "none"
    lead_order: str = "mimic"  # "mimic" (official encoder rows: aVF before aVL) | "standard"
    crop: str = "start"  # which window of a longer record: "start" | "center"
    max_nan_gap_seconds: float = 0.25  # NaN runs up to this long are interpolated; longer ones mask the lead

    def __post_init__(self) -> None:
        checks = [
            (self.filter in FILTERS, f"filter={self.filter!r}, expected one of {FILTERS}"),
            (self.normalisation in NORMALISATIONS, f"normalisation={self.normalisation!r}, expected one of {NORMALISATIONS}"),
            (self.lead_order in LEAD_ORDERS, f"lead_order={self.lead_order!r}, expected one of {tuple(LEAD_ORDERS)}"),
            (self.crop in CROPS, f"crop={self.crop!r}, expected one of {CROPS}"),
            (self.fs > 0 and self.seconds > 0, f"fs={self.fs}, seconds={self.seconds}, expected both > 0"),
            (0 < self.highpass_hz < self.lowpass_hz, f"band {self.highpass_hz}-{self.lowpass_hz} Hz, expected 0 < low < high"),
            (self.filter_order >= 1 and self.max_nan_gap_seconds >= 0, "expected filter_order >= 1 and max_nan_gap_seconds >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"PreprocessConfig: {message}")

    @property
    def n_samples(self) -> int:
        """Samples per window, T."""
        return int(round(self.fs * self.seconds))

    @property
    def leads(self) -> tuple[str, ...]:
        """Row names of the model input."""
        return LEAD_ORDERS[self.lead_order]


@dataclass(frozen=True)
class PreprocessResult:
    """Model input for one record and what was done to get it."""

    signal: np.ndarray  # (12, T) float32, rows in ``leads`` order
    lead_mask: np.ndarray  # (12,) bool, same row order
    steps: tuple[str, ...]  # human-readable, e.g. "resampled from 257 Hz to 500 Hz"
    leads: tuple[str, ...]
    fs: float


@lru_cache(maxsize=64)
def bandpass_sos(fs: float, low_hz: float, high_hz: float, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Butterworth band-pass as (sos (S, 6), zi (S, 2) steady-state per unit step), cached per (fs, band, order)."""
    high_hz = min(high_hz, NYQUIST_MARGIN * fs)
    sos = sps.butter(order, [low_hz, high_hz], btype="bandpass", fs=fs, output="sos")
    return sos, sps.sosfilt_zi(sos)


def zero_phase_filter(signal: np.ndarray, sos: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """Forward-backward ``sosfilt`` of (C, T) with odd extension at both ends (as sosfiltfilt), reusing zi."""
    padlen = 3 * (2 * len(sos) + 1)
    left = 2 * signal[:, :1] - signal[:, padlen:0:-1]  # (C, padlen)
    right = 2 * signal[:, -1:] - signal[:, -2 : -padlen - 2 : -1]  # (C, padlen)
    extended = np.concatenate([left, signal, right], axis=1)  # (C, T + 2 padlen)
    forward, _ = sps.sosfilt(sos, extended, axis=-1, zi=zi[:, None, :] * extended[None, :, :1])
    backward, _ = sps.sosfilt(sos, forward[:, ::-1], axis=-1, zi=zi[:, None, :] * forward[None, :, -1:])
    return backward[:, ::-1][:, padlen:-padlen]


def resample(signal: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase anti-aliased resampling of (C, T) to round(T * fs_out / fs_in) samples."""
    ratio = Fraction(fs_out / fs_in).limit_denominator(MAX_RESAMPLE_DENOMINATOR)
    resampled = sps.resample_poly(signal, ratio.numerator, ratio.denominator, axis=-1, padtype="line")
    n_out = int(round(signal.shape[-1] * fs_out / fs_in))
    if resampled.shape[-1] >= n_out:
        return resampled[..., :n_out]
    return np.pad(resampled, [(0, 0)] * (signal.ndim - 1) + [(0, n_out - resampled.shape[-1])], mode="edge")


def _nan_runs(row: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each NaN run in a (T,) row."""
    padded = np.concatenate([[False], np.isnan(row), [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2], edges[1::2]))


def fill_nan_gaps(signal: np.ndarray, lead_mask: np.ndarray, leads: Sequence[str], fs: float, max_gap_s: float):
    """Interpolate short NaN runs, zero and mask leads with longer ones; returns (signal, mask, steps).

    The one gap rule: ``read_ecg`` repairs non-finite samples with it, ``preprocess`` any left in a
    record built in code."""
    signal, lead_mask, steps = signal.copy(), lead_mask.copy(), []
    samples = np.arange(signal.shape[1])
    for row in np.flatnonzero(np.isnan(signal).any(axis=1)):
        runs = _nan_runs(signal[row])
        longest = max(stop - start for start, stop in runs) / fs
        valid = ~np.isnan(signal[row])
        if longest > max_gap_s or valid.sum() < 2:
            signal[row], lead_mask[row] = 0.0, False
            steps.append(f"lead {leads[row]} has a {longest:.2f} s gap (masked)")
        else:
            signal[row] = np.interp(samples, samples[valid], signal[row, valid])
            steps.append(f"lead {leads[row]}: {len(runs)} short gap(s) interpolated")
    return signal, lead_mask, steps


def _filter(signal: np.ndarray, fs: float, config: PreprocessConfig) -> tuple[np.ndarray, str | None]:
    if config.filter == "none":
        return signal, None
    if config.filter == "neurokit":
        import neurokit2 as nk  # heavy import, only for this option

        cleaned = np.stack([nk.ecg_clean(row, sampling_rate=int(round(fs)), method="neurokit") for row in signal])
        return cleaned, "cleaned with neurokit2 (ecg_clean)"
    sos, zi = bandpass_sos(float(fs), config.highpass_hz, config.lowpass_hz, config.filter_order)
    if signal.shape[1] <= 3 * (2 * len(sos) + 1):  # too short for the edge extension
        return signal, "too short to filter"
    high = min(config.lowpass_hz, NYQUIST_MARGIN * fs)
    filtered = zero_phase_filter(signal, sos.astype(signal.dtype), zi.astype(signal.dtype))
    return filtered, f"band-pass filtered {config.highpass_hz:g}-{high:g} Hz"


def _crop(signal: np.ndarray, fs: float, config: PreprocessConfig) -> tuple[np.ndarray, str | None]:
    """Keep one window (at the record's own rate) of a record longer than ``config.seconds``."""
    n_keep, n_found = int(np.ceil(config.seconds * fs)), signal.shape[1]
    if n_found <= n_keep:
        return signal, None
    start = 0 if config.crop == "start" else (n_found - n_keep) // 2
    where = "first" if config.crop == "start" else "central"
    return signal[:, start : start + n_keep], f"cropped {n_found / fs:.1f} s to the {where} {config.seconds:g} s"


def _pad(signal: np.ndarray, fs: float, n_target: int) -> tuple[np.ndarray, str | None]:
    """Zero-pad at the end (or trim resampling's extra sample) to exactly ``n_target`` samples."""
    n_found = signal.shape[1]
    if n_found >= n_target:
        return signal[:, :n_target], None
    padded = np.zeros((signal.shape[0], n_target), dtype=signal.dtype)  # (12, T)
    padded[:, :n_found] = signal
    return padded, (f"zero-padded: the record has {n_found / fs:.1f} s, the model's window {n_target / fs:g} s, "
                    f"so the model also sees {(n_target - n_found) / fs:.1f} s of flat line at the end")


def _normalise(signal: np.ndarray, method: str) -> tuple[np.ndarray, str | None]:
    if method == "minmax_record":
        low, high = signal.min(), signal.max()
        return (signal - low) / (high - low + MINMAX_EPS), "min-max scaled over all leads to [0, 1]"
    if method == "zscore_lead":
        centred = signal - signal.mean(axis=1, keepdims=True)
        return centred / (centred.std(axis=1, keepdims=True) + ZSCORE_EPS), "z-scored per lead"
    return signal, None


def _standard_rows(record: EcgRecord) -> tuple[np.ndarray, np.ndarray]:
    """(signal (12, T) float32 copy, lead_mask (12,)) in STANDARD_LEADS order from any record."""
    if record.leads == STANDARD_LEADS:
        return record.signal.copy(), record.lead_mask.copy()
    real_names = tuple(name for name, real in zip(record.leads, record.lead_mask) if real)
    standard, lead_mask, _ = to_standard_leads(
        record.signal[record.lead_mask], real_names, record.source or record.record_id
    )
    return standard, lead_mask


def preprocess(record: EcgRecord, config: PreprocessConfig | None = None, **overrides: object) -> PreprocessResult:
    """Fill gaps, crop, resample, filter, pad, normalise and reorder one record for the model.

    ``overrides`` are PreprocessConfig fields (e.g. ``fs=250``); an unknown name raises TypeError.
    """
    config = replace(config or PreprocessConfig(), **overrides)
    signal, lead_mask = _standard_rows(record)  # (12, T) float32, (12,)
    steps: list[str] = []
    if not np.isfinite(signal).all():  # infinite samples are gaps too (read_ecg repairs them already)
        signal[~np.isfinite(signal)] = np.nan
        signal, lead_mask, gap_steps = fill_nan_gaps(signal, lead_mask, STANDARD_LEADS, record.fs, config.max_nan_gap_seconds)
        steps += gap_steps
    steps += [f"lead {name} missing (zero-filled)" for name, real in zip(STANDARD_LEADS, lead_mask) if not real]
    signal, crop_step = _crop(signal, record.fs, config)
    steps += [crop_step] if crop_step else []
    if abs(record.fs - config.fs) > 1e-6:
        signal = resample(signal, record.fs, config.fs)
        steps.append(f"resampled from {record.fs:g} Hz to {config.fs:g} Hz")
    signal, filter_step = _filter(signal, config.fs, config)
    signal, pad_step = _pad(signal, config.fs, config.n_samples)
    signal[~lead_mask] = 0.0
    signal, norm_step = _normalise(signal, config.normalisation)
    if config.normalisation == "zscore_lead":
        signal[~lead_mask] = 0.0
    steps += [step for step in (filter_step, pad_step, norm_step) if step]
    if config.lead_order == "mimic":
        signal, lead_mask = signal[_MIMIC_ROWS], lead_mask[_MIMIC_ROWS]
    return PreprocessResult(signal.astype(np.float32), lead_mask, tuple(steps), config.leads, config.fs)


def preprocess_batch(records: Sequence[EcgRecord], config: PreprocessConfig | None = None):
    """Preprocess several records: (signals (B, 12, T) float32, lead_masks (B, 12) bool, results)."""
    results = [preprocess(record, config) for record in records]
    signals = np.stack([result.signal for result in results]) if results else np.zeros((0, 12, 0), np.float32)
    masks = np.stack([result.lead_mask for result in results]) if results else np.zeros((0, 12), bool)
    return signals, masks, results


def windows(record: EcgRecord, seconds: float = 10.0, stride: float | None = None) -> Iterator[EcgRecord]:
    """Consecutive windows of ``seconds`` (every ``stride`` s, default non-overlapping) as records.

    A record shorter than one window is yielded whole (preprocess pads it). Each window's
    ``record_id`` is suffixed with its start time, e.g. ``"A0001@20s"``.
    """
    if seconds <= 0 or (stride is not None and stride <= 0):
        raise ValueError(f"windows: seconds={seconds}, stride={stride}, expected both > 0")
    window = int(round(seconds * record.fs))
    step = int(round((stride or seconds) * record.fs))
    if record.n_samples <= window:
        yield record
        return
    for start in range(0, record.n_samples - window + 1, step):
        yield replace(
            record, signal=record.signal[:, start : start + window], record_id=f"{record.record_id}@{start / record.fs:g}s"
        )
