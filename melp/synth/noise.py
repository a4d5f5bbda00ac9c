"""Recording noise generated on the 9 electrodes and mapped to the 12 leads.

Noise lives on electrodes (RA, LA, LL, V1..V6), so derived leads stay consistent (I + III = II
holds for noise too). Components: baseline wander, mains hum, EMG, electrode-motion bursts and
occasional loss of one chest electrode. ``level`` scales everything; 0 gives a clean signal.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal as sps

from melp.synth.leadfield import ELECTRODE_TO_LEADS, N_ELECTRODES

WANDER_HZ = (0.05, 0.5)
WANDER_MV = 0.12
WANDER_COMPONENTS = 3
MAINS_MV = 0.012
MAINS_HZ = (50.0, 60.0)
EMG_MV = 0.012
EMG_BAND_HZ = (20.0, 150.0)
MOTION_PROBABILITY = 0.12
MOTION_MV = 0.5
MOTION_DURATION_S = (0.2, 0.8)
LEAD_LOSS_PROBABILITY = 0.01
LEAD_LOSS_RESIDUAL_MV = 0.005
DEFAULT_LEVEL_LOG_SD = 0.5  # "default" noise: level drawn log-normally around 1
CHEST_LEAD_ROWS = (6, 12)  # V1..V6 rows in STANDARD_LEADS


@lru_cache(maxsize=16)
def _emg_filter(fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Band-pass (b, a) for EMG at this sampling rate (upper edge capped below Nyquist; a
    high-pass alone when the rate is too low for the band)."""
    high = min(EMG_BAND_HZ[1], 0.45 * fs)
    if high <= EMG_BAND_HZ[0] * 1.1:
        return sps.butter(2, 0.2 * fs, btype="highpass", fs=fs)
    return sps.butter(2, [EMG_BAND_HZ[0], high], btype="bandpass", fs=fs)


def draw_level(noise: str | float, rng: np.random.Generator) -> float:
    """Resolve the ``noise`` argument ("default", "none" or a float level) to a level >= 0."""
    if isinstance(noise, str):
        if noise == "none":
            return 0.0
        if noise == "default":
            return float(np.exp(rng.normal(0.0, DEFAULT_LEVEL_LOG_SD)))
        raise ValueError(f"noise={noise!r}; expected 'default', 'none' or a float level >= 0")
    level = float(noise)
    if not np.isfinite(level) or level < 0:
        raise ValueError(f"noise={noise!r}; expected a finite float level >= 0 (1.0 is typical)")
    return level


def electrode_noise(level: float, t: np.ndarray, fs: float, rng: np.random.Generator) -> np.ndarray:
    """Noise on the 9 electrodes (9, T) in mV."""
    n = len(t)
    wander_f = rng.uniform(*WANDER_HZ, size=(N_ELECTRODES, WANDER_COMPONENTS, 1))
    wander_phase = rng.uniform(0.0, 2 * np.pi, size=(N_ELECTRODES, WANDER_COMPONENTS, 1))
    wander_amp = rng.uniform(0.2, 1.0, size=(N_ELECTRODES, WANDER_COMPONENTS, 1)) * WANDER_MV / WANDER_COMPONENTS
    noise = (wander_amp * np.sin(2 * np.pi * wander_f * t + wander_phase)).sum(axis=1)  # (9, T)
    mains_hz = MAINS_HZ[int(rng.integers(0, 2))]
    if mains_hz < fs / 2:
        mains_amp = rng.uniform(0.0, MAINS_MV, size=(N_ELECTRODES, 1))
        noise += mains_amp * np.sin(2 * np.pi * mains_hz * t + rng.uniform(0, 2 * np.pi))
    b, a = _emg_filter(fs)
    emg_scale = rng.uniform(0.2, 1.0, size=(N_ELECTRODES, 1)) * EMG_MV
    noise += emg_scale * sps.lfilter(b, a, rng.standard_normal((N_ELECTRODES, n)), axis=1)
    if rng.random() < MOTION_PROBABILITY * level:
        noise += _motion_burst(t, rng)
    return noise * level


def _motion_burst(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One electrode-motion artefact (9, T): a large slow swing on one or two electrodes."""
    burst = np.zeros((N_ELECTRODES, len(t)))
    centre = rng.uniform(t[0], t[-1])
    width = rng.uniform(*MOTION_DURATION_S) / 4.0
    swing = np.exp(-0.5 * ((t - centre) / width) ** 2) * np.sin(2 * np.pi * rng.uniform(1.0, 3.0) * (t - centre))
    electrodes = rng.choice(N_ELECTRODES, size=int(rng.integers(1, 3)), replace=False)
    burst[electrodes] = swing * MOTION_MV * rng.uniform(0.5, 1.0)
    return burst


def add_noise(leads: np.ndarray, level: float, fs: float, rng: np.random.Generator) -> np.ndarray:
    """Add electrode noise to clean leads (12, T); rarely flatten one chest lead (electrode off)."""
    if level == 0.0:
        return leads
    t = np.arange(leads.shape[1]) / fs
    noisy = leads + ELECTRODE_TO_LEADS @ electrode_noise(level, t, fs, rng)
    if rng.random() < LEAD_LOSS_PROBABILITY * level:
        lost_row = int(rng.integers(*CHEST_LEAD_ROWS))
        noisy[lost_row] = rng.normal(0.0, LEAD_LOSS_RESIDUAL_MV, size=leads.shape[1])
    return noisy
