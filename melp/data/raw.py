"""What a format reader hands back before units and leads are made uniform, and the shared checks."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from melp.record import EcgReadError

DEFAULT_MAX_SECONDS = 24 * 3600.0  # longest record read_ecg accepts by default (24 h Holter)
DEFAULT_MAX_BYTES = 1 << 30  # largest file read_ecg opens by default (1 GiB)


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


def check_file_size(paths: list[Path], max_bytes: int, source: Path) -> None:
    """Refuse files whose total size exceeds ``max_bytes`` before reading any of them."""
    total = sum(path.stat().st_size for path in paths if path.exists())
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


def check_fs(fs: float | None, source: Path) -> float:
    """A usable sampling rate, or an error that says how to give one."""
    if fs is None:
        raise EcgReadError(
            f"{source}: the file does not state a sampling rate, expected one; pass fs= (Hz) to read_ecg"
        )
    if not np.isfinite(fs) or fs <= 0:
        raise EcgReadError(f"{source}: sampling rate {fs!r} Hz, expected a number > 0; pass the true rate as fs=")
    return float(fs)


def check_signal(signal: np.ndarray, names: tuple[str, ...], source: Path) -> None:
    """Refuse empty signals and leads that hold no number at all."""
    if signal.ndim != 2 or signal.shape[0] == 0 or signal.shape[1] == 0:
        raise EcgReadError(
            f"{source}: signal has shape {signal.shape}, expected (leads, samples) with at least one sample; "
            "check that the file is complete"
        )
    all_nan = np.isnan(signal).all(axis=1)  # (C,)
    if all_nan.any():
        bad = [names[i] for i in np.flatnonzero(all_nan)]
        raise EcgReadError(
            f"{source}: lead(s) {bad} contain only NaN, expected numbers; "
            "drop those columns: read_ecg zero-fills absent leads and marks them False in lead_mask"
        )
