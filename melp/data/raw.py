"""What a format reader hands back before units and leads are made uniform, and the shared checks.

Every check runs on what a file declares before anything large is allocated or computed: sizes and
durations against caps, sampling rates within a plausible range, values finite (short non-finite runs
repaired and reported, long ones masking their lead), flat leads flagged.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from melp.record import EcgReadError

logger = logging.getLogger(__name__)

DEFAULT_MAX_SECONDS = 24 * 3600.0  # longest record read_ecg accepts by default (24 h Holter)
DEFAULT_MAX_BYTES = 1 << 30  # largest file read_ecg opens by default (1 GiB), also the largest array declared
DEFAULT_FS_RANGE = (50.0, 10_000.0)  # Hz: below, no QRS survives; above, no ECG device records
ANY_RATE = (0.0, float("inf"))  # format readers only need a positive rate; read_ecg checks the plausible range
MAX_GAP_SECONDS = 0.25  # non-finite runs up to this long are interpolated; longer ones mask their lead
FLAT_PEAK_TO_PEAK_MV = 1e-6  # a lead that varies less than this over the whole record carries no ECG


@dataclass
class RawEcg:
    """A signal as found in one file: channel names and units are still the file's own."""

    signal: np.ndarray  # (C, T) float, physical values in ``units``
    fs: float | None  # None when the file does not say
    names: tuple[str, ...]  # channel names as written in the file
    units: tuple[str | None, ...]  # per channel; None when the file does not say
    record_id: str
    label_codes: tuple[str, ...] = ()
    age: float | None = None
    sex: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # other header facts, e.g. the report
    diagnoses: tuple[str, ...] = ()  # diagnoses written out in the header (LUDB), used as labels


def check_file_size(paths: list[Path], max_bytes: int, source: Path) -> None:
    """Refuse files whose total size exceeds ``max_bytes`` before reading any of them."""
    total = sum(path.stat().st_size for path in paths if path.is_file())
    if total > max_bytes:
        raise EcgReadError(
            f"{source}: files total {total} bytes, expected at most max_bytes={max_bytes}; "
            "pass a larger max_bytes= to read_ecg if this file is really an ECG"
        )


def check_duration(n_samples: int, fs: float, max_seconds: float, source: Path) -> None:
    """Refuse records longer than ``max_seconds``."""
    seconds = n_samples / fs
    if seconds > max_seconds:
        raise EcgReadError(
            f"{source}: record lasts {seconds:.0f} s ({n_samples} samples at {fs:g} Hz), expected at most "
            f"max_seconds={max_seconds:g}; pass a larger max_seconds= to read_ecg, or split the record"
        )


def check_fs(fs: float | None, source: Path, fs_range: tuple[float, float] = DEFAULT_FS_RANGE) -> float:
    """A usable sampling rate within ``fs_range`` Hz, or an error that says how to give one."""
    if fs is None:
        raise EcgReadError(
            f"{source}: the file does not state a sampling rate, expected one; give the sampling rate in Hz "
            "(fs= in read_ecg, the sampling-rate box in the app)"
        )
    try:
        value = float(fs)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or value <= 0:
        raise EcgReadError(f"{source}: sampling rate {fs!r} Hz, expected a number > 0; give the true rate in Hz")
    low, high = fs_range
    if not low <= value <= high:
        raise EcgReadError(
            f"{source}: sampling rate {value:g} Hz, expected {low:g}-{high:g} Hz for an ECG; check the rate the "
            "file states (or the one given), or widen fs_range= in read_ecg for unusual devices"
        )
    return value


def check_signal(signal: np.ndarray, names: tuple[str, ...], source: Path) -> None:
    """Refuse empty signals and signals that hold no finite number at all."""
    if signal.ndim != 2 or signal.shape[0] == 0 or signal.shape[1] == 0:
        raise EcgReadError(
            f"{source}: signal has shape {signal.shape}, expected (leads, samples) with at least one sample; "
            "check that the file is complete"
        )
    if not np.isfinite(signal).any():
        raise EcgReadError(
            f"{source}: no sample of any lead is a finite number (all NaN or infinite), expected an ECG; "
            "check the export"
        )


def repair_non_finite(signal: np.ndarray, names: tuple[str, ...], fs: float, source: Path
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(signal without NaN/inf (C, T), present (C,) bool). Short non-finite runs are interpolated, a lead
    with a longer one is zeroed and marked absent; each repair is logged (the app shows it as a note)."""
    from melp.data.preprocess import fill_nan_gaps  # the one gap-filling rule, shared with preprocess

    present = np.ones(signal.shape[0], dtype=bool)
    bad = ~np.isfinite(signal)
    if not bad.any():
        return signal, present
    as_nan = np.where(bad, np.nan, signal)
    repaired, present, steps = fill_nan_gaps(as_nan, present, names, fs, MAX_GAP_SECONDS)
    for step in steps:
        logger.warning("%s: non-finite samples (NaN or infinite): %s", source, step)
    if not present.any():
        raise EcgReadError(
            f"{source}: every lead has a gap of non-finite samples longer than {MAX_GAP_SECONDS:g} s, expected "
            "an ECG with at most short gaps; check the export"
        )
    return repaired, present


def flat_leads(signal: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(C,) bool: present leads whose values never change (all zero, or a constant)."""
    if signal.shape[1] == 0:
        return np.zeros(signal.shape[0], dtype=bool)
    return present & (np.ptp(signal, axis=1) < FLAT_PEAK_TO_PEAK_MV)
