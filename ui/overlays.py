"""Explanation arrays -> what is drawn over the trace: shading, heat strips, heartbeat numbers."""
from __future__ import annotations

import numpy as np

from ui.ecg_plot import HeatStrip, Shading

MAX_OVERLAY_POINTS = 500  # attention is averaged down to at most this many bins before plotting
QUERY_RGB = (30, 100, 220)  # attention of one learned slot: blue
HIGHLIGHT_RGB = (20, 160, 60)  # selected sentence or prompt: green


def _bin_mean(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Average consecutive samples into n_bins bins; (N,) -> (n_bins,)."""
    edges = np.linspace(0, values.size, n_bins + 1).round().astype(int)
    return np.add.reduceat(values, edges[:-1]) / np.maximum(np.diff(edges), 1)


def attention_times(n_steps: int, window_seconds: float) -> np.ndarray:
    """Centre time (s) of each of n_steps equal attention steps covering the model window; (n_steps,)."""
    return (np.arange(n_steps) + 0.5) * (window_seconds / n_steps)


def _to_overlay(weights: np.ndarray, window_seconds: float, start: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Downsample weights over the window and scale to [0, 1]; returns (times into the record, weights)."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.size > MAX_OVERLAY_POINTS:
        weights = _bin_mean(weights, MAX_OVERLAY_POINTS)
    peak = weights.max() if weights.size else 0.0
    scaled = weights / peak if peak > 0 else np.zeros_like(weights)
    return start + attention_times(weights.size, window_seconds), scaled


def query_shading(beat_attention: np.ndarray, query: int, window_seconds: float, start: float = 0.0) -> Shading:
    """Where one of the model's learned attention slots looked (beat_attention: (Q, T)), as blue shading."""
    n_queries = beat_attention.shape[0]
    if not 0 <= query < n_queries:
        raise ValueError(f"attention slot {query + 1} does not exist; the model has slots 1..{n_queries}")
    times, weights = _to_overlay(beat_attention[query], window_seconds, start)
    return Shading(times=times, weights=weights, rgb=QUERY_RGB, label=f"attention slot {query + 1}")


def caption_strip(caption_attention: np.ndarray, window_seconds: float, start: float = 0.0) -> HeatStrip:
    """Caption-pooler attention over time (T,) as a heat strip."""
    times, weights = _to_overlay(caption_attention, window_seconds, start)
    return HeatStrip(times=times, weights=weights, label="caption attention")


def strip_numbers(heartbeats: np.ndarray, r_peaks: np.ndarray, fs: float, tolerance_s: float = 0.1) -> list[str]:
    """The rhythm-strip number of each scored heartbeat (matching R peaks within ``tolerance_s``), else "?"."""
    numbers = []
    for sample in np.asarray(heartbeats, dtype=np.int64):
        if r_peaks.size:
            nearest = int(np.argmin(np.abs(r_peaks - sample)))
            if abs(int(r_peaks[nearest]) - int(sample)) <= tolerance_s * fs:
                numbers.append(str(nearest + 1))
                continue
        numbers.append("?")
    return numbers


def heartbeat_bounds(heartbeats: np.ndarray, fs: float, window: tuple[float, float]) -> np.ndarray:
    """(K, 2) start/end seconds of each heartbeat: halfway to the neighbouring R peaks, inside ``window``."""
    peak_times = np.asarray(heartbeats, dtype=np.float64) / fs
    if peak_times.size == 0:
        return np.zeros((0, 2))
    bounds = np.concatenate([[window[0]], (peak_times[1:] + peak_times[:-1]) / 2, [window[1]]])
    return np.stack([bounds[:-1], bounds[1:]], axis=1)


def heartbeat_shading(highlight_heartbeats: np.ndarray, similarity: np.ndarray, fs: float,
                      window: tuple[float, float], label: str) -> Shading:
    """A sentence's or prompt's heartbeats as green shading: each heartbeat's band as strong as its
    similarity, scaled from the record's least (clear) to its most similar heartbeat (strongest)."""
    values = np.asarray(similarity, dtype=np.float64)
    spread = values.max() - values.min() if values.size else 0.0
    scaled = (values - values.min()) / spread if spread > 0 else np.full(values.shape, 0.5)
    bounds = heartbeat_bounds(highlight_heartbeats, fs, window)
    times = np.linspace(window[0], window[1], MAX_OVERLAY_POINTS, endpoint=False)
    weights = np.zeros_like(times)
    for (start, end), weight in zip(bounds, scaled):
        weights[(times >= start) & (times < end)] = weight
    return Shading(times=times, weights=weights, rgb=HIGHLIGHT_RGB, label=label)
