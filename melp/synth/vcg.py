"""Cardiac vector lobes: the building block of every wave, and their vectorised rendering.

A lobe is a 3-D vector times a (possibly asymmetric, possibly flat-topped) bell in time:
``vector * exp(-0.5 * |(t - centre) / sigma|^power)`` with ``sigma`` left and right of the centre.
P, Q, R, S, T and U waves, delta waves, ST plateaus and pacing spikes are all lobes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GAUSS_POWER = 2.0
PLATEAU_POWER = 4.0
# Half-width of the evaluation window in units of sigma; beyond it a lobe is below ADC resolution.
WINDOW_SIGMAS = 4.5
SQRT_2PI = float(np.sqrt(2.0 * np.pi))


@dataclass(frozen=True)
class Lobes:
    """A set of L lobes placed relative to a beat onset (struct of arrays).

    ``centre = onset + offset + qt_coeff * qt`` so repolarisation lobes follow each beat's QT.
    """

    offset: np.ndarray  # (L,) s from the beat onset (QRS onset, or P onset for atrial lobes)
    qt_coeff: np.ndarray  # (L,) multiples of the beat's QT added to the offset
    sigma_left: np.ndarray  # (L,) s
    sigma_right: np.ndarray  # (L,) s
    power: np.ndarray  # (L,) 2 = Gaussian, 4 = flat-topped plateau
    vectors: np.ndarray  # (L, 3) mV, Frank X/Y/Z
    is_qrs: np.ndarray  # (L,) bool, True for depolarisation lobes (used for the QRS axis)

    @property
    def n(self) -> int:
        return int(self.offset.shape[0])

    def with_vectors(self, vectors: np.ndarray) -> "Lobes":
        return Lobes(self.offset, self.qt_coeff, self.sigma_left, self.sigma_right, self.power,
                     np.asarray(vectors, dtype=np.float64).reshape(-1, 3), self.is_qrs)


def make_lobes(rows: list[tuple[float, float, float, float, float, np.ndarray, bool]]) -> Lobes:
    """Build lobes from rows ``(offset, qt_coeff, sigma_left, sigma_right, power, vector, is_qrs)``."""
    if not rows:
        return concat([])
    columns = list(zip(*rows))
    return Lobes(
        offset=np.asarray(columns[0], dtype=np.float64),
        qt_coeff=np.asarray(columns[1], dtype=np.float64),
        sigma_left=np.asarray(columns[2], dtype=np.float64),
        sigma_right=np.asarray(columns[3], dtype=np.float64),
        power=np.asarray(columns[4], dtype=np.float64),
        vectors=np.asarray(columns[5], dtype=np.float64).reshape(-1, 3),
        is_qrs=np.asarray(columns[6], dtype=bool),
    )


def concat(parts: list[Lobes]) -> Lobes:
    """Concatenate lobe sets (an empty list gives zero lobes)."""
    if not parts:
        empty = np.zeros(0)
        return Lobes(empty, empty, empty, empty, empty, np.zeros((0, 3)), np.zeros(0, bool))
    return Lobes(*(np.concatenate([getattr(p, name) for p in parts]) for name in
                   ("offset", "qt_coeff", "sigma_left", "sigma_right", "power", "vectors", "is_qrs")))


def net_qrs_area(lobes: Lobes) -> np.ndarray:
    """Net vector area (3,) of the depolarisation lobes, in mV*s (Gaussian lobes integrate exactly)."""
    qrs = lobes.is_qrs
    widths = (lobes.sigma_left[qrs] + lobes.sigma_right[qrs]) * SQRT_2PI / 2.0  # (Lq,)
    return (lobes.vectors[qrs] * widths[:, None]).sum(axis=0)


def render(centres: np.ndarray, lobes: Lobes, fs: float, n_samples: int) -> np.ndarray:
    """Sum lobes (placed at absolute ``centres`` in seconds, (L,)) into a vector signal (3, T).

    Each lobe is evaluated only on its own window of samples, all lobes at once by broadcasting,
    then scattered into the output with ``np.bincount``.
    """
    out = np.zeros((3, n_samples))
    if lobes.n == 0:
        return out
    half = int(np.ceil(WINDOW_SIGMAS * max(lobes.sigma_left.max(), lobes.sigma_right.max()) * fs)) + 1
    starts = np.round(centres * fs).astype(np.int64) - half  # (L,)
    sample_idx = starts[:, None] + np.arange(2 * half + 1)[None, :]  # (L, W)
    dt = sample_idx / fs - centres[:, None]  # (L, W) s
    sigma = np.where(dt < 0, lobes.sigma_left[:, None], lobes.sigma_right[:, None])  # (L, W)
    scaled = np.abs(dt / sigma)
    bell = np.where(lobes.power[:, None] == GAUSS_POWER, scaled * scaled, scaled ** lobes.power[:, None])
    bell = np.exp(-0.5 * bell)  # (L, W)
    inside = (sample_idx >= 0) & (sample_idx < n_samples)
    flat_idx = sample_idx[inside]
    for axis in range(3):
        weights = (bell * lobes.vectors[:, axis][:, None])[inside]
        out[axis] = np.bincount(flat_idx, weights=weights, minlength=n_samples)
    return out
