"""Continuous atrial activity that replaces P waves: AF fibrillatory waves and flutter F waves."""
from __future__ import annotations

import numpy as np

from melp.synth.shapes import unit

AF_FREQUENCY_HZ = (5.0, 7.5)  # dominant atrial frequency of fibrillation, 300-450 /min
AF_COMPONENTS = 3
AF_AMPLITUDE_MV = (0.03, 0.09)
AF_DIRECTION = np.array([-0.3, 0.5, -0.8])  # best seen in V1 and the inferior leads
FLUTTER_DIRECTION = np.array([0.1, -1.0, -0.45])  # negative sawtooth in II, III, aVF; positive in V1
FLUTTER_AMPLITUDE_MV = (0.3, 0.5)  # peak to peak along the F-wave direction
FLUTTER_HARMONICS = 6
FLUTTER_DESCENT_FRACTION = 0.3  # fraction of the cycle spent in the fast deflection


def fibrillatory_waves(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """AF f-waves (3, T): a few frequency-wandering oscillations at 300-450 /min."""
    amplitude = float(rng.uniform(*AF_AMPLITUDE_MV))
    signal = np.zeros_like(t)  # (T,)
    for _ in range(AF_COMPONENTS):
        frequency = rng.uniform(*AF_FREQUENCY_HZ)
        wander_hz = rng.uniform(0.1, 0.4)
        phase = rng.uniform(0.0, 2 * np.pi, size=2)
        instantaneous = frequency * (1.0 + 0.08 * np.sin(2 * np.pi * wander_hz * t + phase[0]))
        envelope = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.2, 0.6) * t + rng.uniform(0, 2 * np.pi))
        signal += envelope * np.sin(2 * np.pi * np.cumsum(instantaneous) * (t[1] - t[0]) + phase[1])
    signal *= amplitude / AF_COMPONENTS * 1.6
    direction = unit(AF_DIRECTION + rng.normal(0.0, 0.2, size=3))
    return direction[:, None] * signal[None, :]


def flutter_waves(t: np.ndarray, rate_per_min: float, phase: float, rng: np.random.Generator) -> np.ndarray:
    """Flutter F waves (3, T): band-limited asymmetric sawtooth at ``rate_per_min``.

    ``phase`` (fraction of a cycle) matches the F-wave times the rhythm process conducted.
    """
    frequency = rate_per_min / 60.0
    cycle_phase = (t * frequency + phase) % 1.0  # (T,) in [0, 1)
    # slow rise for most of the cycle, fast descent: the classic negative sawtooth in II
    rise = cycle_phase / (1.0 - FLUTTER_DESCENT_FRACTION)
    fall = (1.0 - cycle_phase) / FLUTTER_DESCENT_FRACTION
    sawtooth = np.where(cycle_phase < 1.0 - FLUTTER_DESCENT_FRACTION, rise, fall) - 0.5
    smooth = _lowpass_harmonics(sawtooth, frequency, t)
    amplitude = float(rng.uniform(*FLUTTER_AMPLITUDE_MV))
    return unit(FLUTTER_DIRECTION)[:, None] * (amplitude * smooth)[None, :]


def _lowpass_harmonics(periodic: np.ndarray, frequency: float, t: np.ndarray) -> np.ndarray:
    """Keep the first harmonics of a periodic signal (removes the sawtooth's corners)."""
    fs = 1.0 / (t[1] - t[0])
    spectrum = np.fft.rfft(periodic)
    freqs = np.fft.rfftfreq(len(periodic), 1.0 / fs)
    spectrum[freqs > (FLUTTER_HARMONICS + 0.5) * frequency] = 0.0
    return np.fft.irfft(spectrum, n=len(periodic))
