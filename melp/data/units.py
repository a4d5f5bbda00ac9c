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
# With units or gains the file states: the typical amplitude (median over leads of the 99th percentile of
# |x - median|, robust to spikes) of real 12-lead ECGs is about 0.8 mV, at most 2.4 mV over 1,000 PTB-XL
# records and 4.7 mV over the 120 CinC samples (one PTB record); CinC 2020 PTB-XL headers state a gain
# that makes amplitudes 5x too large (about 4 mV)
PLAUSIBLE_AMPLITUDE_MV = (0.05, 3.5)
TYPICAL_AMPLITUDE_MV = 0.8
AMPLITUDE_PERCENTILE = 99.0
LIKELY_FACTORS = (5.0, 10.0, 1000.0)  # gain 200 for 1000, a factor of ten, micro- for millivolts
NORMALISED_TOLERANCE = 0.02  # every lead's std (or peak-to-peak) within 2 % of the others': normalised


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


def _warn(message: str) -> None:
    logger.warning(message)
    warnings.warn(message, EcgReadWarning, stacklevel=4)


def warn_if_implausible(signal_mv: np.ndarray, stated_units: str, source: Path) -> None:
    """Warn when amplitudes are far too large for millivolts (typically microvolts read as mV)."""
    peak = median_peak_mv(signal_mv)
    if peak > IMPLAUSIBLE_PEAK_MV:
        _warn(f"{source}: median lead peak is {peak:.0f} mV after reading as {stated_units!r}, expected a few mV; "
              "the data are probably microvolts: read them as microvolts (units='uV', or uV in the app)")


def typical_amplitude_mv(signal_mv: np.ndarray) -> float:
    """Median over leads of each lead's 99th percentile of |deviation from its median|, in mV."""
    centred = np.abs(signal_mv - np.median(signal_mv, axis=1, keepdims=True))  # (C, T)
    return float(np.median(np.percentile(centred, AMPLITUDE_PERCENTILE, axis=1)))


def warn_if_gain_contradicts(signal_mv: np.ndarray, source: Path) -> None:
    """Warn when the file's own gains or units give amplitudes no ECG has, with the measured amplitude and
    the likely error (the signal is left as the file says)."""
    if signal_mv.size == 0:
        return
    amplitude = typical_amplitude_mv(signal_mv)
    low, high = PLAUSIBLE_AMPLITUDE_MV
    if low <= amplitude <= high or not np.isfinite(amplitude):
        return
    ratio = amplitude / TYPICAL_AMPLITUDE_MV if amplitude > high else TYPICAL_AMPLITUDE_MV / max(amplitude, 1e-12)
    factor = min(LIKELY_FACTORS, key=lambda f: abs(np.log(ratio / f)))
    direction = "too large" if amplitude > high else "too small"
    _warn(f"{source}: typical lead amplitude is {amplitude:.2f} mV with the gains and units the header states, "
          f"expected about {TYPICAL_AMPLITUDE_MV:g} mV (real ECGs: {low:g}-{high:g} mV); the amplitudes look about "
          f"{factor:g}x {direction}: check the header's gain (e.g. 200/mV where 1000/mV is meant) or units before "
          "trusting findings read from voltage")


def warn_if_normalised(signal_mv: np.ndarray, source: Path) -> None:
    """Warn when every lead was scaled on its own (unit variance, or the same peak-to-peak): the model
    reads voltage, so amplitude findings (hypertrophy, low voltage) from such input cannot be trusted."""
    if signal_mv.shape[0] < 2 or signal_mv.shape[1] < 2:
        return
    stds, spans = signal_mv.std(axis=1), np.ptp(signal_mv, axis=1)
    for name, values in (("standard deviation", stds), ("peak-to-peak range", spans)):
        if values.min() > 0 and (values.max() - values.min()) / values.mean() < NORMALISED_TOLERANCE:
            _warn(f"{source}: every lead has the same {name} ({values.mean():.3g}), expected leads of different "
                  "amplitudes; the data look normalised per lead (e.g. z-scored), but the model reads millivolts, "
                  "so findings read from voltage (hypertrophy, low voltage) cannot be trusted: use the raw signal")
            return
