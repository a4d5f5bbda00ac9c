"""Amplitude units: everything becomes millivolts, and implausible amplitudes are flagged."""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from melp.record import EcgReadError, EcgReadWarning

logger = logging.getLogger(__name__)

# factor that turns one unit into millivolts; keys are lower-case spellings
MV_PER_UNIT: dict[str, float] = {
    "mv": 1.0,
    "uv": 1e-3,
    "µv": 1e-3,
    "μv": 1e-3,
    "microvolt": 1e-3,
    "nv": 1e-6,
    "v": 1e3,
    "millivolt": 1.0,
}
DEFAULT_UNITS = "mV"  # what CSV and NumPy arrays are assumed to hold unless units= says otherwise
# Median over leads of the peak |amplitude| above which "millivolts" are probably microvolts:
# a real ECG peaks at a few mV, microvolt data at hundreds to thousands.
IMPLAUSIBLE_PEAK_MV = 20.0


def mv_scale(unit: str | None, source: Path) -> float:
    """Factor from ``unit`` to millivolts; None (the file does not say) is taken as millivolts."""
    if unit is None or unit.strip() == "":
        return 1.0
    key = unit.strip().lower()
    if key not in MV_PER_UNIT:
        raise EcgReadError(
            f"{source}: amplitude unit {unit!r}, expected one of uV, mV, V; pass units='mV' (or 'uV') to read_ecg"
        )
    return MV_PER_UNIT[key]


def to_millivolts(signal: np.ndarray, units: tuple[str | None, ...], source: Path) -> np.ndarray:
    """Scale each row of ``signal`` (C, T) from its unit to mV; returns a new float32 array."""
    scales = np.array([mv_scale(unit, source) for unit in units], dtype=np.float64)  # (C,)
    if np.all(scales == 1.0):
        return np.asarray(signal, dtype=np.float32)
    return (signal * scales[:, None]).astype(np.float32)


def median_peak_mv(signal_mv: np.ndarray) -> float:
    """Median over leads of each lead's peak |deviation from its median|, in mV."""
    centred = signal_mv - np.nanmedian(signal_mv, axis=1, keepdims=True)  # (C, T)
    peaks = np.nanmax(np.abs(centred), axis=1)  # (C,)
    return float(np.nanmedian(peaks))


def warn_if_implausible(signal_mv: np.ndarray, stated_units: str, source: Path) -> None:
    """Warn when amplitudes are far too large for millivolts (typically microvolts read as mV)."""
    peak = median_peak_mv(signal_mv)
    if peak > IMPLAUSIBLE_PEAK_MV:
        message = (
            f"{source}: median lead peak is {peak:.0f} mV after reading as {stated_units!r}, expected a few mV; "
            "the data are probably microvolts: pass units='uV' to read_ecg"
        )
        logger.warning(message)
        warnings.warn(message, EcgReadWarning, stacklevel=3)
